package model_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/model"
	"github.com/nib-editor/nib/model/safetensors"
)

var dev *gpu.Device

func TestMain(m *testing.M) {
	var err error
	dev, err = gpu.Open(gpu.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open GPU device:", err)
		os.Exit(1)
	}
	code := m.Run()
	dev.Close()
	os.Exit(code)
}

var fixtures = []string{"t5-tiny-gated", "t5-tiny-relu-tied"}

func fixture(name string) string { return filepath.Join("..", "..", "shared", "fixtures", name) }

// relErr is max|got-want| / max|want|, the fixtures' README metric.
func relErr(t *testing.T, got, want []float32) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d values, want %d", len(got), len(want))
	}
	var e, r float64
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		e, r = max(e, d), max(r, math.Abs(float64(want[i])))
	}
	return e / r
}

type reference struct{ f *safetensors.File }

func (r reference) floats(t *testing.T, name string) []float32 {
	t.Helper()
	tt, ok := r.f.Tensor(name)
	if !ok {
		t.Fatalf("reference has no %s", name)
	}
	v, err := tt.Float32()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (r reference) rows(t *testing.T, name string) [][]int {
	t.Helper()
	tt, ok := r.f.Tensor(name)
	if !ok {
		t.Fatalf("reference has no %s", name)
	}
	v, err := tt.Int64()
	if err != nil {
		t.Fatal(err)
	}
	rows := make([][]int, tt.Shape[0])
	for i := range rows {
		for _, x := range v[i*tt.Shape[1] : (i+1)*tt.Shape[1]] {
			rows[i] = append(rows[i], int(x))
		}
	}
	return rows
}

// batchInputs is the reference's padded batch of inputs without the
// padding, each row cut to the tokens its attention mask counts.
func (r reference) batchInputs(t *testing.T) [][]int {
	t.Helper()
	in, mask := r.rows(t, "batch.input_ids"), r.rows(t, "batch.attention_mask")
	for i := range in {
		n := 0
		for _, v := range mask[i] {
			n += v
		}
		in[i] = in[i][:n]
	}
	return in
}

func openRef(t *testing.T, name string) reference {
	t.Helper()
	f, err := safetensors.Open(filepath.Join(fixture(name), "reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return reference{f}
}

func load(t *testing.T, dir string, opts model.Options) (*model.Checkpoint, *model.Model) {
	t.Helper()
	ck, err := model.OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ck.Close() })
	m, err := model.Load(dev, ck, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return ck, m
}

// teacherLogits is the logits of one teacher-forced pass over dec, rows
// of one length, on a decoder made for that pass and closed after it.
func teacherLogits(t *testing.T, m *model.Model, enc *model.Encoded, dec [][]int) []float32 {
	t.Helper()
	d, err := m.NewDecoder(enc, len(dec[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	logits, err := d.Logits(dec)
	if err != nil {
		t.Fatal(err)
	}
	return logits
}

// Tolerance: the fixtures' README asks for 1e-4 relative to the largest
// reference value in fp32.
const fp32Tol = 1e-4

func TestGPUMatchesReference(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx, func(t *testing.T) {
			_, m := load(t, fixture(fx), model.Options{})
			ref := openRef(t, fx)
			for c := 0; c < 3; c++ {
				p := fmt.Sprintf("case%d.", c)
				in := ref.rows(t, p+"input_ids")
				enc, err := m.Encode(in)
				if err != nil {
					t.Fatal(err)
				}
				hidden, err := enc.Hidden()
				if err != nil {
					t.Fatal(err)
				}
				if e := relErr(t, hidden, ref.floats(t, p+"encoder_last_hidden_state")); e > fp32Tol {
					t.Errorf("%sencoder error %.2e", p, e)
				}
				logits := teacherLogits(t, m, enc, ref.rows(t, p+"decoder_input_ids"))
				if e := relErr(t, logits, ref.floats(t, p+"logits")); e > fp32Tol {
					t.Errorf("%slogits error %.2e", p, e)
				}
				want := ref.rows(t, p+"greedy_ids")[0]
				d, err := m.NewDecoder(enc, len(want)-1)
				if err != nil {
					t.Fatal(err)
				}
				got, err := d.Greedy(context.Background(), len(want)-1, false)
				d.Close()
				enc.Close()
				if err != nil {
					t.Fatal(err)
				}
				if g := fmt.Sprint(append([]int{0}, got[0]...)); g != fmt.Sprint(want) {
					t.Errorf("%sgreedy %s, want %v", p, g, want)
				}
			}
		})
	}
}

// TestGPUBatchWithPadding runs the reference's padded batch of three
// inputs of lengths 5, 11 and 3 in one forward pass.
func TestGPUBatchWithPadding(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx, func(t *testing.T) {
			_, m := load(t, fixture(fx), model.Options{})
			ref := openRef(t, fx)
			enc, err := m.Encode(ref.batchInputs(t))
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			logits := teacherLogits(t, m, enc, ref.rows(t, "batch.decoder_input_ids"))
			if e := relErr(t, logits, ref.floats(t, "batch.logits")); e > fp32Tol {
				t.Errorf("batch logits error %.2e", e)
			}
		})
	}
}

func TestCPUMatchesReference(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx, func(t *testing.T) {
			ck, err := model.OpenCheckpoint(fixture(fx))
			if err != nil {
				t.Fatal(err)
			}
			defer ck.Close()
			cpu, err := model.LoadCPU(ck)
			if err != nil {
				t.Fatal(err)
			}
			ref := openRef(t, fx)
			in := ref.rows(t, "case1.input_ids")[0]
			enc, err := cpu.Encode(in)
			if err != nil {
				t.Fatal(err)
			}
			if e := relErr(t, enc, ref.floats(t, "case1.encoder_last_hidden_state")); e > fp32Tol {
				t.Errorf("encoder error %.2e", e)
			}
			logits, err := cpu.DecoderLogits(enc, len(in), ref.rows(t, "case1.decoder_input_ids")[0])
			if err != nil {
				t.Fatal(err)
			}
			if e := relErr(t, logits, ref.floats(t, "case1.logits")); e > fp32Tol {
				t.Errorf("logits error %.2e", e)
			}
		})
	}
}

