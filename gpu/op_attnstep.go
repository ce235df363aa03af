package gpu

import (
	"slices"

	"github.com/nib-editor/nib/kernels"
)

// AttnStepArgs configure AttnStep.
type AttnStepArgs struct {
	// Heads and HeadDim are H and D; rows are H*D wide.
	Heads, HeadDim int
	// Bias is F32 [buckets, H], T5's relative_attention_bias; Buckets the
	// U32 table centred on relative position 0 (see AttentionArgs), at
	// least 2*capacity-1 long.
	Bias, Buckets *Tensor
	// State is U32 whose first element is the position written and
	// attended from: it lives on the GPU so that a recorded step serves
	// every position.
	State *Tensor
}

// AttnStep records one decoder self-attention step with its KV-cache
// append: qkv is F32 [B, 3*H*D] (q, k and v of the new position, stacked),
// kc and vc are F32 [B, capacity, H*D] caches, out is F32 [B, H*D]. At
// position pos = State[0], k and v are stored into the caches and the query
// attends causally to positions 0..pos with T5's relative position bias.
// pos must be below the capacity; the caller keeps it so (the shader cannot
// report an error, and clamps nothing).
func (b *Batch) AttnStep(out, qkv, kc, vc *Tensor, a AttnStepArgs) {
	const op = "attnstep"
	if out == nil || qkv == nil || kc == nil || vc == nil || a.Bias == nil || a.Buckets == nil || a.State == nil {
		b.failf("%s: nil tensor", op)
		return
	}
	if a.Heads <= 0 || a.HeadDim <= 0 || a.HeadDim > kernels.AttentionMaxHeadDim {
		b.failf("%s: %d heads of dim %d", op, a.Heads, a.HeadDim)
		return
	}
	hd := a.Heads * a.HeadDim
	if kc.dtype != F32 || len(kc.shape) != 3 || kc.shape[2] != hd || !slices.Equal(vc.shape, kc.shape) || vc.dtype != F32 {
		b.failf("%s: caches %s and %s are not f32 [B, capacity, %d]", op, kc, vc, hd)
		return
	}
	rows, capacity := kc.shape[0], kc.shape[1]
	if qkv.dtype != F32 || qkv.n != rows*3*hd {
		b.failf("%s: qkv %s is not f32 [%d, %d]", op, qkv, rows, 3*hd)
		return
	}
	if out.dtype != F32 || out.n != rows*hd {
		b.failf("%s: out %s is not f32 [%d, %d]", op, out, rows, hd)
		return
	}
	if a.Bias.dtype != F32 || len(a.Bias.shape) != 2 || a.Bias.shape[1] != a.Heads {
		b.failf("%s: bias %s is not f32 [buckets, %d]", op, a.Bias, a.Heads)
		return
	}
	if a.Buckets.dtype != U32 || a.Buckets.n < 2*capacity-1 {
		b.failf("%s: buckets %s are not u32 with at least %d entries", op, a.Buckets, 2*capacity-1)
		return
	}
	if a.State.dtype != U32 {
		b.failf("%s: state %s is not u32", op, a.State)
		return
	}
	if out.buf == qkv.buf || out.buf == kc.buf || out.buf == vc.buf || kc.buf == vc.buf {
		b.failf("%s: out, caches and qkv must be distinct", op)
		return
	}
	vec := 1
	if a.HeadDim%4 == 0 {
		vec = 4
	}
	dv := a.HeadDim / vec
	// Fixed, not per step, so that a recorded step replays unchanged; and
	// wide: a chunk of 256 keys takes one pass, and the value sums are
	// split 256/dv ways, which is what bounds a step's latency.
	wg := b.d.attentionWG(256, dv)
	params := []uint32{uint32(a.Heads), uint32(dv), uint32(capacity), uint32(a.Heads * dv),
		uint32((a.Buckets.n - 1) / 2), uint32(rows * a.Heads)}
	b.dispatch(kernels.AttnStep, kernels.Defines{"WG": wg, "V": vec, "DV": dv, "PRELOAD": b.d.attentionPreload(rows, dv, vec)}, params, grid(rows*a.Heads, 1),
		qkv, kc, vc, a.Bias, a.Buckets, a.State, out)
}
