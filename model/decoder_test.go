package model_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/nib-editor/nib/kernels"
	"github.com/nib-editor/nib/model"
)

// topRef is the reference top-k of one row of logits.
func topRef(row []float32, k int) model.Candidates {
	ids, lp := kernels.TopKRef(row, len(row), k)
	c := model.Candidates{LogProbs: lp}
	for _, id := range ids {
		c.IDs = append(c.IDs, int(id))
	}
	return c
}

// sameCandidates compares ids exactly and log-probabilities within tol of
// the largest |log-probability| among them.
func sameCandidates(t *testing.T, what string, got, want model.Candidates, tol float64) {
	t.Helper()
	if !slices.Equal(got.IDs, want.IDs) {
		t.Fatalf("%s: ids %v, want %v", what, got.IDs, want.IDs)
	}
	scale := 0.0
	for _, v := range want.LogProbs {
		scale = max(scale, math.Abs(float64(v)))
	}
	for i := range want.LogProbs {
		if d := math.Abs(float64(got.LogProbs[i] - want.LogProbs[i])); d > tol*scale {
			t.Fatalf("%s: logprob %d = %g, want %g", what, i, got.LogProbs[i], want.LogProbs[i])
		}
	}
}

// TestStepMatchesReference feeds the reference's teacher-forced decoder
// input one token per Step and compares each step's top 5 with the top 5
// of Hugging Face's logits. Tolerance 1e-4 relative, as for the logits.
func TestStepMatchesReference(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx, func(t *testing.T) {
			_, m := load(t, fixture(fx), model.Options{})
			_, d := stepsMatchReference(t, m, fx, 1e-4)
			if _, err := d.Step(context.Background(), []int{0}, 1); err == nil {
				t.Error("a step beyond the capacity was accepted")
			}
		})
	}
}

