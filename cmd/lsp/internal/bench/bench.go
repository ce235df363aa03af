package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/nib-editor/nib/cmd/lsp/internal/cli"
	"github.com/nib-editor/nib/completion"
	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/internal/load"
	"github.com/nib-editor/nib/model"
	"github.com/nib-editor/nib/model/hub"
)

const benchUsage = `usage: nib bench --model DIR|HUB-ID [flags]
       nib bench --config CONFIG.json --random-weights [flags]

Measures decode speed (batch 1, batch, beam), time to first token, encoder
speed, GPU memory, load, warm-up and cold start, and prints one JSON object
on stdout. The doc comment of cmd/lsp/internal/bench/bench.go describes every field.

flags:
`

// benchMeasurements are the names --only takes.
var benchMeasurements = []string{"decode", "ttft", "encoder", "batch", "beam", "cold"}

// benchChildMarker starts the line a cold-start child reports on.
const benchChildMarker = "nib-bench-child "

// benchChildFlag, as bench's first argument, makes it a cold-start child.
const benchChildFlag = "--cold-start-child"

// benchChildCommand returns a command running `nib bench` with args in a
// new process: this binary itself. Tests replace it, their binary not
// being nib.
var benchChildCommand = func(ctx context.Context, args []string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: cold start: %w", err)
	}
	return exec.CommandContext(ctx, exe, append([]string{"bench"}, args...)...), nil
}

// benchFlags are bench's settings, shared by the parent and its children.
type benchFlags struct {
	Model         string `json:"-"`
	Config        string `json:"-"`
	RandomWeights bool   `json:"-"`
	Seed          uint64 `json:"-"`
	F16           bool   `json:"-"`
	Int8          bool   `json:"-"`
	f16Set        bool
	logLevel      *zapcore.Level
	Adapter       string `json:"-"`
	PromptTokens  int    `json:"prompt_tokens"`
	NewTokens     int    `json:"new_tokens"`
	EncoderTokens int    `json:"encoder_tokens"`
	Batch         int    `json:"batch"`
	Beam          int    `json:"beam"`
	BeamRequests  int    `json:"beam_requests"`
	Runs          int    `json:"runs"`
	Only          string `json:"only"`
	ShaderCache   string `json:"shader_cache"`
}

func parseBenchFlags(args []string, stderr io.Writer) (*benchFlags, error) {
	f := &benchFlags{}
	set := flag.NewFlagSet("bench", flag.ContinueOnError)
	set.SetOutput(stderr)
	set.StringVar(&f.Model, "model", "", "model folder or Hugging Face hub id")
	set.StringVar(&f.Config, "config", "", "config.json file (or folder holding one) for --random-weights")
	set.BoolVar(&f.RandomWeights, "random-weights", false, "random weights of the configuration's shape, made on the GPU")
	set.Uint64Var(&f.Seed, "seed", 1, "seed of the random weights and prompts")
	set.BoolVar(&f.F16, "f16", false, "f16 weights (arithmetic stays f32); default: whether the adapter has shader-f16")
	set.BoolVar(&f.Int8, "int8", false, "8-bit projection weights with a scale per 32 (embeddings f16)")
	set.StringVar(&f.Adapter, "adapter", "", "GPU adapter: index or name substring (default $"+gpu.AdapterEnv+")")
	set.IntVar(&f.PromptTokens, "prompt-tokens", 64, "prompt length for decode, batch, beam and time to first token")
	set.IntVar(&f.NewTokens, "new-tokens", 128, "tokens generated per row (at least 2)")
	set.IntVar(&f.EncoderTokens, "encoder-tokens", 512, "input length of the encoder measurement")
	set.IntVar(&f.Batch, "batch", 8, "rows decoded in lockstep for batch_decode_tok_s")
	set.IntVar(&f.Beam, "beam", 4, "beam width for beam_decode_tok_s")
	set.IntVar(&f.BeamRequests, "beam-requests", 2, "requests decoded together by beam search")
	set.IntVar(&f.Runs, "runs", 5, "timed runs per measurement after one untimed; the median is reported")
	set.StringVar(&f.Only, "only", strings.Join(benchMeasurements, ","), "measurements to run, comma-separated: "+strings.Join(benchMeasurements, ", "))
	f.logLevel = cli.LogLevel(set)
	set.StringVar(&f.ShaderCache, "shader-cache", "fresh", "driver shader cache of the cold-start children: fresh (a new empty folder) or inherit")
	set.Usage = func() {
		fmt.Fprint(stderr, benchUsage)
		set.PrintDefaults()
	}
	if err := set.Parse(args); err != nil {
		return nil, err
	}
	set.Visit(func(fl *flag.Flag) { f.f16Set = f.f16Set || fl.Name == "f16" })
	switch {
	case set.NArg() > 0:
		return nil, fmt.Errorf("bench: unexpected argument %q", set.Arg(0))
	case f.Model == "" && f.Config == "":
		set.Usage()
		return nil, errors.New("bench: give --model, or --config with --random-weights")
	case f.Model != "" && f.Config != "":
		return nil, errors.New("bench: give --model or --config, not both")
	case f.Config != "" && !f.RandomWeights:
		return nil, errors.New("bench: --config needs --random-weights (a checkpoint is given with --model)")
	case f.PromptTokens < 1 || f.EncoderTokens < 1 || f.Batch < 1 || f.Beam < 1 || f.BeamRequests < 1 || f.Runs < 1:
		return nil, errors.New("bench: --prompt-tokens, --encoder-tokens, --batch, --beam, --beam-requests and --runs must be positive")
	case f.Beam > completion.MaxBeams:
		return nil, fmt.Errorf("bench: --beam %d: the widest beam search is %d", f.Beam, completion.MaxBeams)
	case f.NewTokens < 2:
		return nil, errors.New("bench: --new-tokens must be at least 2 (decode speed counts the steps after the first)")
	case f.ShaderCache != "fresh" && f.ShaderCache != "inherit":
		return nil, fmt.Errorf("bench: --shader-cache %q: want fresh or inherit", f.ShaderCache)
	}
	for _, name := range strings.Split(f.Only, ",") {
		if !slices.Contains(benchMeasurements, name) {
			return nil, fmt.Errorf("bench: --only: unknown measurement %q (have %s)", name, strings.Join(benchMeasurements, ", "))
		}
	}
	return f, nil
}

