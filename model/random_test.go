package model_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nib-editor/nib/model"
)

// randomConfig parses a small config.json for random models: gated-gelu
// like FLAN-T5, more decoder layers than encoder ones, an untied lm_head
// unless tied is set.
func randomConfig(t *testing.T, layers, decLayers int, tied bool) *model.Config {
	t.Helper()
	raw := fmt.Appendf(nil, `{"vocab_size": 300, "d_model": 64, "d_kv": 16, "d_ff": 96, "num_heads": 4,
		"num_layers": %d, "num_decoder_layers": %d, "feed_forward_proj": "gated-gelu",
		"tie_word_embeddings": %v, "decoder_start_token_id": 0, "eos_token_id": 1, "pad_token_id": 0}`,
		layers, decLayers, tied)
	c, err := model.ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// randomRun is what a random model computes for a fixed input: the
// encoder output, teacher-forced logits and four greedy-ish steps of top-3.
type randomRun struct {
	hidden, logits []float32
	steps          []model.Candidates
}

func runRandom(t *testing.T, m *model.Model) randomRun {
	t.Helper()
	var r randomRun
	in := []int{5, 17, 250, 3, 99, 42, 7, 1}
	enc, err := m.Encode([][]int{in})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	if r.hidden, err = enc.Hidden(); err != nil {
		t.Fatal(err)
	}
	r.logits = teacherLogits(t, m, enc, [][]int{{0, 11, 12}})
	d, err := m.NewDecoder(enc, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tok := 0
	for range 4 {
		c, err := d.Step(context.Background(), []int{tok}, 3)
		if err != nil {
			t.Fatal(err)
		}
		r.steps = append(r.steps, c[0])
		tok = c[0].IDs[0]
	}
	return r
}

func checkFinite(t *testing.T, what string, v []float32) {
	t.Helper()
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			t.Fatalf("%s[%d] = %v", what, i, x)
		}
	}
}

// std is the standard deviation of v.
func std(v []float32) float64 {
	var s, s2 float64
	for _, x := range v {
		s += float64(x)
		s2 += float64(x) * float64(x)
	}
	n := float64(len(v))
	return math.Sqrt(s2/n - (s/n)*(s/n))
}

// TestLoadRandomDeterministic: a seed fixes the model bit for bit, another
// seed gives another model, and what it computes is finite.
func TestLoadRandomDeterministic(t *testing.T) {
	cfg := randomConfig(t, 2, 3, false)
	runs := map[uint64][]randomRun{}
	for _, seed := range []uint64{1, 1, 2} {
		m, err := model.LoadRandom(dev, cfg, model.Options{}, seed)
		if err != nil {
			t.Fatal(err)
		}
		r := runRandom(t, m)
		m.Close()
		checkFinite(t, "encoder output", r.hidden)
		checkFinite(t, "logits", r.logits)
		for i, c := range r.steps {
			checkFinite(t, "step log-probabilities", c.LogProbs)
			if c.LogProbs[0] > 0 || c.LogProbs[0] < c.LogProbs[2] {
				t.Errorf("seed %d step %d: log-probabilities %v are not sorted non-positive", seed, i, c.LogProbs)
			}
		}
		runs[seed] = append(runs[seed], r)
	}
	a, b, other := runs[1][0], runs[1][1], runs[2][0]
	if !slices.Equal(a.hidden, b.hidden) || !slices.Equal(a.logits, b.logits) {
		t.Error("two models of seed 1 compute different encoder outputs or logits")
	}
	for i := range a.steps {
		if !slices.Equal(a.steps[i].IDs, b.steps[i].IDs) || !slices.Equal(a.steps[i].LogProbs, b.steps[i].LogProbs) {
			t.Errorf("step %d: seed 1 gave %v then %v", i, a.steps[i], b.steps[i])
		}
	}
	if slices.Equal(a.hidden, other.hidden) || slices.Equal(a.logits, other.logits) {
		t.Error("seeds 1 and 2 compute the same encoder output or logits")
	}
}

// TestLoadRandomScales checks the initialisation's scales through what the
// model computes, for FLAN-T5-XL's depth of 24 layers each way in f16 and
// f32: the encoder output is RMS-normalised with weights near 1, so its
// RMS is near 1; an untied lm_head of standard deviation 1 over a
// normalised state gives logits of standard deviation about
// sqrt(d_model), and tied embeddings, scaled by d_model^-0.5, about 1.
func TestLoadRandomScales(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tied    bool
		f16     bool
		wantStd float64
	}{
		{"untied f32", false, false, 8}, // sqrt(64)
		{"untied f16", false, true, 8},
		{"tied f16", true, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := randomConfig(t, 24, 24, tc.tied)
			m, err := model.LoadRandom(dev, cfg, model.Options{F16: tc.f16}, 7)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			r := runRandom(t, m)
			checkFinite(t, "encoder output", r.hidden)
			checkFinite(t, "logits", r.logits)
			for p := range len(r.hidden) / cfg.DModel {
				row := r.hidden[p*cfg.DModel : (p+1)*cfg.DModel]
				var ss float64
				for _, x := range row {
					ss += float64(x) * float64(x)
				}
				if rms := math.Sqrt(ss / float64(len(row))); rms < 0.7 || rms > 1.4 {
					t.Errorf("encoder output position %d has RMS %.3f, want about 1", p, rms)
				}
			}
			for p := range len(r.logits) / cfg.VocabSize {
				s := std(r.logits[p*cfg.VocabSize : (p+1)*cfg.VocabSize])
				// 300 values estimate a standard deviation within a few
				// percent; the norm weights (1 ± 0.1) and the state's
				// direction add some more.
				if s < 0.6*tc.wantStd || s > 1.5*tc.wantStd {
					t.Errorf("logits at position %d have standard deviation %.3f, want about %g", p, s, tc.wantStd)
				}
			}
		})
	}
}

