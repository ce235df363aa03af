package model

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nib-editor/nib/gpu"
)

// Test-only views of the package, for the external tests in model_test.

// errNoPlan: the decoder runs without a recorded step plan (more rows than
// a plan takes, or closed), so there is nothing to probe.
var errNoPlan = errors.New("model: the decoder has no step plan to probe")

// ProbeRecord returns the host time in µs of recording one decode step
// (the plan, top-k and its reads) without submitting it, averaged over n:
// the CPU side of a step, for benchmarks.
func (d *Decoder) ProbeRecord(n int) (float64, error) {
	if d.plan == nil {
		return 0, errNoPlan
	}
	if err := d.topTensors(1); err != nil {
		return 0, fmt.Errorf("probe record: %w", err)
	}
	t0 := time.Now()
	for range n {
		b := d.m.dev.NewBatch()
		b.Run(d.plan)
		b.TopK(d.topIDs, d.topLP, d.logits, 1)
		b.Read(d.topIDs)
		b.Discard()
	}
	return float64(time.Since(t0).Microseconds()) / float64(n), nil
}

// ProbeRecordChunks records steps as RunGreedy does, per steps to a
// batch with the argmax history read once per batch, chunks times,
// discarding each, and returns the host's µs per step.
func (d *Decoder) ProbeRecordChunks(per, chunks int) (float64, error) {
	if d.plan == nil {
		return 0, errNoPlan
	}
	t0 := time.Now()
	for range chunks {
		b := d.m.dev.NewBatch()
		for range per {
			b.Run(d.plan)
		}
		b.ReadRange(d.hist, 0, per*d.Rows())
		b.Discard()
	}
	return float64(time.Since(t0).Microseconds()) / float64(per*chunks), nil
}

// ProbeBatched records per steps into one command buffer, submits it and
// waits, reps times, and returns the wall time per step in µs: the GPU's
// time plus the recording, without a round trip per step. The KV cache
// position does not advance (each repeat rewrites one position).
func (d *Decoder) ProbeBatched(per, reps int) (float64, error) {
	if d.plan == nil {
		return 0, errNoPlan
	}
	if err := d.topTensors(1); err != nil {
		return 0, fmt.Errorf("probe batched: %w", err)
	}
	var total time.Duration
	for rep := range reps {
		t0 := time.Now()
		b := d.m.dev.NewBatch()
		for range per {
			b.Run(d.plan)
		}
		b.TopK(d.topIDs, d.topLP, d.logits, 1)
		r := b.Read(d.topIDs)
		if err := b.Submit(); err != nil {
			return 0, fmt.Errorf("probe batched: submit repeat %d of %d: %w", rep+1, reps, err)
		}
		if _, err := r.U32(); err != nil {
			return 0, fmt.Errorf("probe batched: read repeat %d of %d: %w", rep+1, reps, err)
		}
		total += time.Since(t0)
	}
	return float64(total.Microseconds()) / float64(per*reps), nil
}

// StepRoles names the parts of a planned decode step, in the order
// recordPlan records them: the embedding, seven dispatches per layer, and
// the lm_head with its argmax, and the argmax's combine with the
// position's advance.
var StepRoles = []string{"embedding", "norm+q/k/v", "self-attention", "self output+res", "cross-attention (norm+q fused)",
	"cross output+res", "norm+feed-forward in", "feed-forward out+res", "norm+lm_head+argmax", "argmax combine+advance"}

// LayeredPlanLen is the number of dispatches of a planned step that takes
// one a decoder layer: the embedding, the layers, the lm_head with its
// argmax, and the combine.
func LayeredPlanLen(layers int) int { return 1 + layers + 2 }

// stepRole returns the index in StepRoles of dispatch i of a plan of n.
func stepRole(i, n int) int {
	switch {
	case i == 0:
		return 0
	case i >= n-2:
		return len(StepRoles) - (n - i)
	}
	return 1 + (i-1)%7
}

