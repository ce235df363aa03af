package gpu

import (
	"math"

	"github.com/nib-editor/nib/kernels"
)

// FusedArgs say what FMatVec fuses around its product.
type FusedArgs struct {
	// WOff is the first weight row used and N the number of outputs (with
	// Gate, rows WOff..WOff+N-1 are the gate and WOff+N..WOff+2N-1 the
	// up projection). N 0 means all rows of w from WOff (half of them with
	// Gate).
	WOff, N int
	// Norm scales each row of x by its inverse RMS, with Eps: T5's layer
	// norm, whose weight the caller has folded into w's columns.
	Norm bool
	Eps  float32
	// Gate multiplies the activated gate by the up projection.
	Gate bool
	// Act is "" (none), "relu" or "gelu_new", applied to the product (the
	// gate, with Gate).
	Act string
	// Res, when set, is added to the output; it must not be out.
	Res *Tensor
}

// FMatVec records out = act(norm(x) w^T) (+ res) for the few rows of a
// decode step: x is F32 [M, K] with M <= kernels.MatVecMaxRows, w [rows, K]
// in F32 or F16, out F32 [M, N]. One dispatch replaces a norm, a
// projection, an activation (or a gated product) and a residual add.
func (b *Batch) FMatVec(out, x, w *Tensor, a FusedArgs) {
	const op = "fmatvec"
	if out == nil || x == nil || w == nil {
		b.failf("%s: nil tensor", op)
		return
	}
	if len(w.shape) != 2 || (w.dtype != F32 && w.dtype != F16) {
		b.failf("%s: weight %s is not a 2-D f32 or f16 matrix", op, w)
		return
	}
	rows, k := w.shape[0], w.shape[1]
	n := a.N
	halves := 1
	if a.Gate {
		halves = 2
	}
	if n == 0 {
		n = (rows - a.WOff) / halves
	}
	if a.WOff < 0 || n <= 0 || a.WOff+halves*n > rows {
		b.failf("%s: %d outputs from row %d of weight %s", op, n, a.WOff, w)
		return
	}
	if x.dtype != F32 || x.shape[len(x.shape)-1] != k {
		b.failf("%s: input %s does not end in K=%d of weight %s", op, x, k, w)
		return
	}
	m := x.n / k
	if m < 1 || m > kernels.MatVecMaxRows {
		b.failf("%s: %d rows; the fused kernel takes 1 to %d", op, m, kernels.MatVecMaxRows)
		return
	}
	if out.dtype != F32 || out.n != m*n {
		b.failf("%s: output %s is not f32 with %d rows of %d", op, out, m, n)
		return
	}
	switch a.Act {
	case "", "relu", "gelu_new":
	default:
		b.failf("%s: unknown activation %q", op, a.Act)
		return
	}
	res := x
	if a.Res != nil {
		if a.Res.dtype != F32 || a.Res.n != m*n || a.Res.buf == out.buf {
			b.failf("%s: residual %s is not a distinct f32 tensor of %d values", op, a.Res, m*n)
			return
		}
		res = a.Res
	}
	if out.buf == x.buf || out.buf == w.buf {
		b.failf("%s: out %s is also an input", op, out)
		return
	}
	per := 4
	if w.dtype == F16 {
		per = 8
	}
	vec := k%per == 0
	wg, tpr := matvecShape((k + per - 1) / per)
	defs := kernels.Defines{"W": w.dtype.String(), "M": matvecRows(m), "VEC": vec, "WG": wg, "TPR": tpr,
		"NORM": a.Norm, "GATE": a.Gate, "ACT": a.Act, "RES": a.Res != nil}
	params := []uint32{uint32(m), uint32(n), uint32(k), uint32(a.WOff), math.Float32bits(a.Eps)}
	b.dispatch(kernels.FMatVec, defs, params, grid(n, wg/tpr), x, w, res, out)
}
