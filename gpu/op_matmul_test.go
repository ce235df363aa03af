package gpu_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/kernels"
)

func TestMatMul(t *testing.T) { bothLayouts(t, testMatMul) }

func testMatMul(t *testing.T) {
	type shape struct{ m, n, k int }
	var shapes []shape
	// Every awkward size in each dimension, the others kept moderate; M
	// covers FMatVec's one block (1..8) and several (9+), K covers the
	// vector loads (multiples of 8) and the scalar path.
	for _, s := range sizes {
		shapes = append(shapes, shape{s, 33, 40}, shape{5, s, 64}, shape{130, 70, s}, shape{1, 100, s}, shape{8, 9, s})
	}
	// Rows of 96 to 520 16-byte loads reach each matrix-vector shape.
	shapes = append(shapes, shape{129, 257, 96}, shape{9, 1000, 768}, shape{2, 300, 1024}, shape{3, 50, 4160})
	// Over 1024 rows the tiled multiply; up to it, FMatVec's blocks of 8
	// rows (a partial last block included).
	shapes = append(shapes, shape{1030, 131, 40}, shape{1025, 100, 33}, shape{1024, 20, 16}, shape{67, 300, 768})
	rng := rand.New(rand.NewPCG(5, 6))
	for _, dtype := range []gpu.DType{gpu.F32, gpu.F16, gpu.Q8} {
		for _, s := range shapes {
			t.Run(fmt.Sprintf("%s/M%d_N%d_K%d", dtype, s.m, s.n, s.k), func(t *testing.T) {
				x := randF32(rng, s.m*s.k, 1)
				w := randF32(rng, s.n*s.k, 1)
				out := scratch(t, gpu.F32, s.m, s.n)
				b := dev.NewBatch()
				b.MatMul(out, upload(t, x, gpu.F32, s.m, s.k), upload(t, w, dtype, s.n, s.k))
				submit(t, b)
				switch dtype {
				case gpu.F16:
					w = roundF16(w)
				case gpu.Q8:
					w = gpu.RoundQ8(w)
				}
				// Tolerance: f32 sums of K products of values in [-1, 1]
				// in a different order than the float64 reference.
				closeTo(t, download(t, out), kernels.MatMulRef(x, w, s.m, s.n, s.k), 1e-4, 1e-4)
			})
		}
	}
}

func TestMatMulRejectsMismatch(t *testing.T) {
	b := dev.NewBatch()
	b.MatMul(scratch(t, gpu.F32, 2, 3), scratch(t, gpu.F32, 2, 5), scratch(t, gpu.F32, 3, 4))
	if err := b.Submit(); err == nil {
		t.Fatal("matmul with K=5 input and K=4 weight was accepted")
	}
	b.MatMul(scratch(t, gpu.F32, 2, 4), scratch(t, gpu.F32, 2, 5), scratch(t, gpu.F32, 3, 5))
	if err := b.Submit(); err == nil {
		t.Fatal("matmul into an output of the wrong width was accepted")
	}
}