func (f *benchFlags) selected(name string) bool {
	return slices.Contains(strings.Split(f.Only, ","), name)
}

// benchConfig is the report's config: a name and the fields nib reads.
type benchConfig struct {
	Name string `json:"name"`
	Path string `json:"path"`
	*model.Config
}

type benchAdapter struct {
	Name           string `json:"name"`
	Backend        string `json:"backend"`
	Type           string `json:"type"`
	Driver         string `json:"driver"`
	ShaderF16      bool   `json:"shader_f16"`
	TimestampQuery bool   `json:"timestamp_query"`
}

// coldStart is what a cold-start child reports about itself.
type coldStart struct {
	OpenMS       float64 `json:"open_ms"`
	LoadMS       float64 `json:"load_ms"`
	WarmMS       float64 `json:"warm_ms"`
	FirstTokenMS float64 `json:"first_token_ms"`
}

// benchReport is the JSON object bench prints; see the file comment.
type benchReport struct {
	Command       []string     `json:"command"`
	Date          string       `json:"date"`
	GoVersion     string       `json:"go_version"`
	Model         string       `json:"model"`
	ModelDir      string       `json:"model_dir,omitempty"`
	RandomWeights bool         `json:"random_weights"`
	Seed          uint64       `json:"seed"`
	Config        benchConfig  `json:"config"`
	Adapter       benchAdapter `json:"adapter"`
	WeightsDType  string       `json:"weights_dtype"`
	Settings      *benchFlags  `json:"settings"`

	LoadMS float64 `json:"load_ms"`
	WarmMS float64 `json:"warm_ms"`

	DecodeTokS      float64 `json:"decode_tok_s,omitempty"`
	TTFTMS          float64 `json:"ttft_ms,omitempty"`
	EncoderTokS     float64 `json:"encoder_tok_s,omitempty"`
	BatchDecodeTokS float64 `json:"batch_decode_tok_s,omitempty"`
	BeamDecodeTokS  float64 `json:"beam_decode_tok_s,omitempty"`

	GPUWeightBytes      int64 `json:"gpu_weight_bytes"`
	GPUResidentBytes    int64 `json:"gpu_resident_bytes,omitempty"`
	GPUPoolIdleBytes    int64 `json:"gpu_pool_idle_bytes,omitempty"`
	GPUResidentMaxBytes int64 `json:"gpu_resident_max_bytes"`
	KVCacheBytes        int64 `json:"kv_cache_bytes,omitempty"`

	ColdStartMS          float64     `json:"cold_start_ms,omitempty"`
	ColdStartWarmCacheMS float64     `json:"cold_start_warm_cache_ms,omitempty"`
	ColdStartDetail      []coldStart `json:"cold_start_detail,omitempty"`
	ShaderCache          string      `json:"shader_cache,omitempty"`
	ShaderCacheBytes     *int64      `json:"shader_cache_bytes,omitempty"`

	ColdStartCheckpointBytes int64 `json:"cold_start_checkpoint_bytes,omitempty"`

	Samples map[string][]float64 `json:"samples"`
	Finite  bool                 `json:"finite"`
}