// stepsMatchReference encodes fixture fx's case1 input, feeds its
// teacher-forced decoder input one token per Step to a decoder of exactly
// that capacity, and compares each step's top 5 with the top 5 of Hugging
// Face's logits within tol. The encoding and the decoder close when t
// ends.
func stepsMatchReference(t *testing.T, m *model.Model, fx string, tol float64) (*model.Encoded, *model.Decoder) {
	t.Helper()
	ref := openRef(t, fx)
	enc, err := m.Encode(ref.rows(t, "case1.input_ids"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(enc.Close)
	dec := ref.rows(t, "case1.decoder_input_ids")[0]
	logits := ref.floats(t, "case1.logits")
	vocab := m.Config().VocabSize
	d, err := m.NewDecoder(enc, len(dec))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	for pos, tok := range dec {
		got, err := d.Step(context.Background(), []int{tok}, 5)
		if err != nil {
			t.Fatal(err)
		}
		sameCandidates(t, fmt.Sprintf("step %d", pos), got[0], topRef(logits[pos*vocab:(pos+1)*vocab], 5), tol)
	}
	return enc, d
}

// TestKeepAndShare checks beam bookkeeping: rows rearranged by Keep (one
// duplicated, one dropped) continue exactly as decoders fed the same
// histories from scratch by teacher forcing.
func TestKeepAndShare(t *testing.T) {
	_, m := load(t, fixture("t5-tiny-gated"), model.Options{})
	ref := openRef(t, "t5-tiny-gated")
	inputs := [][]int{ref.rows(t, "case0.input_ids")[0], ref.rows(t, "case1.input_ids")[0]}
	enc, err := m.Encode(inputs)
	if err != nil {
		t.Fatal(err)
	}
	d, err := m.NewDecoder(enc, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// The decoder keeps the encoder output alive on its own.
	enc.Close()
	hist := [][]int{{0, 37, 5}, {0, 11, 900}}
	ctx := context.Background()
	for p := range 3 {
		if _, err := d.Step(ctx, []int{hist[0][p], hist[1][p]}, 1); err != nil {
			t.Fatal(err)
		}
	}
	// Rows now: input 1's history twice, then input 0's.
	if err := d.Keep([]int{1, 1, 0}); err != nil {
		t.Fatal(err)
	}
	if d.Rows() != 3 {
		t.Fatalf("%d rows after Keep, want 3", d.Rows())
	}
	next := []int{4, 7, 4}
	got, err := d.Step(ctx, next, 4)
	if err != nil {
		t.Fatal(err)
	}
	for r, src := range []int{1, 1, 0} {
		e, err := m.Encode([][]int{inputs[src]})
		if err != nil {
			t.Fatal(err)
		}
		logits := teacherLogits(t, m, e, [][]int{append(slices.Clone(hist[src]), next[r])})
		e.Close()
		v := m.Config().VocabSize
		sameCandidates(t, "row after keep", got[r], topRef(logits[3*v:], 4), 1e-4)
	}
	for _, bad := range [][]int{nil, {3}, {-1}} {
		if err := d.Keep(bad); err == nil {
			t.Errorf("Keep(%v) accepted", bad)
		}
	}
}

// TestStackMatchesBatch encodes the reference batch's inputs one by one,
// stacks them and compares the batch logits with Hugging Face's padded
// batch: stacking must be the same as encoding together.
func TestStackMatchesBatch(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx, func(t *testing.T) {
			_, m := load(t, fixture(fx), model.Options{})
			ref := openRef(t, fx)
			var encs []*model.Encoded
			for _, in := range ref.batchInputs(t) {
				e, err := m.Encode([][]int{in})
				if err != nil {
					t.Fatal(err)
				}
				defer e.Close()
				encs = append(encs, e)
			}
			st, err := m.Stack(encs)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if st.Batch() != 3 || st.Len() != 11 || !slices.Equal(st.Lens(), []int{5, 11, 3}) {
				t.Fatalf("stacked batch %d, length %d, lens %v", st.Batch(), st.Len(), st.Lens())
			}
			logits := teacherLogits(t, m, st, ref.rows(t, "batch.decoder_input_ids"))
			if e := relErr(t, logits, ref.floats(t, "batch.logits")); e > fp32Tol {
				t.Errorf("stacked batch logits error %.2e", e)
			}
		})
	}
}

// TestWarmCompilesEverything: after Warm, a request of every kind the
// daemon makes (encode, decoder steps with top-k of several sizes, Keep)
// compiles no pipeline. Progress reports every byte of the checkpoint.
func TestWarmCompilesEverything(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx, func(t *testing.T) {
			ck, err := model.OpenCheckpoint(fixture(fx))
			if err != nil {
				t.Fatal(err)
			}
			defer ck.Close()
			var last, total int64
			calls := 0
			m, err := model.Load(dev, ck, model.Options{F16: true, Progress: func(done, all int64) {
				if done < last || all <= 0 {
					t.Errorf("progress went from %d to %d of %d", last, done, all)
				}
				last, total = done, all
				calls++
			}})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if calls == 0 || last != total {
				t.Errorf("progress ended at %d of %d after %d calls", last, total, calls)
			}
			if m.WeightBytes() <= 0 {
				t.Errorf("weight bytes %d", m.WeightBytes())
			}
			if err := m.Warm(); err != nil {
				t.Fatal(err)
			}
			before := dev.PipelineStats().Misses
			enc, err := m.Encode([][]int{{5, 6, 7, 1}, {8, 1}, {9, 10, 1}})
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			d, err := m.NewDecoder(enc, 8)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			ctx := context.Background()
			if _, err := d.Step(ctx, []int{0, 0, 0}, 1); err != nil {
				t.Fatal(err)
			}
			if err := d.Keep([]int{0, 0, 1, 2}); err != nil {
				t.Fatal(err)
			}
			for _, k := range []int{4, 8, 50} {
				if _, err := d.Step(ctx, []int{3, 4, 5, 6}, k); err != nil {
					t.Fatal(err)
				}
			}
			if after := dev.PipelineStats().Misses; after != before {
				t.Errorf("%d pipelines compiled after Warm", after-before)
			}
		})
	}
}

