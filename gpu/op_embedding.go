package gpu

import (
	"slices"

	"github.com/nib-editor/nib/kernels"
)

const embeddingWG = 256

// Embedding records out = table[ids], the token-embedding lookup. table is
// [V, D] in F32 or F16, ids is U32 of any shape with n elements, and out is
// F32 shaped either ids' shape followed by D or [n, D]: the first keeps a
// batch's layout, the second is the flat form the layers take.
//
// A row whose id is not below V is written as zeros rather than reported,
// because the GPU has no way to return an error; callers must validate ids
// on the host (the model does) if a bad id should fail the request.
func (b *Batch) Embedding(out, table, ids *Tensor) {
	const op = "embedding"
	if out == nil || table == nil || ids == nil {
		b.failf("%s: nil tensor", op)
		return
	}
	if len(table.shape) != 2 || (table.dtype != F32 && table.dtype != F16) {
		b.failf("%s: table %s is not a [V, D] f32 or f16 matrix", op, table)
		return
	}
	if ids.dtype != U32 {
		b.failf("%s: ids %s are not u32", op, ids)
		return
	}
	v, d := table.shape[0], table.shape[1]
	n := ids.n
	if out.dtype != F32 || !(slices.Equal(out.shape, append(slices.Clone(ids.shape), d)) ||
		slices.Equal(out.shape, []int{n, d})) {
		b.failf("%s: out %s is not f32%v or f32[%d %d]", op, out, append(slices.Clone(ids.shape), d), n, d)
		return
	}
	b.dispatch(kernels.Embedding, kernels.Defines{"W": table.dtype.String(), "WG": embeddingWG},
		[]uint32{uint32(out.n), uint32(d), uint32(v)}, grid(out.n, embeddingWG), table, ids, out)
}
