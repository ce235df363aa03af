package gpu

import "github.com/nib-editor/nib/kernels"

// MatMul records out = x * w^T: x is F32 with last dimension K and M rows in
// all, w is [N, K] in F32 or F16 (a Hugging Face Linear weight), out is F32
// with M rows of N. Accumulation is f32. Up to kernels.MatVecMaxRows rows use
// the matrix-vector kernel, which reads each weight once for all rows; more
// use the tiled matrix multiply.
func (b *Batch) MatMul(out, x, w *Tensor) {
	if x == nil || w == nil || out == nil {
		b.failf("matmul: nil tensor")
		return
	}
	if len(w.shape) != 2 || (w.dtype != F32 && w.dtype != F16) {
		b.failf("matmul: weight %s is not a 2-D f32 or f16 matrix", w)
		return
	}
	n, k := w.shape[0], w.shape[1]
	if x.dtype != F32 || x.shape[len(x.shape)-1] != k {
		b.failf("matmul: input %s does not end in K=%d of weight %s", x, k, w)
		return
	}
	m := x.n / k
	if out.dtype != F32 || out.n != m*n || out.shape[len(out.shape)-1] != n {
		b.failf("matmul: output %s is not f32 with %d rows of %d", out, m, n)
		return
	}
	params := []uint32{uint32(m), uint32(n), uint32(k)}
	if m <= kernels.MatVecMaxRows {
		vec := (w.dtype == F16 && k%8 == 0) || (w.dtype == F32 && k%4 == 0)
		const wg, tpr = 256, 32
		rows := wg / tpr
		b.dispatch(kernels.MatVec, kernels.Defines{"W": w.dtype.String(), "M": m, "VEC": vec, "WG": wg, "TPR": tpr},
			params, grid(n, rows), x, w, out)
		return
	}
	tiles := func(d int) uint32 { return uint32((d + kernels.MatMulTile - 1) / kernels.MatMulTile) }
	b.dispatch(kernels.MatMul, kernels.Defines{"W": w.dtype.String(), "VEC": k%4 == 0},
		params, [3]uint32{tiles(n), tiles(m), 1}, x, w, out)
}