// TestRunGreedyMatchesReference: the pipelined greedy loop gives
// Hugging Face's greedy ids, stops when emit says so, and leaves the
// decoder where the emitted steps put it.
func TestRunGreedyMatchesReference(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx, func(t *testing.T) {
			_, m := load(t, fixture(fx), model.Options{})
			ref := openRef(t, fx)
			for c := range 3 {
				p := fmt.Sprintf("case%d.", c)
				enc, err := m.Encode(ref.rows(t, p+"input_ids"))
				if err != nil {
					t.Fatal(err)
				}
				want := ref.rows(t, p+"greedy_ids")[0]
				d, err := m.NewDecoder(enc, len(want))
				enc.Close()
				if err != nil {
					t.Fatal(err)
				}
				var got []int
				err = d.RunGreedy(context.Background(), []int{0}, len(want)-1, func(ids []int, lps []float32) bool {
					if len(ids) != 1 || lps[0] > 0 {
						t.Errorf("step gave %v %v", ids, lps)
					}
					got = append(got, ids[0])
					return true
				})
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(append([]int{0}, got...)) != fmt.Sprint(want) || d.Pos() != len(want)-1 {
					t.Errorf("%sRunGreedy %v at position %d, want %v", p, got, d.Pos(), want)
				}
				// Stop after 4 steps: the position is 4, and stepping on
				// from there gives the reference's next id.
				d.Close()
				enc, _ = m.Encode(ref.rows(t, p+"input_ids"))
				d, _ = m.NewDecoder(enc, len(want))
				enc.Close()
				n := 0
				d.RunGreedy(context.Background(), []int{0}, 100, func(ids []int, _ []float32) bool { n++; return n < 4 })
				if d.Pos() != 4 {
					t.Errorf("after 4 emitted steps the position is %d", d.Pos())
				}
				next, err := d.Step(context.Background(), []int{want[4]}, 1)
				if err != nil {
					t.Fatal(err)
				}
				if next[0].IDs[0] != want[5] {
					t.Errorf("step after stopping gave %d, want %d", next[0].IDs[0], want[5])
				}
				d.Close()
			}
		})
	}
}

// TestInt8Weights checks the 8-bit storage path. Tolerance: weights
// rounded to 8 bits per block of 32 (relative error up to 1/254 of the
// block's largest) move these random models' logits by about 2e-2 of
// their range (1e-2 to 2e-2 measured); 5e-2 bounds that while catching a
// broken path (errors of order 1). Greedy ids must still match.
func TestInt8Weights(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx, func(t *testing.T) {
			_, m := load(t, fixture(fx), model.Options{Int8: true})
			ref := openRef(t, fx)
			enc, err := m.Encode(ref.rows(t, "case2.input_ids"))
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			logits := teacherLogits(t, m, enc, ref.rows(t, "case2.decoder_input_ids"))
			e := relErr(t, logits, ref.floats(t, "case2.logits"))
			t.Logf("int8 logits error %.2e", e)
			if e > 5e-2 {
				t.Errorf("int8 logits error %.2e", e)
			}
			want := ref.rows(t, "case2.greedy_ids")[0]
			if got := greedy(t, m, enc, len(want)); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("int8 greedy %v, want %v", got, want)
			}
		})
	}
}

