package gpu_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/kernels"
)

// TestAttnStep runs steps at several positions and compares the output
// with the reference attention over the cache after the append, and the
// caches with the appended rows.
func TestAttnStep(t *testing.T) { bothLayouts(t, testAttnStep) }

func testAttnStep(t *testing.T) {
	cases := []struct{ b, h, d, capacity, pos int }{
		{1, 1, 7, 4, 0}, {2, 3, 16, 40, 17}, {1, 12, 64, 300, 299}, {3, 2, 33, 9, 5}, {1, 2, 256, 70, 64}, {2, 4, 8, 200, 130},
	}
	rng := rand.New(rand.NewPCG(51, 52))
	for _, c := range cases {
		t.Run(fmt.Sprintf("B%d_H%d_D%d_cap%d_pos%d", c.b, c.h, c.d, c.capacity, c.pos), func(t *testing.T) {
			const numBuckets = 32
			hd := c.h * c.d
			qkv := randF32(rng, c.b*3*hd, 1)
			k := randF32(rng, c.b*c.capacity*hd, 1)
			v := randF32(rng, c.b*c.capacity*hd, 1)
			bias := randF32(rng, numBuckets*c.h, 3)
			buckets := make([]uint32, 2*c.capacity+3)
			for i := range buckets {
				buckets[i] = uint32(rng.IntN(numBuckets))
			}
			kc, vc := upload(t, k, gpu.F32, c.b, c.capacity, hd), upload(t, v, gpu.F32, c.b, c.capacity, hd)
			out := scratch(t, gpu.F32, c.b, hd)
			b := dev.NewBatch()
			b.AttnStep(out, upload(t, qkv, gpu.F32, c.b, 3*hd), kc, vc, gpu.AttnStepArgs{
				Heads: c.h, HeadDim: c.d,
				Bias: upload(t, bias, gpu.F32, numBuckets, c.h), Buckets: uploadU32(t, buckets),
				State: uploadU32(t, []uint32{uint32(c.pos), 0, 0, 0}),
			})
			submit(t, b)
			// The reference: append, then attend with one query at pos.
			q := make([]float32, 0, c.b*hd)
			for bi := range c.b {
				row := qkv[bi*3*hd:]
				q = append(q, row[:hd]...)
				copy(k[(bi*c.capacity+c.pos)*hd:], row[hd:2*hd])
				copy(v[(bi*c.capacity+c.pos)*hd:], row[2*hd:3*hd])
			}
			want := kernels.AttentionRef(q, k, v, kernels.AttentionArgs{
				Batch: c.b, Queries: 1, Keys: c.pos + 1, Capacity: c.capacity, Heads: c.h, HeadDim: c.d,
				Bias: bias, Buckets: buckets, Mask: kernels.Mask{Causal: true},
			})
			// Tolerance as TestAttention's.
			closeTo(t, download(t, out), want, 1e-5, 1e-4)
			closeTo(t, download(t, kc), k, 0, 0)
			closeTo(t, download(t, vc), v, 0, 0)
		})
	}
}