// Run implements `nib bench`, which measures generation speed and
// memory on one GPU and prints one JSON object on stdout; progress goes to
// stderr.
//
//	nib bench --model DIR|HUB-ID [flags]
//	nib bench --config CONFIG.json --random-weights [flags]
//
// The first form loads a checkpoint as the daemon does; the second builds
// random weights of a configuration's shape directly on the GPU
// (model.LoadRandom, transformers' initialisation scales), so that any
// FLAN-T5 size can be measured without its weights: the shapes are in
// ../shared/configs/flan-t5-{small,base,large,xl}/config.json. Speed does
// not depend on the values. The model is loaded, then model.Warm compiles
// every pipeline, then each measurement runs once untimed and --runs times
// timed, and the median is reported. Prompts are random ids in
// [2, vocab_size) ending in the EOS id, as ../shared/device/hf_peer.py makes
// them; decoding is greedy (or beam search) and never stops at EOS.
//
// The JSON fields (durations in ms, speeds in tokens/s, medians of --runs):
//
//   - command: the arguments; date: RFC 3339 start time; go_version.
//   - model: the --model argument, or "random" with --random-weights;
//     model_dir: the folder it resolved to; random_weights, seed.
//   - config: the configuration's name (its folder's or file's base name),
//     path and every config.json field nib reads.
//   - adapter: name, backend, type, driver, shader_f16, timestamp_query.
//   - weights_dtype: "f16" (projections, embeddings and lm_head in f16,
//     as --f16 does everywhere in nib), "int8" (--int8: projections and an
//     untied lm_head 8-bit with a scale per 32, embeddings f16) or "f32".
//     Arithmetic is f32 either way.
//   - settings: prompt_tokens, new_tokens, encoder_tokens, batch, beam,
//     beam_requests, runs, only, shader_cache: the flags.
//   - load_ms: opening the checkpoint and uploading it (or generating the
//     random weights), until the GPU has the last byte.
//   - warm_ms: model.Warm, which compiles every compute pipeline.
//   - decode_tok_s: batch 1, a prompt_tokens prompt, new_tokens greedy
//     steps as the daemon decodes them (Decoder.RunGreedy: the argmax fed
//     back on the GPU, a step recorded while the last runs). Counts the steps after
//     the first: (new_tokens-1) / their time, as hf_peer.py's decode_tok_s
//     does (the first step is in ttft_ms). Excludes encoding.
//   - ttft_ms: time to first token: from prompt ids in host memory through
//     Encode, NewDecoder and the first Step to the first id on the host.
//   - encoder_tok_s: encoder_tokens / the time of encoding one input of
//     that length (Encode, which also computes every decoder layer's
//     cross-attention keys and values, until the GPU is done).
//   - batch_decode_tok_s: batch rows of different prompts in lockstep,
//     greedy as decode_tok_s: batch*(new_tokens-1) / the time of the steps
//     after the first.
//   - beam_decode_tok_s: beam_requests prompts decoded together by the
//     daemon's beam search (completion.Decode, Beam strategy, width beam,
//     no end id: Step with k=2*beam per row, the best continuations per
//     request, Keep to reorder the rows and their KV caches each step):
//     beam_requests*beam*(new_tokens-1) / the time of the steps after the
//     first, Keep included. Tokens of every beam count.
//   - gpu_weight_bytes: GPU memory of the weights (Model.WeightBytes).
//   - gpu_resident_bytes: every GPU buffer the device holds (the pool's
//     live bytes, gpu.Device.PoolStats: weights, KV cache, encoder output,
//     scratch buffers in use or pooled) at the end of a batch-1 decode run,
//     its decoder still open; gpu_pool_idle_bytes: of those, pooled ones
//     waiting for reuse.
//   - gpu_resident_max_bytes: the largest gpu_resident_bytes seen at the
//     end of any timed run of any measurement.
//   - kv_cache_bytes: the batch-1 decoder's KV cache (Decoder.Bytes) for
//     new_tokens positions.
//   - cold_start_ms: process start to first token: the nib binary runs
//     itself (os.Executable) as a child that opens the device, loads the
//     checkpoint (in the page cache: the parent just read it), runs
//     model.Warm as the daemon does before it serves, then encodes the
//     prompt and takes the first Step; measured in the parent from just
//     before starting the child until the child's report arrives on its
//     stdout. With --random-weights the parent first writes its random
//     weights as an f32 checkpoint (model.WriteRandomCheckpoint, the
//     dtype of FLAN-T5's checkpoints on the hub) into a temporary folder
//     for the children, cold_start_checkpoint_bytes big, so that they
//     time the daemon's load path rather than the generator.
//     cold_start_warm_cache_ms: a second child, the same way, once the
//     first has filled the driver's shader cache. cold_start_detail: each
//     child's own open_ms, load_ms, warm_ms and first_token_ms;
//     shader_cache: "fresh" or "inherit" (--shader-cache);
//     shader_cache_bytes: what the first child left in a fresh cache (0
//     means the driver keeps none there, and the two times should agree).
//   - samples: every timed value of each measurement, in its unit.
//   - finite: every log-probability that the decode, batch and beam runs
//     got back was finite. false flags a numerical bug (NaN or infinite
//     logits), which makes the speeds above worthless.
//
// What persists between processes is the GPU driver's on-disk shader
// cache, not a pipeline cache of nib's: wgpu-native in this binding has no
// pipeline-cache API, so every process compiles its WGSL to SPIR-V and
// creates its pipelines anew, and the driver finds the machine code of
// shaders it has compiled before in its cache (NVIDIA:
// __GL_SHADER_DISK_CACHE_PATH, default ~/.cache/nvidia/GLCache; Mesa:
// MESA_SHADER_CACHE_DIR, default ~/.cache/mesa_shader_cache). With
// --shader-cache fresh (the default) both children get a new, empty cache
// folder, so the first is cold and the second warm whatever ran before;
// with inherit they use the user's cache as it is. lavapipe (Mesa 22.3)
// sometimes crashes (SIGSEGV in one of its threads) when it fills an empty
// cache folder, so on it the first child of a fresh cache may fail; the
// tests use inherit.
//
// Per-kernel times are not reported: the gpu package has no timestamp
// query API yet (adapter.timestamp_query says whether one could have).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == benchChildFlag {
		return benchChild(ctx, args[1:], stdout, stderr)
	}
	f, err := parseBenchFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	rep := &benchReport{
		Command:   append([]string{"nib", "bench"}, args...),
		Date:      time.Now().UTC().Format(time.RFC3339),
		GoVersion: runtime.Version(),
		Settings:  f,
		Samples:   map[string][]float64{},
		Finite:    true,
	}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", a...) }

	dev, err := gpu.Open(gpu.Options{Adapter: f.Adapter, Logger: cli.Logger(stderr, *f.logLevel)})
	if err != nil {
		return err
	}
	devClosed := false
	defer func() {
		if !devClosed {
			dev.Close()
		}
	}()
	info := dev.Info()
	rep.Adapter = benchAdapter{info.Name, info.Backend, info.Type, info.Driver, info.ShaderF16, info.TimestampQuery}
	if !f.f16Set {
		f.F16 = dev.ShaderF16()
	}
	rep.WeightsDType = load.WeightsName(f.F16, f.Int8)
	rep.RandomWeights, rep.Seed = f.RandomWeights, f.Seed
	logf("%s on %s, %s weights", firstNonEmpty(f.Model, f.Config), info, rep.WeightsDType)

	start := time.Now()
	m, src, err := benchLoad(dev, f)
	if err != nil {
		return err
	}
	modelClosed := false
	defer func() {
		if !modelClosed {
			m.Close()
		}
	}()
	if err := dev.Sync(); err != nil {
		return err
	}
	rep.LoadMS = ms(time.Since(start))
	rep.Model, rep.ModelDir, rep.Config = src.model, src.dir, src.config
	rep.Config.Config = m.Config()
	rep.GPUWeightBytes = m.WeightBytes()
	logf("loaded in %.0f ms, %.1f MB of weights on the GPU", rep.LoadMS, float64(rep.GPUWeightBytes)/1e6)

	start = time.Now()
	if err := m.Warm(); err != nil {
		return err
	}
	if err := dev.Sync(); err != nil {
		return err
	}
	rep.WarmMS = ms(time.Since(start))
	logf("warmed up in %.0f ms", rep.WarmMS)

	b := &bencher{f: f, dev: dev, m: m, rep: rep, rng: rand.New(rand.NewPCG(f.Seed, 0x6e6962))}
	if err := b.measure(ctx, logf); err != nil {
		return err
	}

	if f.selected("cold") {
		// The children measure a process of their own: release the GPU
		// first.
		m.Close()
		modelClosed = true
		dev.Close()
		devClosed = true
		dir := src.dir
		if f.RandomWeights {
			// The children load a checkpoint, as the daemon does: the
			// random weights written to a temporary folder (in the page
			// cache once written).
			tmp, err := os.MkdirTemp("", "nib-bench-checkpoint-")
			if err != nil {
				return fmt.Errorf("bench: cold start: %w", err)
			}
			defer os.RemoveAll(tmp)
			start := time.Now()
			n, err := model.WriteRandomCheckpoint(tmp, rep.Config.Config, f.Seed, 0)
			if err != nil {
				return err
			}
			rep.ColdStartCheckpointBytes = n
			logf("random weights written as a checkpoint of %.1f MB in %.0f ms", float64(n)/1e6, ms(time.Since(start)))
			dir = tmp
		}
		childArgs := []string{"--adapter", strconv.Itoa(info.Index), "--f16=" + strconv.FormatBool(f.F16), "--int8=" + strconv.FormatBool(f.Int8),
			"--prompt-tokens", strconv.Itoa(f.PromptTokens), "--seed", strconv.FormatUint(f.Seed, 10), "--model", dir}
		if err := coldStarts(ctx, childArgs, f.ShaderCache, rep, stderr, logf); err != nil {
			return err
		}
	}

	raw, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", raw)
	return err
}

