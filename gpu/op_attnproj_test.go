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

// TestAttnSelf compares the fused step with the reference norm and
// projection followed by the reference attention over the appended
// caches.
func TestAttnSelf(t *testing.T) {
	cases := []struct{ b, h, d, k, capacity, pos int }{
		{1, 12, 64, 768, 300, 129}, {2, 3, 16, 40, 20, 0}, {3, 2, 33, 35, 9, 8}, {1, 1, 256, 64, 5, 2}, {2, 4, 8, 16, 400, 300},
	}
	rng := rand.New(rand.NewPCG(81, 82))
	for _, dtype := range []gpu.DType{gpu.F32, gpu.F16} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/B%d_H%d_D%d_K%d_pos%d", dtype, c.b, c.h, c.d, c.k, c.pos), func(t *testing.T) {
				inner := c.h * c.d
				x := randF32(rng, c.b*c.k, 2)
				w := randF32(rng, 3*inner*c.k, 0.3)
				kv := randF32(rng, c.b*c.capacity*inner, 1)
				vv := randF32(rng, c.b*c.capacity*inner, 1)
				bias := randF32(rng, 32*c.h, 2)
				buckets := make([]uint32, 2*c.capacity-1)
				for i := range buckets {
					buckets[i] = uint32(rng.IntN(32))
				}
				kc, vc := upload(t, kv, gpu.F32, c.b, c.capacity, inner), upload(t, vv, gpu.F32, c.b, c.capacity, inner)
				out := scratch(t, gpu.F32, c.b, inner)
				b := dev.NewBatch()
				b.AttnSelf(out, upload(t, x, gpu.F32, c.b, c.k), upload(t, w, dtype, 3*inner, c.k), kc, vc, gpu.ProjArgs{
					Heads: c.h, HeadDim: c.d, Eps: 1e-6,
					Bias: upload(t, bias, gpu.F32, 32, c.h), Buckets: uploadU32(t, buckets), State: uploadU32(t, []uint32{uint32(c.pos)}),
				})
				submit(t, b)
				if dtype == gpu.F16 {
					w = roundF16(w)
				}
				qkv := projRef(x, w, c.b, 3*inner, c.k)
				q := make([]float32, 0, c.b*inner)
				for r := range c.b {
					row := qkv[r*3*inner:]
					q = append(q, row[:inner]...)
					copy(kv[(r*c.capacity+c.pos)*inner:], row[inner:2*inner])
					copy(vv[(r*c.capacity+c.pos)*inner:], row[2*inner:3*inner])
				}
				want := kernels.AttentionRef(q, kv, vv, kernels.AttentionArgs{
					Batch: c.b, Queries: 1, Keys: c.pos + 1, Capacity: c.capacity, Heads: c.h, HeadDim: c.d,
					Bias: bias, Buckets: buckets, Mask: kernels.Mask{Causal: true},
				})
				// Tolerance: the projection's f32 sums (as FMatVec) feed
				// softmax scores of magnitude up to ~10.
				closeTo(t, download(t, out), want, 2e-4, 2e-4)
				closeTo(t, download(t, kc), kv, 1e-4, 1e-4)
				closeTo(t, download(t, vc), vv, 1e-4, 1e-4)
			})
		}
	}
}

func TestAttnCross(t *testing.T) {
	cases := []struct {
		b, h, d, k, inputs, length int
		lens, rows                 []uint32
	}{
		{1, 12, 64, 768, 1, 64, []uint32{64}, []uint32{0}},
		{4, 3, 16, 40, 2, 33, []uint32{20, 33}, []uint32{1, 0, 0, 1}},
		{2, 2, 33, 35, 3, 300, []uint32{300, 7, 0}, []uint32{2, 0}},
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
