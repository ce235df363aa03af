package model

import (
	"errors"
	"fmt"
	"slices"
	"time"
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

// Batch returns the number of encoded inputs.
func (e *Encoded) Batch() int { return e.batch }

// Lens returns the unpadded length of each input.
func (e *Encoded) Lens() []int { return slices.Clone(e.lens) }
