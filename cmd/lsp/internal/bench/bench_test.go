package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/internal/load"
	"github.com/nib-editor/nib/model"
)

// benchChildrenFromTestBinary makes bench's cold-start children run
// TestBenchHelperProcess in this test binary, which is not nib.
func benchChildrenFromTestBinary(t *testing.T) {
	old := benchChildCommand
	t.Cleanup(func() { benchChildCommand = old })
	benchChildCommand = func(ctx context.Context, args []string) (*exec.Cmd, error) {
		cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"-test.run=^TestBenchHelperProcess$", "--"}, args...)...)
		cmd.Env = append(os.Environ(), "NIB_BENCH_HELPER_PROCESS=1")
		return cmd, nil
	}
}

// TestBenchHelperProcess is not a test: it is the cold-start child that
// benchChildrenFromTestBinary starts, running `nib bench` with the
// arguments after "--" (the idiom of os/exec's own tests).
func TestBenchHelperProcess(t *testing.T) {
	if os.Getenv("NIB_BENCH_HELPER_PROCESS") != "1" {
		return
	}
	i := slices.Index(os.Args, "--")
	err := Run(context.Background(), os.Args[i+1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nib:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runBench runs `nib bench args...` and decodes its stdout, which must be
// exactly one JSON object.
func runBench(t *testing.T, args ...string) map[string]any {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := Run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("bench: %v\nstderr:\n%s", err, errOut.String())
	}
	dec := json.NewDecoder(&out)
	var rep map[string]any
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\n%s", err, out.String())
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("stdout holds more than one JSON object:\n%s", out.String())
	}
	t.Logf("stderr:\n%s", errOut.String())
	return rep
}

// positive returns rep[key] and fails unless it is a positive number.
func positive(t *testing.T, rep map[string]any, key string) float64 {
	t.Helper()
	v, ok := rep[key].(float64)
	if !ok || !(v > 0) {
		t.Errorf("%s = %#v, want a positive number", key, rep[key])
	}
	return v
}

// tinyConfig writes a small config.json under a name of its own (a
// relu, tied T5 with more encoder than decoder layers) and returns its path
// and the number of parameters it implies.
func tinyConfig(t *testing.T) (string, int) {
	path := filepath.Join(t.TempDir(), "tiny-relu.json")
	cfg := `{"vocab_size": 500, "d_model": 48, "d_kv": 12, "d_ff": 80, "num_layers": 3, "num_decoder_layers": 2,
		"num_heads": 4, "feed_forward_proj": "relu", "tie_word_embeddings": true, "decoder_start_token_id": 0}`
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	params := 500*48 + 2*32*4 + // shared (tied), relative biases
		3*(2*48+4*48*48+2*48*80) + 48 + // encoder layers and final norm
		2*(3*48+8*48*48+2*48*80) + 48 // decoder layers and final norm
	return path, params
}

// TestBench runs every measurement, cold starts included, on a random
// model of a tiny config with small sizes, and checks that the report has
// every field, with positive numbers that agree with one another.
func TestBench(t *testing.T) {
	benchChildrenFromTestBinary(t)
	path, params := tinyConfig(t)
	args := []string{"--config", path, "--random-weights", "--seed", "9", "--prompt-tokens", "8", "--new-tokens", "5",
		"--encoder-tokens", "16", "--batch", "3", "--beam", "2", "--beam-requests", "2", "--runs", "3",
		// lavapipe sometimes crashes filling an empty shader cache: the
		// children use the one every other test has filled.
		"--shader-cache", "inherit"}
	rep := runBench(t, args...)

	for _, key := range []string{"decode_tok_s", "ttft_ms", "encoder_tok_s", "batch_decode_tok_s", "beam_decode_tok_s",
		"gpu_weight_bytes", "gpu_resident_bytes", "gpu_resident_max_bytes", "kv_cache_bytes", "load_ms", "warm_ms",
		"cold_start_ms", "cold_start_warm_cache_ms"} {
		positive(t, rep, key)
	}
	if got := fmt.Sprint(rep["command"]); got != fmt.Sprint(append([]any{"nib", "bench"}, toAny(args)...)) {
		t.Errorf("command = %s", got)
	}
	for _, key := range []string{"date", "go_version", "model", "weights_dtype"} {
		if s, _ := rep[key].(string); s == "" {
			t.Errorf("%s = %#v, want a string", key, rep[key])
		}
	}
	if rep["finite"] != true {
		t.Errorf("finite = %v: the random model computed NaN or infinite log-probabilities", rep["finite"])
	}
	if rep["model"] != "random" || rep["random_weights"] != true || rep["seed"] != 9.0 {
		t.Errorf("model %v, random_weights %v, seed %v", rep["model"], rep["random_weights"], rep["seed"])
	}
	c, _ := rep["config"].(map[string]any)
	if c["name"] != "tiny-relu" || c["path"] != path || c["vocab_size"] != 500.0 || c["tie_word_embeddings"] != true {
		t.Errorf("config = %v", c)
	}
	adapter, _ := rep["adapter"].(map[string]any)
	if s, _ := adapter["name"].(string); s == "" || adapter["backend"] == "" || adapter["shader_f16"] == nil {
		t.Errorf("adapter = %v", adapter)
	}
	// --f16 defaults to the adapter's shader-f16.
	if want := map[bool]string{true: "f16", false: "f32"}[adapter["shader_f16"] == true]; rep["weights_dtype"] != want {
		t.Errorf("weights_dtype = %v on an adapter with shader_f16 %v", rep["weights_dtype"], adapter["shader_f16"])
	}

	// Memory: everything resident includes the weights and the KV cache.
	weights, resident, kv := positive(t, rep, "gpu_weight_bytes"), positive(t, rep, "gpu_resident_bytes"), positive(t, rep, "kv_cache_bytes")
	if resident < weights+kv || positive(t, rep, "gpu_resident_max_bytes") < resident {
		t.Errorf("resident %v, max %v: want at least weights %v + KV cache %v", resident, rep["gpu_resident_max_bytes"], weights, kv)
	}

	// Each median is that of three samples.
	samples, _ := rep["samples"].(map[string]any)
	for name, field := range map[string]string{"decode": "decode_tok_s", "ttft": "ttft_ms", "encoder": "encoder_tok_s",
		"batch": "batch_decode_tok_s", "beam": "beam_decode_tok_s"} {
		s, _ := samples[name].([]any)
		if len(s) != 3 {
			t.Errorf("samples[%s] = %v, want 3 values", name, samples[name])
			continue
		}
		vals := []float64{s[0].(float64), s[1].(float64), s[2].(float64)}
		slices.Sort(vals)
		if rep[field] != vals[1] {
			t.Errorf("%s = %v, not the median of %v", field, rep[field], vals)
		}
	}

	// Cold starts: the children loaded the random weights from a
	// checkpoint of 4 bytes per parameter; both report, and each whole
	// start is longer than the parts a child measured itself.
	if rep["cold_start_checkpoint_bytes"] != float64(4*params) {
		t.Errorf("cold_start_checkpoint_bytes = %v, want %d for %d parameters", rep["cold_start_checkpoint_bytes"], 4*params, params)
	}
	detail, _ := rep["cold_start_detail"].([]any)
	if len(detail) != 2 {
		t.Fatalf("cold_start_detail = %v, want two children", rep["cold_start_detail"])
	}
	for i, key := range []string{"cold_start_ms", "cold_start_warm_cache_ms"} {
		d, _ := detail[i].(map[string]any)
		sum := 0.0
		for _, part := range []string{"open_ms", "load_ms", "warm_ms", "first_token_ms"} {
			sum += positive(t, d, part)
		}
		if total := positive(t, rep, key); total < sum {
			t.Errorf("%s = %v, less than its child's parts %v (%v)", key, total, sum, d)
		}
	}
	if rep["shader_cache"] != "inherit" || rep["shader_cache_bytes"] != nil {
		t.Errorf("shader_cache = %v, shader_cache_bytes = %v", rep["shader_cache"], rep["shader_cache_bytes"])
	}
}

// TestBenchFreshShaderCache: the environment of a fresh cache points the
// drivers at empty folders that exist (NVIDIA's writes into no other).
func TestBenchFreshShaderCache(t *testing.T) {
	dir := t.TempDir()
	env, err := freshShaderCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	for _, k := range []string{"MESA_SHADER_CACHE_DIR", "__GL_SHADER_DISK_CACHE_PATH"} {
		entries, err := os.ReadDir(vars[k])
		if err != nil || len(entries) != 0 || !strings.HasPrefix(vars[k], dir) {
			t.Errorf("%s=%q: %v, %d entries; want an empty folder under %s", k, vars[k], err, len(entries), dir)
		}
	}
	if vars["__GL_SHADER_DISK_CACHE"] != "1" {
		t.Errorf("environment %v does not enable NVIDIA's disk cache", env)
	}
	if _, err := freshShaderCache(dir); err == nil {
		t.Error("a second fresh cache in the same folder was accepted")
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// TestBenchModel measures a checkpoint folder with f32 weights forced and
// two measurements picked: the others are absent from the report, and the
// weight bytes are those of the model Load makes.
func TestBenchModel(t *testing.T) {
	dir := filepath.Join(fixtures, "t5-tiny-gated")
	rep := runBench(t, "--model", dir, "--f16=false", "--only", "ttft,decode",
		"--prompt-tokens", "5", "--new-tokens", "3", "--runs", "1")
	positive(t, rep, "decode_tok_s")
	positive(t, rep, "ttft_ms")
	positive(t, rep, "kv_cache_bytes")
	positive(t, rep, "load_ms")
	positive(t, rep, "warm_ms")
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep["model"] != dir || rep["model_dir"] != abs || rep["random_weights"] != false || rep["weights_dtype"] != "f32" {
		t.Errorf("model %v, model_dir %v, random_weights %v, weights_dtype %v", rep["model"], rep["model_dir"], rep["random_weights"], rep["weights_dtype"])
	}
	c, _ := rep["config"].(map[string]any)
	if c["name"] != "t5-tiny-gated" || c["d_model"] != 32.0 || c["feed_forward_proj"] != "gated-gelu" {
		t.Errorf("config = %v", c)
	}

	dev, err := gpu.Open(gpu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	ck, err := model.OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	m, err := model.Load(dev, ck, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if rep["gpu_weight_bytes"] != float64(m.WeightBytes()) {
		t.Errorf("gpu_weight_bytes = %v, the f32 model holds %d", rep["gpu_weight_bytes"], m.WeightBytes())
	}

	for _, key := range []string{"encoder_tok_s", "batch_decode_tok_s", "beam_decode_tok_s", "cold_start_ms", "cold_start_warm_cache_ms", "cold_start_detail"} {
		if v, ok := rep[key]; ok {
			t.Errorf("%s = %v, though not asked for", key, v)
		}
	}
	samples, _ := rep["samples"].(map[string]any)
	if len(samples) != 2 || samples["decode"] == nil || samples["ttft"] == nil {
		t.Errorf("samples = %v, want decode and ttft", samples)
	}
}

func TestBenchFlagErrors(t *testing.T) {
	tiny := filepath.Join(fixtures, "t5-tiny-gated")
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "give --model"},
		{[]string{"--model", tiny, "--config", "x.json"}, "not both"},
		{[]string{"--config", filepath.Join(tiny, "config.json")}, "--random-weights"},
		{[]string{"--model", tiny, "--new-tokens", "1"}, "at least 2"},
		{[]string{"--model", tiny, "--runs", "0"}, "must be positive"},
		{[]string{"--model", tiny, "--only", "decode,speed"}, `"speed"`},
		{[]string{"--model", tiny, "--shader-cache", "keep"}, "fresh or inherit"},
		{[]string{"--model", tiny, "extra"}, `"extra"`},
		{[]string{"--model", tiny, "--beam", "33"}, "widest beam search is 32"},
	} {
		var out, errOut bytes.Buffer
		err := Run(context.Background(), c.args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("bench %v: error %v, want one saying %s", c.args, err, c.want)
		}
		if out.Len() != 0 {
			t.Errorf("bench %v wrote to stdout: %s", c.args, out.String())
		}
	}
}

// TestBenchHugeBatch runs `nib bench --only batch` with 30000 rows of
// one-token prompts in a child process: the encoder's submission runs for
// seconds on lavapipe, which used to kill the process with SIGSEGV (exit
// 139; see gpu.waitFor), and the decoder over so many rows needs more
// memory than the adapter binds. The child must exit 1 with that error.
func TestBenchHugeBatch(t *testing.T) {
	tiny, err := filepath.Abs(filepath.Join(fixtures, "t5-tiny-gated"))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--model", tiny, "--only", "batch", "--batch", "30000", "--prompt-tokens", "1", "--runs", "1"}
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestBenchHelperProcess$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "NIB_BENCH_HELPER_PROCESS=1")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("bench %v: %v (%s), want exit status 1\nstderr:\n%s", args, err, cmd.ProcessState, errOut.String())
	}
	for _, w := range []string{"nib: bench: batch:", "the adapter binds at most"} {
		if !strings.Contains(errOut.String(), w) {
			t.Errorf("stderr does not say %q:\n%s", w, errOut.String())
		}
	}
	if out.Len() != 0 {
		t.Errorf("a failed bench wrote to stdout: %s", out.String())
	}
}

// TestBeamSearchRows runs bench's beam measurement, completion's beam
// search, on the tiny model: every step after the first must decode
// requests*width rows (no beam ends early, none is dropped), which is what
// beam_decode_tok_s counts, and every log-probability must be finite.
func TestBeamSearchRows(t *testing.T) {
	dev, err := gpu.Open(gpu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	ck, _, err := load.OpenFolder(filepath.Join(fixtures, "t5-tiny-gated"))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	m, err := load.Resident(dev, ck, model.Options{}, func(string, int) {})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	f := &benchFlags{Beam: 3, NewTokens: 5}
	rep := &benchReport{Finite: true}
	b := &bencher{f: f, dev: dev, m: m, rep: rep, rng: rand.New(rand.NewPCG(1, 2))}
	took, rows, err := b.beamSearch(context.Background(), b.prompts(2, 6))
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * 3 * (5 - 1); rows != want {
		t.Errorf("beam search decoded %d rows after its first step, want %d", rows, want)
	}
	if took <= 0 || !rep.Finite {
		t.Errorf("took %v, finite %v", took, rep.Finite)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := b.beamSearch(cancelled, b.prompts(2, 6)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled beam search: err %v, want context.Canceled", err)
	}
}