// TestProbes: the benchmark probes time a step when the decoder has a
// plan, and say why they cannot when it has none (closed) rather than
// report a time of 0.
func TestProbes(t *testing.T) {
	_, m := load(t, fixture("t5-tiny-gated"), model.Options{})
	enc, err := m.Encode([][]int{{5, 6, 7, 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	d, err := m.NewDecoder(enc, 8)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Step(context.Background(), []int{0}, 1); err != nil {
		t.Fatal(err)
	}
	if us, err := d.ProbeRecord(3); err != nil || us < 0 {
		t.Errorf("ProbeRecord on a live decoder: %v µs, %v", us, err)
	}
	if us, err := d.ProbeBatched(2, 2); err != nil || us <= 0 {
		t.Errorf("ProbeBatched on a live decoder: %v µs, %v", us, err)
	}
	d.Close()
	if _, err := d.ProbeRecord(3); err == nil {
		t.Error("ProbeRecord on a closed decoder: no error")
	}
	if _, err := d.ProbeBatched(2, 2); err == nil {
		t.Error("ProbeBatched on a closed decoder: no error")
	}
}

// TestLayerStep runs the one-row step with each decoder layer as one
// dispatch (NIB_DECLAYER=1): Warm's probe of them passes and leaves them
// on, the plan has LayeredPlanLen dispatches, each step's top 5 matches
// Hugging Face's logits as the planned step's does
// (TestStepMatchesReference; in f16 within the f16 bound), and the
// pipelined greedy loop gives the reference's greedy ids, for both
// fixtures.
func TestLayerStep(t *testing.T) {
	t.Setenv("NIB_DECLAYER", "1")
	for _, fx := range fixtures {
		for _, f16 := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/f16=%v", fx, f16), func(t *testing.T) {
				_, m := load(t, fixture(fx), model.Options{F16: f16})
				if err := m.ProbeLayers(); err != nil {
					t.Fatalf("probe: %v", err)
				}
				tol := 1e-4
				if f16 {
					// The bound for f16 weights against HF's fp32.
					tol = 7.7e-4
				}
				enc, d := stepsMatchReference(t, m, fx, tol)
				if want := model.LayeredPlanLen(m.Config().NumDecoderLayers); d.PlanLen() != want {
					t.Errorf("plan of %d dispatches, want %d", d.PlanLen(), want)
				}
				want := openRef(t, fx).rows(t, "case1.greedy_ids")[0]
				if got := greedy(t, m, enc, len(want)); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("greedy %v, want %v", got, want)
				}
			})
		}
	}
}

// TestLayerStepDefault checks where the one-dispatch layers are on without
// NIB_DECLAYER: on a discrete GPU, and not on a CPU adapter (lavapipe in
// CI), where they are slower; NIB_DECLAYER=0 turns them off everywhere.
func TestLayerStepDefault(t *testing.T) {
	const fx = "t5-tiny-gated"
	for _, env := range []string{"", "0"} {
		t.Run("NIB_DECLAYER="+env, func(t *testing.T) {
			t.Setenv("NIB_DECLAYER", env)
			_, m := load(t, fixture(fx), model.Options{})
			_, d := stepsMatchReference(t, m, fx, 1e-4)
			layered := d.PlanLen() == model.LayeredPlanLen(m.Config().NumDecoderLayers)
			want := env == "" && dev.DecoderLayerPreferred()
			if layered != want {
				t.Errorf("adapter %s (%s): one dispatch a layer %v, want %v", dev.Info().Name, dev.Info().Type, layered, want)
			}
		})
	}
	if dev.Info().Type == "cpu" && dev.DecoderLayerPreferred() {
		t.Errorf("the CPU adapter %s prefers the one-dispatch layers", dev.Info().Name)
	}
}

// greedy decodes enc with RunGreedy from the start token 0 to n ids in
// all, the start token first, as the references' greedy_ids hold them.
func greedy(t *testing.T, m *model.Model, enc *model.Encoded, n int) []int {
	t.Helper()
	d, err := m.NewDecoder(enc, n)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got := []int{0}
	if err := d.RunGreedy(context.Background(), []int{0}, n-1, func(ids []int, _ []float32) bool {
		got = append(got, ids[0])
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return got
}
