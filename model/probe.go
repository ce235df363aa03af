package model

import (
	"time"

	"github.com/nib-editor/nib/gpu"
)

// ProbeRecord returns the host time of recording one decode step (the
// plan, top-k and its reads) without submitting it, averaged over n: the
// CPU side of a step, for benchmarks.
func (d *Decoder) ProbeRecord(n int) float64 {
	if d.plan == nil {
		return 0
	}
	if err := d.topTensors(1); err != nil {
		return 0
	}
	t0 := time.Now()
	for range n {
		b := d.m.dev.NewBatch()
		b.Run(d.plan)
		b.TopK(d.topIDs, d.topLP, d.logits, 1)
		b.Read(d.topIDs)
		b.Discard()
	}
	return float64(time.Since(t0).Microseconds()) / float64(n)
}

// ProbeBatched records per steps into one command buffer, submits it and
// waits, reps times, and returns the wall time per step in µs: the GPU's
// time plus the recording, without a round trip per step. The KV cache
// position does not advance (each repeat rewrites one position).
func (d *Decoder) ProbeBatched(per, reps int) float64 {
	if d.plan == nil {
		return 0
	}
	if err := d.topTensors(1); err != nil {
		return 0
	}
	var total time.Duration
	for range reps {
		t0 := time.Now()
		b := d.m.dev.NewBatch()
		for range per {
			b.Run(d.plan)
		}
		b.TopK(d.topIDs, d.topLP, d.logits, 1)
		r := b.Read(d.topIDs)
		if err := b.Submit(); err != nil {
			return 0
		}
		if _, err := r.U32(); err != nil {
			return 0
		}
		total += time.Since(t0)
	}
	return float64(total.Microseconds()) / float64(per*reps)
}

var _ = gpu.F32
