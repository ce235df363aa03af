package gpu

import (
	"math"
	"slices"

	"github.com/nib-editor/nib/kernels"
)

// ProjArgs configure AttnSelf and AttnCross.
type ProjArgs struct {
	// Heads and HeadDim are H and D; inner = H*D.
	Heads, HeadDim int
	// Eps is the RMS norm's epsilon; the norm's weight is folded into w.
	Eps float32
	// Self attention: Bias [buckets, H], Buckets (centred table, at least
	// 2*capacity-1 long) and State (U32, position in element 0).
	Bias, Buckets, State *Tensor
	// Cross attention: KeyLens (U32, per input) and KVRows (U32 [B]: the
	// input each row reads).
	KeyLens, KVRows *Tensor
}

// projCheck validates x and w for a fused attention step with nb output
// blocks per head, returning the defines shared by both kinds.
func (b *Batch) projCheck(op string, x, w *Tensor, a ProjArgs, nb int) (kernels.Defines, int, bool) {
	if a.Heads <= 0 || a.HeadDim <= 0 || a.HeadDim > kernels.AttentionMaxHeadDim {
		b.failf("%s: %d heads of dim %d", op, a.Heads, a.HeadDim)
		return nil, 0, false
	}
	inner := a.Heads * a.HeadDim
	if len(w.shape) != 2 || (w.dtype != F32 && w.dtype != F16 && w.dtype != Q8) || w.shape[0] != nb*inner {
		b.failf("%s: weight %s is not f32, f16 or q8 [%d, K]", op, w, nb*inner)
		return nil, 0, false
	}
	k := w.shape[1]
	if x.dtype != F32 || x.shape[len(x.shape)-1] != k {
		b.failf("%s: x %s does not end in K=%d", op, x, k)
		return nil, 0, false
	}
	vec := 1
	if a.HeadDim%4 == 0 {
		vec = 4
	}
	vecW := k%loadWidth(w.dtype) == 0 && w.dtype != Q8
	// One query block (cross-attention) keeps x in workgroup memory, up to
	// d_model 2048 (16 KiB of workgroup memory in all).
	stage := vecW && nb == 1 && k <= 2048
	defs := kernels.Defines{"W": w.dtype.String(), "VEC": vecW, "V": vec, "WG": 256,
		"DV": a.HeadDim / vec, "K": k, "STAGE": stage}
	return defs, x.n / k, true
}

// AttnSelf records a decoder step's self-attention with its norm and
// q/k/v projections fused in: x is F32 [B, K] (the residual stream), w is
// [3*inner, K] (q, k, v stacked, the norm's weight folded in), kc and vc
// are F32 [B, capacity, inner] caches, out is F32 [B, inner]. At position
// State[0], each row's k and v are appended to the caches and its query
// attends to positions 0..pos with T5's relative position bias.
//
// The decoder does not use it: FMatVec and AttnStep, two dispatches,
// measured faster on the H100 (BENCHMARKS.md), as a head's workgroup here
// reads all of its 3*D weight rows alone. It stays as the measured
// alternative, tested, for GPUs where dispatches cost more.
func (b *Batch) AttnSelf(out, x, w, kc, vc *Tensor, a ProjArgs) {
	const op = "attn self"
	if out == nil || x == nil || w == nil || kc == nil || vc == nil || a.Bias == nil || a.Buckets == nil || a.State == nil {
		b.failf("%s: nil tensor", op)
		return
	}
	defs, rows, ok := b.projCheck(op, x, w, a, 3)
	if !ok {
		return
	}
	inner := a.Heads * a.HeadDim
	if kc.dtype != F32 || vc.dtype != F32 || len(kc.shape) != 3 || kc.shape[0] != rows || kc.shape[2] != inner || !slices.Equal(kc.shape, vc.shape) {
		b.failf("%s: caches %s and %s are not f32 [%d, capacity, %d]", op, kc, vc, rows, inner)
		return
	}
	capacity := kc.shape[1]
	if out.dtype != F32 || out.n != rows*inner {
		b.failf("%s: out %s is not f32 [%d, %d]", op, out, rows, inner)
		return
	}
	if a.Bias.dtype != F32 || len(a.Bias.shape) != 2 || a.Bias.shape[1] != a.Heads {
		b.failf("%s: bias %s is not f32 [buckets, %d]", op, a.Bias, a.Heads)
		return
	}
	if a.Buckets.dtype != U32 || a.Buckets.n < 2*capacity-1 || a.State.dtype != U32 {
		b.failf("%s: buckets %s (at least %d) or state %s are not u32", op, a.Buckets, 2*capacity-1, a.State)
		return
	}
	if out.buf == kc.buf || out.buf == vc.buf || kc.buf == vc.buf || out.buf == x.buf {
		b.failf("%s: out and the caches must be distinct from each other and from x", op)
		return
	}
	vec := defs["V"].(int)
	params := []uint32{uint32(a.Heads), uint32(a.HeadDim), uint32(a.HeadDim / vec), uint32(w.shape[1]), uint32(inner),
		uint32(inner / vec), uint32(capacity), uint32((a.Buckets.n - 1) / 2), uint32(rows * a.Heads), math.Float32bits(a.Eps)}
	b.dispatch(kernels.AttnSelf, defs, params, grid(rows*a.Heads, 1), x, w, kc, vc, a.Bias, a.Buckets, a.State, out)
}

// AttnCross records a decoder step's cross-attention with its norm and
// query projection fused in: x is F32 [B, K], w is [inner, K] (the norm's
// weight folded in), k and v are the encoder's F32 [E, L, inner] keys and
// values, out is F32 [B, inner]. Row r attends to the first
// KeyLens[KVRows[r]] keys of input KVRows[r].
func (b *Batch) AttnCross(out, x, w, k, v *Tensor, a ProjArgs) {
	const op = "attn cross"
	if out == nil || x == nil || w == nil || k == nil || v == nil || a.KeyLens == nil || a.KVRows == nil {
		b.failf("%s: nil tensor", op)
		return
	}
	defs, rows, ok := b.projCheck(op, x, w, a, 1)
	if !ok {
		return
	}
	inner := a.Heads * a.HeadDim
	if k.dtype != F32 || v.dtype != F32 || len(k.shape) != 3 || k.shape[2] != inner || !slices.Equal(k.shape, v.shape) {
		b.failf("%s: k %s and v %s are not f32 [inputs, length, %d]", op, k, v, inner)
		return
	}
	if a.KeyLens.dtype != U32 || a.KeyLens.n != k.shape[0] || a.KVRows.dtype != U32 || a.KVRows.n != rows {
		b.failf("%s: key lengths %s (want u32 [%d]) or kv rows %s (want u32 [%d])", op, a.KeyLens, k.shape[0], a.KVRows, rows)
		return
	}
	if out.dtype != F32 || out.n != rows*inner || out.buf == x.buf {
		b.failf("%s: out %s is not a distinct f32 [%d, %d]", op, out, rows, inner)
		return
	}
	vec := defs["V"].(int)
	params := []uint32{uint32(a.Heads), uint32(a.HeadDim), uint32(a.HeadDim / vec), uint32(w.shape[1]), uint32(inner),
		uint32(inner / vec), uint32(k.shape[1]), 0, uint32(rows * a.Heads), math.Float32bits(a.Eps)}
	b.dispatch(kernels.AttnCross, defs, params, grid(rows*a.Heads, 1), x, w, k, v, a.KeyLens, a.KVRows, out)
}