// ProbeAblation times planned steps on the GPU, in place: for the whole
// plan and for the plan without each part of StepRoles but the combine,
// which advances the position (without it the position, and so
// attention's cost, would stand still).
// Each measure runs steps plans from position 0 in chunks of 8 submitted
// back to back, as RunGreedy does, so that the host records a chunk while
// the GPU runs the last, and times from the first submission to the GPU's
// end: the GPU's time while the host keeps up (each submission also ends
// its pass and finishes its commands on the host, about 3 µs a dispatch,
// which must not be counted). It keeps the median µs per step of reps and
// returns the whole step's time and, per role, what leaving it out saves:
// that part's cost among the others, launch and barrier included.
func (d *Decoder) ProbeAblation(steps, reps int) (float64, map[string]float64, error) {
	if d.plan == nil {
		return 0, nil, errNoPlan
	}
	n := d.plan.Len()
	if (n-3)%7 != 0 {
		return 0, nil, fmt.Errorf("probe ablation: a plan of %d dispatches is not 1 + 7 per layer + 2", n)
	}
	if steps > d.capacity {
		return 0, nil, fmt.Errorf("probe ablation: %d steps exceed the capacity %d", steps, d.capacity)
	}
	measure := func(p *gpu.Plan) (float64, error) { return d.timePlan(p, steps, reps) }
	full, err := measure(d.plan)
	if err != nil {
		return 0, nil, fmt.Errorf("probe ablation: %w", err)
	}
	saved := make(map[string]float64)
	for r, role := range StepRoles[:len(StepRoles)-1] {
		t, err := measure(d.plan.Subset(func(i int) bool { return stepRole(i, n) != r }))
		if err != nil {
			return 0, nil, fmt.Errorf("probe ablation without %s: %w", role, err)
		}
		saved[role] = full - t
	}
	return full, saved, nil
}

// ProbeStep is the decoder's planned step's median µs over reps runs of
// steps steps from position 0, timed as ProbeAblation times it.
func (d *Decoder) ProbeStep(steps, reps int) (float64, error) {
	if d.plan == nil {
		return 0, errNoPlan
	}
	if steps > d.capacity {
		return 0, fmt.Errorf("probe step: %d steps exceed the capacity %d", steps, d.capacity)
	}
	return d.timePlan(d.plan, steps, reps)
}

// timePlan runs p steps times from position 0, in chunks of 8 submitted
// back to back as decoding submits them, timed from after the first
// submission, and returns the median µs per step of reps such runs.
func (d *Decoder) timePlan(p *gpu.Plan, steps, reps int) (float64, error) {
	var ts []float64
	for range reps {
		if err := d.state.WriteU32([]uint32{0, 0, 0, 0}); err != nil {
			return 0, err
		}
		var t0 time.Time
		for c := 0; c < steps; c += 8 {
			b := d.m.dev.NewBatch()
			for range min(8, steps-c) {
				b.Run(p)
			}
			if err := b.Submit(); err != nil {
				return 0, err
			}
			if c == 0 {
				t0 = time.Now()
			}
		}
		if err := d.m.dev.Sync(); err != nil {
			return 0, err
		}
		ts = append(ts, float64(time.Since(t0).Microseconds())/float64(steps))
	}
	slices.Sort(ts)
	return ts[len(ts)/2], nil
}

// Batch returns the number of encoded inputs.
func (e *Encoded) Batch() int { return e.batch }

// Lens returns the unpadded length of each input.
func (e *Encoded) Lens() []int { return slices.Clone(e.lens) }

// PlanLen is the number of dispatches in the decoder's planned step, 0
// without a plan.
func (d *Decoder) PlanLen() int {
	if d.plan == nil {
		return 0
	}
	return d.plan.Len()
}

// ProbeLayers runs Warm's check of the one-dispatch decoder layers.
func (m *Model) ProbeLayers() error { return m.probeLayers() }
