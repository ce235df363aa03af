package gpu

import "github.com/nib-editor/nib/kernels"

// TopK records, for each row of logits (F32, last dimension V, R rows), the
// k largest values best first: ids (U32 [R, k]) gets their indices and
// logprobs (F32 [R, k]) their log-softmax values. Ties go to the lowest
// index. One dispatch, one workgroup per row; k selection rounds over the
// row, so keep k small (beams, or a sampling top-k).
func (b *Batch) TopK(ids, logprobs, logits *Tensor, k int) {
	const op = "topk"
	if ids == nil || logprobs == nil || logits == nil {
		b.failf("%s: nil tensor", op)
		return
	}
	if logits.dtype != F32 || len(logits.shape) == 0 {
		b.failf("%s: logits %s are not an f32 [R, V] array", op, logits)
		return
	}
	v := logits.shape[len(logits.shape)-1]
	rows := logits.n / v
	if k < 1 || k > v {
		b.failf("%s: k=%d for rows of %d", op, k, v)
		return
	}
	if ids.dtype != U32 || ids.n != rows*k || logprobs.dtype != F32 || logprobs.n != rows*k {
		b.failf("%s: outputs %s and %s are not u32 and f32 with %d rows of %d", op, ids, logprobs, rows, k)
		return
	}
	b.dispatch(kernels.TopK, kernels.Defines{"WG": topkWG(v)},
		[]uint32{uint32(rows), uint32(v), uint32(k)}, grid(rows, 1), logits, ids, logprobs)
}

// topkWG returns the invocations per row: 256 for a vocabulary, fewer for
// short rows, where idle invocations would only lengthen the reduction.
func topkWG(v int) int {
	wg := 32
	for wg < v && wg < 256 {
		wg *= 2
	}
	return wg
}
