package gpu

import (
	"math"
	"slices"

	"github.com/nib-editor/nib/kernels"
)

// ProjArgs configure AttnCross.
type ProjArgs struct {
	// Heads and HeadDim are H and D; inner = H*D.
	Heads, HeadDim int
	// Eps is the RMS norm's epsilon; the norm's weight is folded into w.
	Eps float32
	// KeyLens (U32, per input) and KVRows (U32 [B]: the input each row
	// reads).
	KeyLens, KVRows *Tensor
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
	if a.Heads <= 0 || a.HeadDim <= 0 || a.HeadDim > kernels.AttentionMaxHeadDim {
		b.failf("%s: %d heads of dim %d", op, a.Heads, a.HeadDim)
		return
	}
	inner := a.Heads * a.HeadDim
	if len(w.shape) != 2 || (w.dtype != F32 && w.dtype != F16 && w.dtype != Q8) || w.shape[0] != inner {
		b.failf("%s: weight %s is not f32, f16 or q8 [%d, K]", op, w, inner)
		return
	}
	kx := w.shape[1]
	if x.dtype != F32 || x.shape[len(x.shape)-1] != kx {
		b.failf("%s: x %s does not end in K=%d", op, x, kx)
		return
	}
	rows := x.n / kx
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
	vec := 1
	if a.HeadDim%4 == 0 {
		vec = 4
	}
	vecW := vecRows(kx, w.dtype)
	// x is kept in workgroup memory up to d_model 2048 (16 KiB of
	// workgroup memory in all).
	stage := vecW && kx <= 2048
	defs := kernels.Defines{"W": w.dtype.String(), "VEC": vecW, "V": vec, "WG": b.d.attentionWG(256, a.HeadDim/vec),
		"DV": a.HeadDim / vec, "K": kx, "STAGE": stage, "PRELOAD": b.d.attentionPreload(rows, a.HeadDim/vec, vec)}
	params := []uint32{uint32(a.Heads), uint32(a.HeadDim), uint32(inner / vec), uint32(k.shape[1]),
		uint32(rows * a.Heads), math.Float32bits(a.Eps)}
	b.dispatch(kernels.AttnCross, defs, params, grid(rows*a.Heads, 1), x, w, k, v, a.KeyLens, a.KVRows, out)
}
