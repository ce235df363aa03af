package gpu

import "github.com/nib-editor/nib/kernels"

// MatMul records out = x * w^T: x is F32 with last dimension K and M rows in
// all, w is [N, K] in F32 or F16 (a Hugging Face Linear weight), out is F32
// with M rows of N. Accumulation is f32. Up to matvecMaxPromptRows rows are
// FMatVec's, with nothing fused: blocks of up to kernels.MatVecMaxRows rows
// that each read the weights once; more use the tiled matrix multiply.
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
	if len(w.shape) != 2 || (w.dtype != F32 && w.dtype != F16 && w.dtype != Q8) {
		b.failf("matmul: weight %s is not a 2-D f32, f16 or q8 matrix", w)
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
	if m <= matvecMaxPromptRows {
		b.FMatVec(out, x, w, FusedArgs{WOff: woff, N: n})
		return
	}
	params := []uint32{uint32(m), uint32(n), uint32(k), uint32(woff)}
	tiles := func(d int) uint32 { return uint32((d + kernels.MatMulTile - 1) / kernels.MatMulTile) }
	b.dispatch(kernels.MatMul, kernels.Defines{"W": w.dtype.String(), "VEC": k%4 == 0 && w.dtype != Q8},
		params, [3]uint32{tiles(n), tiles(m), 1}, x, w, out)
}

// matvecMaxPromptRows is the most rows of x for which MatMul runs
// FMatVec's blocks of 8 rows; more take the tiled multiply.
// Prompts (up to 512 tokens by default) are too short for 128x128 tiles to
// fill a large GPU: measured on the H100 for a 64-token prompt, they (6
// workgroups for FLAN-T5-base's 768 outputs) and 32x64 tiles (24) took
// 80-90 µs per projection, where the work is about 1 µs at the card's peak.
const matvecMaxPromptRows = 1024

// matvecRows is the specialised row capacity for m rows: 1, 2, 4 or 8, so
// that a handful of pipelines serve every batch size.
func matvecRows(m int) int {
	r := 1
	for r < m {
		r *= 2
	}
	return r
}

// matvecShapeOverride replaces matvecShape in benchmarks that compare
// workgroup shapes (export_test.go).
var matvecShapeOverride func(loads int) (wg, tpr, rpi int)

// promptShape is the matrix-vector layout of a prompt's rows, in blocks
// of 8 (MatMul's and FMatVec's; gated or not). On a GPU, two weight rows
// per invocation share each load of x's rows: on the H100, 64-token
// prompts' 768x768 products take 11 µs instead of 15-19, and 768x2048
// ones 19 instead of 42. The gated feed-forward input (two halves, so
// twice the rows an invocation) does better with four at 8 invocations a
// row: 42 against 58-61 µs for base's (BENCHMARKS.md). On a CPU, 16
// weight rows per invocation (layout.go).
func (d *Device) promptShape(loads int, gate bool) (wg, tpr, rpi int) {
	switch {
	case matvecShapeOverride != nil:
		return matvecShapeOverride(loads)
	case d.cpuLayout():
		return cpuPromptWG, 1, cpuPromptRPI
	case gate:
		return 128, 8, 4
	}
	return 128, 16, 2
}

// matvecShape picks the workgroup size and invocations per weight row for a
// row of the given number of 16-byte loads. Short rows (FLAN-T5's d_model of
// 512-1024) do best with 16 invocations each, leaving more rows, hence more
// workgroups, in flight; long rows with 64. Measured on the H100 (see
// BENCHMARKS.md): 15% on the 32128x768 lm_head, 4% on 8192x8192. A CPU
// takes one invocation per row (layout.go).
func (d *Device) matvecShape(loads int) (wg, tpr, rpi int) {
	if matvecShapeOverride != nil {
		return matvecShapeOverride(loads)
	}
	if d.cpuLayout() {
		return cpuMatvecWG, 1, cpuMatvecRPI
	}
	switch {
	case loads <= 128:
		return 128, 16, 1
	case loads <= 512:
		return 256, 32, 1
	}
	return 256, 64, 1
}
