package gpu

import "github.com/nib-editor/nib/kernels"

// MatMul records out = x * w^T: x is F32 with last dimension K and M rows in
// all, w is [N, K] in F32 or F16 (a Hugging Face Linear weight), out is F32
// with M rows of N. Accumulation is f32. Up to kernels.MatVecMaxRows rows use
// the matrix-vector kernel, which reads each weight once for all rows; more
// use the tiled matrix multiply.
func (b *Batch) MatMul(out, x, w *Tensor) {
	if w == nil || len(w.shape) != 2 {
		b.failf("matmul: weight %s is not a 2-D matrix", w)
		return
	}
	b.MatMulRows(out, x, w, 0, w.shape[0])
}

// MatMulRows is MatMul with rows woff..woff+n-1 of w: one matrix may stack
// several projections (q, k and v; a gated feed-forward's two halves).
func (b *Batch) MatMulRows(out, x, w *Tensor, woff, n int) {
	if x == nil || w == nil || out == nil {
		b.failf("matmul: nil tensor")
		return
	}
	if len(w.shape) != 2 || (w.dtype != F32 && w.dtype != F16) {
		b.failf("matmul: weight %s is not a 2-D f32 or f16 matrix", w)
		return
	}
	if woff < 0 || n <= 0 || woff+n > w.shape[0] {
		b.failf("matmul: rows %d..%d of weight %s", woff, woff+n, w)
		return
	}
	k := w.shape[1]
	if x.dtype != F32 || x.shape[len(x.shape)-1] != k {
		b.failf("matmul: input %s does not end in K=%d of weight %s", x, k, w)
		return
	}
	m := x.n / k
	if out.dtype != F32 || out.n != m*n || out.shape[len(out.shape)-1] != n {
		b.failf("matmul: output %s is not f32 with %d rows of %d", out, m, n)
		return
	}
	params := []uint32{uint32(m), uint32(n), uint32(k), uint32(woff)}
	if m <= kernels.MatVecMaxRows {
		// 16-byte loads per weight row: 8 packed f16 or 4 f32 weights each.
		per := 4
		if w.dtype == F16 {
			per = 8
		}
		vec := k%per == 0
		wg, tpr := matvecShape((k + per - 1) / per)
		b.dispatch(kernels.MatVec, kernels.Defines{"W": w.dtype.String(), "M": matvecRows(m), "VEC": vec, "WG": wg, "TPR": tpr},
			params, grid(n, wg/tpr), x, w, out)
		return
	}
	if m*n < smallTiledOutputs {
		// Few outputs: small tiles, so that enough workgroups run.
		b.dispatch(kernels.MatMulSmall, kernels.Defines{"W": w.dtype.String()},
			params, [3]uint32{uint32((n + 63) / 64), uint32((m + 31) / 32), 1}, x, w, out)
		return
	}
	tiles := func(d int) uint32 { return uint32((d + kernels.MatMulTile - 1) / kernels.MatMulTile) }
	b.dispatch(kernels.MatMul, kernels.Defines{"W": w.dtype.String(), "VEC": k%4 == 0},
		params, [3]uint32{tiles(n), tiles(m), 1}, x, w, out)
}

// smallTiledOutputs is the output size below which MatMul uses 32x64
// tiles: under 128x128 tiles such a product has fewer than about 64
// workgroups (the H100 has 132 multiprocessors).
const smallTiledOutputs = 1 << 20

// matvecRows is the specialised row capacity for m rows: 1, 2, 4 or 8, so
// that a handful of pipelines serve every batch size.
func matvecRows(m int) int {
	r := 1
	for r < m {
		r *= 2
	}
	return r
}

// matvecShape picks the workgroup size and invocations per weight row for a
// row of the given number of 16-byte loads. Short rows (FLAN-T5's d_model of
// 512-1024) do best with 16 invocations each, leaving more rows, hence more
// workgroups, in flight; long rows with 64. Measured on the H100 (see
// BENCHMARKS.md): 15% on the 32128x768 lm_head, 4% on 8192x8192.
func matvecShape(loads int) (wg, tpr int) {
	switch {
	case loads <= 128:
		return 128, 16
	case loads <= 512:
		return 256, 32
	}
	return 256, 64
}
