package gpu_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/kernels"
)

// embeddingNaNs is an output buffer full of NaN, so that an element the kernel
// fails to write cannot pass as a zero.
func embeddingNaNs(t testing.TB, shape ...int) *gpu.Tensor {
	t.Helper()
	n := 1
	for _, s := range shape {
		n *= s
	}
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(math.NaN())
	}
	return upload(t, x, gpu.F32, shape...)
}

// runEmbedding gathers ids from a random [v, d] table of dtype on the GPU and
// compares with the reference. A gather moves values without arithmetic, so
// the tolerance is zero: f16 values widen to f32 exactly.
func runEmbedding(t *testing.T, rng *rand.Rand, dtype gpu.DType, v, d int, ids []uint32, idShape, outShape []int) {
	t.Helper()
	table := randF32(rng, v*d, 4)
	ref := table
	if dtype == gpu.F16 {
		ref = roundF16(table)
	}
	out := embeddingNaNs(t, outShape...)
	b := dev.NewBatch()
	b.Embedding(out, upload(t, table, dtype, v, d), uploadU32(t, ids, idShape...))
	submit(t, b)
	closeTo(t, download(t, out), kernels.EmbeddingRef(ref, d, ids), 0, 0)
}

func TestEmbedding(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const v = 37
	for _, dtype := range []gpu.DType{gpu.F32, gpu.F16} {
		for _, d := range sizes {
			for _, n := range sizes {
				t.Run(fmt.Sprintf("%s/d=%d/n=%d", dtype, d, n), func(t *testing.T) {
					ids := make([]uint32, n)
					for i := range ids {
						ids[i] = rng.Uint32N(v)
					}
					// The last row of the table, where an f16 word with odd
					// d holds the final value and padding.
					ids[n-1] = v - 1
					runEmbedding(t, rng, dtype, v, d, ids, []int{n}, []int{n, d})
				})
			}
		}
	}
}

// TestEmbeddingOutOfRange checks that ids not below V give zero rows and
// leave their neighbours intact.
func TestEmbeddingOutOfRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const v, d = 5, 7
	ids := []uint32{0, v, 4, math.MaxUint32, v + 1000, 1}
	for _, dtype := range []gpu.DType{gpu.F32, gpu.F16} {
		t.Run(dtype.String(), func(t *testing.T) {
			// ids of shape [2, 3] give out [2, 3, d].
			runEmbedding(t, rng, dtype, v, d, ids, []int{2, 3}, []int{2, 3, d})
		})
	}
}

// TestEmbeddingLarge has more output elements than one row of 65535
// workgroups covers, so the dispatch takes the 2D grid.
func TestEmbeddingLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const v, d, n = 11, 1025, 16400 // n*d = 16.8M > 65535*256
	ids := make([]uint32, n)
	for i := range ids {
		ids[i] = rng.Uint32N(v + 1) // some ids out of range
	}
	runEmbedding(t, rng, gpu.F16, v, d, ids, []int{n}, []int{n, d})
}

func TestEmbeddingMismatchIsAnError(t *testing.T) {
	ids := uploadU32(t, []uint32{0, 1, 2}, 3)
	table := upload(t, make([]float32, 4*6), gpu.F32, 4, 6)
	cases := []struct {
		name            string
		out, table, ids *gpu.Tensor
	}{
		{"out has the wrong width", scratch(t, gpu.F32, 3, 5), table, ids},
		{"out has the wrong rows", scratch(t, gpu.F32, 2, 6), table, ids},
		{"out is not f32", scratch(t, gpu.F16, 3, 6), table, ids},
		{"ids are not u32", scratch(t, gpu.F32, 3, 6), table, scratch(t, gpu.F32, 3)},
		{"table is not a matrix", scratch(t, gpu.F32, 3, 6), scratch(t, gpu.F32, 24), ids},
		{"table is u32", scratch(t, gpu.F32, 3, 6), scratch(t, gpu.U32, 4, 6), ids},
		{"nil ids", scratch(t, gpu.F32, 3, 6), table, nil},
	}
	b := dev.NewBatch()
	for _, c := range cases {
		b.Embedding(c.out, c.table, c.ids)
		if err := b.Submit(); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	// The batch is reusable after a failed submit.
	b.Embedding(scratch(t, gpu.F32, 3, 6), table, ids)
	submit(t, b)
}