// TestF16Weights checks the f16 storage path. Tolerance: weights rounded to
// f16 (11-bit mantissa, relative error up to 4.9e-4 each) move the logits by
// a few 1e-4 of their range on these random models; 5e-3 bounds that with
// room while still catching a broken path (errors of order 1).
func TestF16Weights(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx, func(t *testing.T) {
			_, m := load(t, fixture(fx), model.Options{F16: true})
			ref := openRef(t, fx)
			in := ref.rows(t, "case2.input_ids")
			enc, err := m.Encode(in)
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			logits := teacherLogits(t, m, enc, ref.rows(t, "case2.decoder_input_ids"))
			e := relErr(t, logits, ref.floats(t, "case2.logits"))
			t.Logf("f16 logits error %.2e", e)
			if e > 5e-3 {
				t.Errorf("f16 logits error %.2e", e)
			}
		})
	}
}

// config is a T5 config.json for made-up checkpoints.
type config map[string]any

// writeCheckpoint writes a random checkpoint of cfg into dir: weights of
// dtype (F32 or BF16) split into shards files of at most shardSize tensors
// (one file without an index when shards is 1).
func writeCheckpoint(t *testing.T, dir string, cfg config, dtype safetensors.DType, shards int, rng *rand.Rand) {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := model.ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	specs := c.Weights()
	var files [][]safetensors.Tensor
	per := (len(specs) + shards - 1) / shards
	for i, s := range specs {
		n := 1
		for _, d := range s.Shape {
			n *= d
		}
		data := make([]byte, 0, 4*n)
		for range n {
			// Scaled so that activations stay moderate through the layers.
			v := float32(rng.NormFloat64() * 0.3)
			if strings.HasSuffix(s.Name, "layer_norm.weight") {
				v = 1 + v/3
			}
			bits := math.Float32bits(v)
			if dtype == safetensors.BF16 {
				data = append(data, byte(bits>>16), byte(bits>>24))
			} else {
				data = append(data, byte(bits), byte(bits>>8), byte(bits>>16), byte(bits>>24))
			}
		}
		if i%per == 0 {
			files = append(files, nil)
		}
		files[len(files)-1] = append(files[len(files)-1], safetensors.Tensor{Name: s.Name, DType: dtype, Shape: s.Shape, Data: data})
	}
	weightMap := map[string]string{}
	for i, ts := range files {
		name := "model.safetensors"
		if shards > 1 {
			name = fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(files))
		}
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := safetensors.Write(f, ts, map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
		f.Close()
		for _, tt := range ts {
			weightMap[tt.Name] = name
		}
	}
	if shards > 1 {
		idx, _ := json.Marshal(map[string]any{"metadata": map[string]any{}, "weight_map": weightMap})
		if err := os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), idx, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAnyConfigMatchesCPU runs made-up checkpoints of unusual shapes on the
// GPU and on the CPU path: the GPU pass must hold for any valid T5
// configuration, not only the fixtures'.
func TestAnyConfigMatchesCPU(t *testing.T) {
	cases := []struct {
		name   string
		cfg    config
		dtype  safetensors.DType
		shards int
	}{
		{"gated-relu, more decoder layers, odd vocab", config{
			"vocab_size": 101, "d_model": 24, "d_kv": 5, "d_ff": 40, "num_layers": 1, "num_decoder_layers": 3,
			"num_heads": 3, "relative_attention_num_buckets": 8, "relative_attention_max_distance": 20,
			"feed_forward_proj": "gated-relu", "tie_word_embeddings": false, "layer_norm_epsilon": 1e-5,
		}, safetensors.F32, 1},
		{"bf16 sharded, relu tied, inner > d_model", config{
			"vocab_size": 64, "d_model": 16, "d_kv": 12, "d_ff": 33, "num_layers": 2, "num_decoder_layers": 1,
			"num_heads": 2, "relative_attention_num_buckets": 6, "relative_attention_max_distance": 7,
			"feed_forward_proj": "relu", "tie_word_embeddings": true,
		}, safetensors.BF16, 3},
		{"gated-gelu, many buckets", config{
			"vocab_size": 300, "d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 2,
			"num_heads": 4, "relative_attention_num_buckets": 64, "relative_attention_max_distance": 4,
			"feed_forward_proj": "gated-gelu", "tie_word_embeddings": false,
		}, safetensors.F32, 2},
	}
	rng := rand.New(rand.NewPCG(13, 14))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeCheckpoint(t, dir, c.cfg, c.dtype, c.shards, rng)
			ck, m := load(t, dir, model.Options{})
			cpu, err := model.LoadCPU(ck)
			if err != nil {
				t.Fatal(err)
			}
			vocab := ck.Config.VocabSize
			in := make([]int, 19)
			for i := range in {
				in[i] = 2 + rng.IntN(vocab-2)
			}
			dec := []int{0, 5 % vocab, 7 % vocab, 1, 9 % vocab}
			wantEnc, err := cpu.Encode(in)
			if err != nil {
				t.Fatal(err)
			}
			wantLogits, err := cpu.DecoderLogits(wantEnc, len(in), dec)
			if err != nil {
				t.Fatal(err)
			}
			enc, err := m.Encode([][]int{in})
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			gotEnc, err := enc.Hidden()
			if err != nil {
				t.Fatal(err)
			}
			if e := relErr(t, gotEnc, wantEnc); e > fp32Tol {
				t.Errorf("encoder error %.2e against the CPU path", e)
			}
			got := teacherLogits(t, m, enc, [][]int{dec})
			if e := relErr(t, got, wantLogits); e > fp32Tol {
				t.Errorf("logits error %.2e against the CPU path", e)
			}
		})
	}
}

