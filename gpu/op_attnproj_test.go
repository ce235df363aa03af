package gpu_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/kernels"
)

// projRef is the norm and projection the fused kernels start with.
func projRef(x, w []float32, rows, n, k int) []float32 {
	return kernels.FMatVecRef(x, w, kernels.FMatVecArgs{M: rows, N: n, K: k, Norm: true, Eps: 1e-6})
}

func TestAttnCross(t *testing.T) { bothLayouts(t, testAttnCross) }

func testAttnCross(t *testing.T) {
	cases := []struct {
		b, h, d, k, inputs, length int
		lens, rows                 []uint32
	}{
		{1, 12, 64, 768, 1, 64, []uint32{64}, []uint32{0}},
		{4, 3, 16, 40, 2, 33, []uint32{20, 33}, []uint32{1, 0, 0, 1}},
		{2, 2, 33, 35, 3, 300, []uint32{300, 7, 0}, []uint32{2, 0}},
		// More keys than a chunk, one row of vector heads (the GPU
		// layout preloads the first chunk).
		{1, 2, 64, 128, 2, 300, []uint32{290, 100}, []uint32{0}},
		// Rows too wide to stage x in workgroup memory, on the vector
		// path (q8: a whole number of superblocks).
		{2, 2, 16, 2176, 1, 9, []uint32{9}, []uint32{0, 0}},
	}
	rng := rand.New(rand.NewPCG(83, 84))
	for _, dtype := range []gpu.DType{gpu.F32, gpu.F16, gpu.Q8} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/B%d_H%d_D%d_K%d_L%d", dtype, c.b, c.h, c.d, c.k, c.length), func(t *testing.T) {
				inner := c.h * c.d
				x := randF32(rng, c.b*c.k, 2)
				w := randF32(rng, inner*c.k, 0.3)
				kv := randF32(rng, c.inputs*c.length*inner, 1)
				vv := randF32(rng, c.inputs*c.length*inner, 1)
				out := scratch(t, gpu.F32, c.b, inner)
				b := dev.NewBatch()
				b.AttnCross(out, upload(t, x, gpu.F32, c.b, c.k), upload(t, w, dtype, inner, c.k),
					upload(t, kv, gpu.F32, c.inputs, c.length, inner), upload(t, vv, gpu.F32, c.inputs, c.length, inner),
					gpu.ProjArgs{Heads: c.h, HeadDim: c.d, Eps: 1e-6, KeyLens: uploadU32(t, c.lens), KVRows: uploadU32(t, c.rows)})
				submit(t, b)
				switch dtype {
				case gpu.F16:
					w = roundF16(w)
				case gpu.Q8:
					w = gpu.RoundQ8(w)
				}
				q := projRef(x, w, c.b, inner, c.k)
				want := kernels.AttentionRef(q, kv, vv, kernels.AttentionArgs{
					Batch: c.b, Queries: 1, Keys: c.length, Capacity: c.length, Heads: c.h, HeadDim: c.d,
					Mask: kernels.Mask{KeyLens: c.lens}, KVRows: c.rows,
				})
				closeTo(t, download(t, out), want, 2e-4, 2e-4)
			})
		}
	}
}