// firstNonEmpty returns a, or b if a is empty.
func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// benchSource says where a model came from.
type benchSource struct {
	model, dir string
	config     benchConfig
}

// benchLoad loads the checkpoint or makes the random model f asks for.
func benchLoad(dev *gpu.Device, f *benchFlags) (*model.Model, benchSource, error) {
	var src benchSource
	opts := model.Options{F16: f.F16, Int8: f.Int8}
	if f.Model != "" {
		dir, err := hub.Resolve(f.Model)
		if err != nil {
			return nil, src, err
		}
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		src.model, src.dir = f.Model, dir
		src.config = benchConfig{Name: filepath.Base(dir), Path: filepath.Join(dir, "config.json")}
		if f.RandomWeights {
			cfg, err := model.LoadConfig(dir)
			if err != nil {
				return nil, src, err
			}
			m, err := model.LoadRandom(dev, cfg, opts, f.Seed)
			return m, src, err
		}
		ck, err := model.OpenCheckpoint(dir)
		if err != nil {
			return nil, src, err
		}
		defer ck.Close()
		m, err := model.Load(dev, ck, opts)
		return m, src, err
	}
	path, err := filepath.Abs(f.Config)
	if err != nil {
		return nil, src, fmt.Errorf("bench: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, "config.json")
	}
	name := strings.TrimSuffix(filepath.Base(path), ".json")
	if name == "config" {
		name = filepath.Base(filepath.Dir(path))
	}
	src.model, src.config = "random", benchConfig{Name: name, Path: path}
	cfg, err := model.ParseConfigFile(path)
	if err != nil {
		return nil, src, err
	}
	m, err := model.LoadRandom(dev, cfg, opts, f.Seed)
	return m, src, err
}

// bencher runs the in-process measurements.
type bencher struct {
	f   *benchFlags
	dev *gpu.Device
	m   *model.Model
	rep *benchReport
	rng *rand.Rand
}

// prompt returns random ids in [2, vocab) ending in EOS, as hf_peer.py
// makes its prompt.
func (b *bencher) prompt(n int) []int {
	c := b.m.Config()
	ids := make([]int, n)
	for i := range ids {
		ids[i] = 2 + b.rng.IntN(max(1, c.VocabSize-2))
	}
	ids[n-1] = c.EOSID
	return ids
}

func (b *bencher) prompts(rows, n int) [][]int {
	out := make([][]int, rows)
	for i := range out {
		out[i] = b.prompt(n)
	}
	return out
}

// measure runs the selected measurements, each once untimed and then
// f.Runs times, and records medians and samples.
func (b *bencher) measure(ctx context.Context, logf func(string, ...any)) error {
	f, rep := b.f, b.rep
	one := b.prompt(f.PromptTokens)
	batch := b.prompts(f.Batch, f.PromptTokens)
	beam := b.prompts(f.BeamRequests, f.PromptTokens)
	long := b.prompt(f.EncoderTokens)
	steps := float64(f.NewTokens - 1)
	type measurement struct {
		name, unit string
		field      *float64
		run        func() (float64, error)
	}
	list := []measurement{
		{"decode", "tokens/s", &rep.DecodeTokS, func() (float64, error) {
			d, err := b.lockstep(ctx, [][]int{one}, func(d *model.Decoder) {
				st := b.dev.PoolStats()
				rep.GPUResidentBytes, rep.GPUPoolIdleBytes = int64(st.Bytes), int64(st.IdleBytes)
				rep.KVCacheBytes = d.Bytes()
			})
			return steps / d.Seconds(), err
		}},
		{"ttft", "ms", &rep.TTFTMS, func() (float64, error) {
			d, err := b.firstToken(ctx, one)
			return ms(d), err
		}},
		{"encoder", "tokens/s", &rep.EncoderTokS, func() (float64, error) {
			d, err := b.encode(long)
			return float64(len(long)) / d.Seconds(), err
		}},
		{"batch", "tokens/s", &rep.BatchDecodeTokS, func() (float64, error) {
			d, err := b.lockstep(ctx, batch, nil)
			return float64(len(batch)) * steps / d.Seconds(), err
		}},
		{"beam", "tokens/s", &rep.BeamDecodeTokS, func() (float64, error) {
			d, rows, err := b.beamSearch(ctx, beam)
			if err == nil && rows != len(beam)*f.Beam*int(steps) {
				err = fmt.Errorf("beam search decoded %d rows after its first step, want %d requests * %d beams * %d steps", rows, len(beam), f.Beam, int(steps))
			}
			return float64(rows) / d.Seconds(), err
		}},
	}
	for _, mm := range list {
		if !f.selected(mm.name) {
			continue
		}
		var samples []float64
		for i := range f.Runs + 1 {
			if err := ctx.Err(); err != nil {
				return err
			}
			v, err := mm.run()
			if err != nil {
				return fmt.Errorf("bench: %s: %w", mm.name, err)
			}
			rep.GPUResidentMaxBytes = max(rep.GPUResidentMaxBytes, int64(b.dev.PoolStats().Bytes))
			if i == 0 { // the untimed warm-up
				logf("%s: warm-up run: %.4g %s", mm.name, v, mm.unit)
				continue
			}
			samples = append(samples, round4(v))
			logf("%s: run %d of %d: %.4g %s", mm.name, i, f.Runs, v, mm.unit)
		}
		*mm.field = median(samples)
		rep.Samples[mm.name] = samples
		logf("%s: %.4g %s (median of %d runs)", mm.name, *mm.field, mm.unit, len(samples))
	}
	rep.GPUResidentMaxBytes = max(rep.GPUResidentMaxBytes, int64(b.dev.PoolStats().Bytes))
	return nil
}

// check records a log-probability that is not finite.
func (b *bencher) check(lp float32) {
	if b.rep != nil && (math.IsNaN(float64(lp)) || math.IsInf(float64(lp), 0)) {
		b.rep.Finite = false
	}
}

// decoder encodes prompts and returns a decoder over them for capacity
// positions, one row per prompt.
func (b *bencher) decoder(prompts [][]int, capacity int) (*model.Decoder, error) {
	enc, err := b.m.Encode(prompts)
	if err != nil {
		return nil, err
	}
	// The decoder retains the encoder output until its own Close.
	defer enc.Close()
	return b.m.NewDecoder(enc, capacity)
}

// lockstep encodes prompts and decodes f.NewTokens greedy tokens per row,
// returning the time of the steps after the first. sample, if set, sees
// the decoder after the last step.
func (b *bencher) lockstep(ctx context.Context, prompts [][]int, sample func(*model.Decoder)) (time.Duration, error) {
	d, err := b.decoder(prompts, b.f.NewTokens)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	tokens := make([]int, len(prompts))
	for i := range tokens {
		tokens[i] = b.m.Config().DecoderStartID
	}
	// The daemon's greedy path: the argmax fed back on the GPU, each step
	// submitted before the last one's ids are read (Decoder.RunGreedy).
	var first time.Time
	steps := 0
	err = d.RunGreedy(ctx, tokens, b.f.NewTokens, func(ids []int, lps []float32) bool {
		for _, lp := range lps {
			b.check(lp)
		}
		if steps == 0 {
			first = time.Now()
		}
		steps++
		return true
	})
	if err != nil {
		return 0, err
	}
	if steps != b.f.NewTokens {
		return 0, fmt.Errorf("greedy run emitted %d of %d steps", steps, b.f.NewTokens)
	}
	took := time.Since(first)
	if sample != nil {
		sample(d)
	}
	return took, nil
}

// firstToken times prompt ids on the host to the first generated id on
// the host.
func (b *bencher) firstToken(ctx context.Context, prompt []int) (time.Duration, error) {
	start := time.Now()
	d, err := b.decoder([][]int{prompt}, 1)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	c, err := d.Step(ctx, []int{b.m.Config().DecoderStartID}, 1)
	if err != nil {
		return 0, err
	}
	took := time.Since(start)
	if len(c) != 1 || len(c[0].IDs) != 1 {
		return 0, fmt.Errorf("first step returned %d rows", len(c))
	}
	return took, nil
}

// encode times one Encode until the GPU has finished it.
func (b *bencher) encode(ids []int) (time.Duration, error) {
	start := time.Now()
	enc, err := b.m.Encode([][]int{ids})
	if err != nil {
		return 0, err
	}
	defer enc.Close()
	if err := b.dev.Sync(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// beamSearch runs the daemon's beam search (completion.Decode with the
// Beam strategy) of width f.Beam over prompts for f.NewTokens steps, with
// no end id so that no beam stops early. It returns the time of the steps
// after the first, Keep included, and the rows those steps decoded.
func (b *bencher) beamSearch(ctx context.Context, prompts [][]int) (time.Duration, int, error) {
	d, err := b.decoder(prompts, b.f.NewTokens)
	if err != nil {
		return 0, 0, err
	}
	defer d.Close()
	params := completion.Params{Strategy: completion.Beam, N: 1, Beams: b.f.Beam, MaxTokens: b.f.NewTokens, EOS: -1}
	reqs := make([]completion.Request, len(prompts))
	for i := range reqs {
		reqs[i] = completion.Request{Ctx: ctx, Params: params}
	}
	st := &timedStepper{d: d, check: b.check}
	for i, r := range completion.Decode(st, b.m.Config().DecoderStartID, reqs) {
		if r.Err != nil {
			return 0, 0, fmt.Errorf("request %d: %w", i, r.Err)
		}
	}
	if st.steps != b.f.NewTokens {
		return 0, 0, fmt.Errorf("beam search ran %d of %d steps", st.steps, b.f.NewTokens)
	}
	return time.Since(st.first), st.rows, nil
}

// timedStepper is the model's decoder as completion.Decode steps it,
// noting when the first step ended, how many rows the steps after it
// decoded, and every log-probability that is not finite.
type timedStepper struct {
	d     *model.Decoder
	check func(lp float32)
	steps int       // Step calls
	first time.Time // the end of the first
	rows  int       // rows of the steps after the first
}

func (s *timedStepper) Rows() int             { return s.d.Rows() }
func (s *timedStepper) Keep(rows []int) error { return s.d.Keep(rows) }

func (s *timedStepper) Step(ctx context.Context, tokens []int, k int) ([]model.Candidates, error) {
	c, err := s.d.Step(ctx, tokens, k)
	if err != nil {
		return nil, err
	}
	s.steps++
	if s.steps == 1 {
		s.first = time.Now()
	} else {
		s.rows += len(tokens)
	}
	out := make([]model.Candidates, len(c))
	for i, row := range c {
		for _, lp := range row.LogProbs {
			s.check(lp)
		}
		out[i] = model.Candidates{IDs: row.IDs, LogProbs: row.LogProbs}
	}
	return out, nil
}

// coldStarts runs two cold-start children and records their times.
func coldStarts(ctx context.Context, args []string, shaderCache string, rep *benchReport, stderr io.Writer, logf func(string, ...any)) error {
	var env []string
	rep.ShaderCache = shaderCache
	var cacheDir string
	if shaderCache == "fresh" {
		dir, err := os.MkdirTemp("", "nib-bench-shader-cache-")
		if err != nil {
			return fmt.Errorf("bench: cold start: %w", err)
		}
		defer os.RemoveAll(dir)
		if env, err = freshShaderCache(dir); err != nil {
			return err
		}
		cacheDir = dir
	}
	for i := range 2 {
		took, detail, err := coldStartChild(ctx, args, env, stderr)
		if err != nil {
			return err
		}
		rep.ColdStartDetail = append(rep.ColdStartDetail, detail)
		if i == 0 {
			rep.ColdStartMS = ms(took)
			if cacheDir != "" {
				n := dirBytes(cacheDir)
				rep.ShaderCacheBytes = &n
			}
		} else {
			rep.ColdStartWarmCacheMS = ms(took)
		}
		logf("cold start %d: %.0f ms to the first token (device %.0f ms, load %.0f ms, warm-up %.0f ms, first token %.0f ms)",
			i+1, ms(took), detail.OpenMS, detail.LoadMS, detail.WarmMS, detail.FirstTokenMS)
	}
	return nil
}

// freshShaderCache prepares empty driver shader cache folders under dir
// and returns the environment that points Mesa's and NVIDIA's drivers at
// them.
func freshShaderCache(dir string) ([]string, error) {
	// NVIDIA's driver writes only into a folder that exists.
	for _, sub := range []string{"mesa", "nvidia"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("bench: cold start: %w", err)
		}
	}
	return []string{
		"MESA_SHADER_CACHE_DIR=" + filepath.Join(dir, "mesa"),
		"__GL_SHADER_DISK_CACHE=1",
		"__GL_SHADER_DISK_CACHE_PATH=" + filepath.Join(dir, "nvidia"),
		"__GL_SHADER_DISK_CACHE_SKIP_CLEANUP=1",
	}, nil
}

// coldStartChild runs one child and returns the time from just before its
// start to its report.
func coldStartChild(ctx context.Context, args, env []string, stderr io.Writer) (time.Duration, coldStart, error) {
	var detail coldStart
	cmd, err := benchChildCommand(ctx, append([]string{benchChildFlag}, args...))
	if err != nil {
		return 0, detail, err
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, detail, fmt.Errorf("bench: cold start: %w", err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, detail, fmt.Errorf("bench: cold start: %w", err)
	}
	var took time.Duration
	found := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), benchChildMarker); ok && !found {
			took, found = time.Since(start), true
			if err := json.Unmarshal([]byte(rest), &detail); err != nil {
				cmd.Wait()
				return 0, detail, fmt.Errorf("bench: cold start: child report %q: %w", rest, err)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		when := "before its report"
		if found {
			when = "after its report"
		}
		return 0, detail, fmt.Errorf("bench: cold start child failed %s: %w", when, err)
	}
	if !found {
		return 0, detail, errors.New("bench: cold start child exited without a report")
	}
	return took, detail, nil
}

// benchChild is a cold-start child: it starts as the daemon does (device,
// model, Warm), runs the prompt to its first token and reports on stdout.
func benchChild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseBenchFlags(args, stderr)
	if err != nil {
		return err
	}
	var rep coldStart
	start := time.Now()
	dev, err := gpu.Open(gpu.Options{Adapter: f.Adapter, Logger: cli.Logger(stderr, *f.logLevel)})
	if err != nil {
		return err
	}
	defer dev.Close()
	rep.OpenMS = ms(time.Since(start))
	start = time.Now()
	m, _, err := benchLoad(dev, f)
	if err != nil {
		return err
	}
	defer m.Close()
	rep.LoadMS = ms(time.Since(start))
	start = time.Now()
	if err := m.Warm(); err != nil {
		return err
	}
	rep.WarmMS = ms(time.Since(start))
	b := &bencher{f: f, dev: dev, m: m, rng: rand.New(rand.NewPCG(f.Seed, 0x6e6962))}
	took, err := b.firstToken(ctx, b.prompt(f.PromptTokens))
	if err != nil {
		return err
	}
	rep.FirstTokenMS = ms(took)
	raw, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s%s\n", benchChildMarker, raw)
	return err
}

// dirBytes is the size of the files under dir.
func dirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			if fi, err := e.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func ms(d time.Duration) float64 { return round4(float64(d) / float64(time.Millisecond)) }

// round4 keeps four significant digits.
func round4(v float64) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64)
	return r
}

// median of values (not empty), the mean of the middle two for an even
// count.
func median(values []float64) float64 {
	s := slices.Sorted(slices.Values(values))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return round4((s[n/2-1] + s[n/2]) / 2)
}
