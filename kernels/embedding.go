package kernels

// Embedding gathers rows of a [v, d] table by token id. Defines["W"] is the
// table's dtype, "f32" or "f16" (packed); the output is always f32. Ids not
// below v produce zero rows.
var Embedding = register(&Kernel{
	Name:     "embedding",
	File:     "embedding.wgsl",
	Buffers:  []Access{Read, Read, ReadWrite},
	Defaults: Defines{"W": "f32", "WG": 256},
})

// EmbeddingRef is the reference for Embedding: table holds v rows of d
// values, and the result holds len(ids) rows of d values. Rows for ids that
// are not below v are zeros, as on the GPU, so that tests can place a bad id
// on purpose.
func EmbeddingRef(table []float32, d int, ids []uint32) []float32 {
	v := uint64(len(table) / d)
	out := make([]float32, len(ids)*d)
	for r, id := range ids {
		if uint64(id) < v {
			copy(out[r*d:(r+1)*d], table[int(id)*d:(int(id)+1)*d])
		}
	}
	return out
}
