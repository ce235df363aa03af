package gpu_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/kernels"
)

// TestFMatVec compares every fused form with the reference on awkward
// sizes, f32 and f16 weights, vector and scalar loads.
func TestFMatVec(t *testing.T) {
	type form struct {
		name           string
		norm, gate, rs bool
		act            string
	}
	forms := []form{
		{name: "plain"},
		{name: "norm", norm: true},
		{name: "norm+gate+gelu", norm: true, gate: true, act: "gelu_new"},
		{name: "norm+gate+relu", norm: true, gate: true, act: "relu"},
		{name: "relu", act: "relu"},
		{name: "res", rs: true},
		{name: "norm+res", norm: true, rs: true},
	}
	type shape struct{ m, n, k, woff int }
	shapes := []shape{{1, 33, 40, 0}, {3, 7, 64, 5}, {8, 100, 96, 0}, {5, 1, 7, 2}, {2, 1000, 768, 24}, {1, 50, 4160, 1}}
	rng := rand.New(rand.NewPCG(41, 42))
	for _, dtype := range []gpu.DType{gpu.F32, gpu.F16} {
		for _, f := range forms {
			for _, s := range shapes {
				t.Run(fmt.Sprintf("%s/%s/M%d_N%d_K%d_off%d", dtype, f.name, s.m, s.n, s.k, s.woff), func(t *testing.T) {
					halves := 1
					if f.gate {
						halves = 2
					}
					rows := s.woff + halves*s.n + 3 // spare rows after the ones used
					x := randF32(rng, s.m*s.k, 2)
					w := randF32(rng, rows*s.k, 0.5)
					args := gpu.FusedArgs{WOff: s.woff, N: s.n, Norm: f.norm, Eps: 1e-6, Gate: f.gate, Act: f.act}
					ref := kernels.FMatVecArgs{M: s.m, N: s.n, K: s.k, WOff: s.woff, Norm: f.norm, Eps: 1e-6, Gate: f.gate, Act: f.act}
					if f.rs {
						res := randF32(rng, s.m*s.n, 3)
						args.Res, ref.Res = upload(t, res, gpu.F32, s.m, s.n), res
					}
					out := scratch(t, gpu.F32, s.m, s.n)
					b := dev.NewBatch()
					b.FMatVec(out, upload(t, x, gpu.F32, s.m, s.k), upload(t, w, dtype, rows, s.k), args)
					submit(t, b)
					if dtype == gpu.F16 {
						w = roundF16(w)
					}
					// Tolerance: f32 sums of K products in another order
					// than the float64 reference, scaled by the norm.
					closeTo(t, download(t, out), kernels.FMatVecRef(x, w, ref), 2e-4, 2e-4)
				})
			}
		}
	}
}

func TestFMatVecRejects(t *testing.T) {
	x := scratch(t, gpu.F32, 2, 8)
	w := scratch(t, gpu.F32, 10, 8)
	for name, rec := range map[string]func(b *gpu.Batch){
		"too many rows": func(b *gpu.Batch) {
			b.FMatVec(scratch(t, gpu.F32, 9, 10), scratch(t, gpu.F32, 9, 8), w, gpu.FusedArgs{})
		},
		"rows beyond w":  func(b *gpu.Batch) { b.FMatVec(scratch(t, gpu.F32, 2, 6), x, w, gpu.FusedArgs{WOff: 5, N: 6}) },
		"gate beyond w":  func(b *gpu.Batch) { b.FMatVec(scratch(t, gpu.F32, 2, 6), x, w, gpu.FusedArgs{N: 6, Gate: true}) },
		"bad activation": func(b *gpu.Batch) { b.FMatVec(scratch(t, gpu.F32, 2, 10), x, w, gpu.FusedArgs{Act: "swish"}) },
		"res is out": func(b *gpu.Batch) {
			out := scratch(t, gpu.F32, 2, 10)
			b.FMatVec(out, x, w, gpu.FusedArgs{Res: out})
		},
		"wrong out": func(b *gpu.Batch) { b.FMatVec(scratch(t, gpu.F32, 2, 9), x, w, gpu.FusedArgs{}) },
	} {
		b := dev.NewBatch()
		rec(b)
		if b.Submit() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
