package gpu

import (
	"slices"

	"github.com/nib-editor/nib/kernels"
)

// Argmax records out[r] = the index of the largest value in row r of
// logits, greedy decoding's token choice, so that only R u32 values need to
// come back to the host. logits is F32 with V as its last dimension and R
// rows (the product of the others); out is U32 shaped like logits without
// its last dimension, or [R]. Ties go to the lowest index and a NaN counts as
// the maximum (the first NaN wins), as in torch.argmax.
//
// It is one dispatch, one workgroup per row.
func (b *Batch) Argmax(out, logits *Tensor) {
	const op = "argmax"
	if out == nil || logits == nil {
		b.failf("%s: nil tensor", op)
		return
	}
	if logits.dtype != F32 || len(logits.shape) == 0 {
		b.failf("%s: logits %s are not an f32 [R, V] array", op, logits)
		return
	}
	v := logits.shape[len(logits.shape)-1]
	rows := logits.n / v
	lead := logits.shape[:len(logits.shape)-1]
	if out.dtype != U32 || !(slices.Equal(out.shape, lead) || slices.Equal(out.shape, []int{rows})) {
		b.failf("%s: out %s is not u32%v for logits %s", op, out, lead, logits)
		return
	}
	b.dispatch(kernels.Argmax, kernels.Defines{"WG": argmaxWG(v)},
		[]uint32{uint32(rows), uint32(v)}, grid(rows, 1), logits, out)
}

// argmaxWG returns the invocations per row: 256 for a vocabulary, fewer for
// short rows, where idle invocations would only lengthen the reduction.
func argmaxWG(v int) int {
	wg := 32
	for wg < v && wg < 256 {
		wg *= 2
	}
	return wg
}