func TestCheckpointErrors(t *testing.T) {
	good := config{
		"vocab_size": 40, "d_model": 8, "d_kv": 4, "d_ff": 16, "num_layers": 1, "num_heads": 2,
		"relative_attention_num_buckets": 8, "relative_attention_max_distance": 16, "feed_forward_proj": "relu",
	}
	rng := rand.New(rand.NewPCG(15, 16))
	cases := []struct {
		name   string
		break_ func(t *testing.T, dir string)
		want   []string
	}{
		{"shape disagrees with config", func(t *testing.T, dir string) {
			cfg := config{}
			for k, v := range good {
				cfg[k] = v
			}
			cfg["d_ff"] = 17
			raw, _ := json.Marshal(cfg)
			os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644)
		}, []string{"model.safetensors", "wi.weight", "[16 8]", "[17 8]"}},
		{"missing tensor", func(t *testing.T, dir string) {
			rewrite(t, dir, func(ts []safetensors.Tensor) []safetensors.Tensor {
				return slicesDelete(ts, "encoder.final_layer_norm.weight")
			})
		}, []string{"encoder.final_layer_norm.weight"}},
		{"unsupported dtype", func(t *testing.T, dir string) {
			rewrite(t, dir, func(ts []safetensors.Tensor) []safetensors.Tensor {
				for i := range ts {
					if ts[i].Name == "shared.weight" {
						ts[i].DType = safetensors.I32
					}
				}
				return ts
			})
		}, []string{"shared.weight", "I32"}},
		{"impossible config", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"d_model": -3}`), 0o644)
		}, []string{"config.json", "d_model"}},
		{"unknown activation", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"feed_forward_proj": "swish"}`), 0o644)
		}, []string{"config.json", "feed_forward_proj", "swish"}},
		{"no weights", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "model.safetensors"))
		}, []string{"model.safetensors"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeCheckpoint(t, dir, good, safetensors.F32, 1, rng)
			c.break_(t, dir)
			ck, err := model.OpenCheckpoint(dir)
			if err == nil {
				ck.Close()
				t.Fatal("broken checkpoint was accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// rewrite replaces dir/model.safetensors with edit applied to its tensors.
func rewrite(t *testing.T, dir string, edit func([]safetensors.Tensor) []safetensors.Tensor) {
	t.Helper()
	path := filepath.Join(dir, "model.safetensors")
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var ts []safetensors.Tensor
	for _, n := range f.Names() {
		tt, _ := f.Tensor(n)
		tt.Data = append([]byte(nil), tt.Data...)
		ts = append(ts, tt)
	}
	f.Close()
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := safetensors.Write(out, edit(ts), nil); err != nil {
		t.Fatal(err)
	}
}

func slicesDelete(ts []safetensors.Tensor, name string) []safetensors.Tensor {
	var out []safetensors.Tensor
	for _, t := range ts {
		if t.Name != name {
			out = append(out, t)
		}
	}
	return out
}

// TestFoldedBeyondF16: a layer norm whose weight, folded into the
// projections after it, takes them beyond f16's range fails an f16 load
// with an error naming the tensor, where it would otherwise store
// infinities; in f32 the same checkpoint loads.
func TestFoldedBeyondF16(t *testing.T) {
	cfg := config{
		"vocab_size": 40, "d_model": 8, "d_kv": 4, "d_ff": 16, "num_layers": 1, "num_heads": 2,
		"relative_attention_num_buckets": 8, "relative_attention_max_distance": 16, "feed_forward_proj": "gated-gelu",
	}
	dir := t.TempDir()
	writeCheckpoint(t, dir, cfg, safetensors.F32, 1, rand.New(rand.NewPCG(17, 18)))
	rewrite(t, dir, func(ts []safetensors.Tensor) []safetensors.Tensor {
		for i := range ts {
			if ts[i].Name == "encoder.block.0.layer.1.layer_norm.weight" {
				for j := 0; j < len(ts[i].Data); j += 4 {
					binary.LittleEndian.PutUint32(ts[i].Data[j:], math.Float32bits(1e9))
				}
			}
		}
		return ts
	})
	ck, err := model.OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	m, err := model.Load(dev, ck, model.Options{F16: true})
	if err == nil {
		m.Close()
		t.Fatal("an f16 load of weights beyond f16's range once folded was accepted")
	}
	t.Log(err)
	for _, want := range []string{"encoder.block.0.layer.1.DenseReluDense.wi_0.weight", "f16"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	m, err = model.Load(dev, ck, model.Options{})
	if err != nil {
		t.Fatalf("f32 load: %v", err)
	}
	m.Close()
}