// TestLoadRandomStoresLikeLoad: a random model holds exactly the GPU bytes
// Load gives a checkpoint of the same config, in f32 and f16, so its
// weights have the same dtypes (f16 projections, f32 wo and lm_head).
func TestLoadRandomStoresLikeLoad(t *testing.T) {
	for _, fx := range fixtures {
		for _, f16 := range []bool{false, true} {
			ck, err := model.OpenCheckpoint(fixture(fx))
			if err != nil {
				t.Fatal(err)
			}
			m, err := model.Load(dev, ck, model.Options{F16: f16})
			ck.Close()
			if err != nil {
				t.Fatal(err)
			}
			want := m.WeightBytes()
			m.Close()
			var progress []int64
			r, err := model.LoadRandom(dev, ck.Config, model.Options{F16: f16, Progress: func(done, total int64) {
				progress = append(progress, done, total)
			}}, 3)
			if err != nil {
				t.Fatal(err)
			}
			got := r.WeightBytes()
			r.Close()
			if got != want {
				t.Errorf("%s f16=%v: random model holds %d weight bytes, Load %d", fx, f16, got, want)
			}
			if n := len(progress); n == 0 || progress[n-2] != progress[n-1] || progress[n-1] <= 0 {
				t.Errorf("%s: progress ends at %v, want done == total > 0", fx, progress[max(0, n-2):])
			}
		}
	}
}

func TestParseConfigFile(t *testing.T) {
	dir := fixture("t5-tiny-gated")
	want, err := model.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tiny.json")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := model.ParseConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *want {
		t.Errorf("ParseConfigFile gave %+v, LoadConfig %+v", *got, *want)
	}
	if _, err := model.ParseConfigFile(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("a missing file parsed")
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"d_model": -1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := model.ParseConfigFile(bad); err == nil {
		t.Error("d_model -1 parsed")
	}
}

// TestWriteRandomCheckpoint: Load of the checkpoint WriteRandomCheckpoint
// writes computes what LoadRandom's model computes, sharded or not, tied
// or not, in f32 and f16. The two differ at most by f32 rounding where a
// tied model's output scale is applied (1e-5 relative).
func TestWriteRandomCheckpoint(t *testing.T) {
	for _, tc := range []struct {
		name       string
		tied       bool
		shardBytes int64
	}{
		{"untied, one file", false, 0},
		{"tied, shards of 64 KiB", true, 64 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := randomConfig(t, 2, 3, tc.tied)
			dir := t.TempDir()
			n, err := model.WriteRandomCheckpoint(dir, cfg, 5, tc.shardBytes)
			if err != nil {
				t.Fatal(err)
			}
			params := 0
			for _, s := range cfg.Weights() {
				p := 1
				for _, d := range s.Shape {
					p *= d
				}
				params += p
			}
			if n != 4*int64(params) {
				t.Errorf("wrote %d bytes of tensors, want %d for %d f32 parameters", n, 4*params, params)
			}
			_, indexErr := os.Stat(filepath.Join(dir, "model.safetensors.index.json"))
			shards, _ := filepath.Glob(filepath.Join(dir, "model-*-of-*.safetensors"))
			if sharded := tc.shardBytes > 0; sharded != (indexErr == nil) || sharded != (len(shards) > 1) {
				t.Errorf("index: %v, %d shard files, for shards of %d bytes", indexErr, len(shards), tc.shardBytes)
			}
			ck, err := model.OpenCheckpoint(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer ck.Close()
			if *ck.Config != *cfg {
				t.Errorf("config.json gives %+v, want %+v", *ck.Config, *cfg)
			}
			for _, f16 := range []bool{false, true} {
				loaded, err := model.Load(dev, ck, model.Options{F16: f16})
				if err != nil {
					t.Fatal(err)
				}
				got := runRandom(t, loaded)
				loaded.Close()
				random, err := model.LoadRandom(dev, cfg, model.Options{F16: f16}, 5)
				if err != nil {
					t.Fatal(err)
				}
				want := runRandom(t, random)
				random.Close()
				if e := relErr(t, got.hidden, want.hidden); e > 1e-5 {
					t.Errorf("f16=%v: encoder outputs differ by %.2e", f16, e)
				}
				if e := relErr(t, got.logits, want.logits); e > 1e-5 {
					t.Errorf("f16=%v: logits differ by %.2e", f16, e)
				}
			}
		})
	}
}
