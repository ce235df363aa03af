package gpu_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/kernels"
)

func TestRMSNorm(t *testing.T) {
	const eps = 1e-6
	rng := rand.New(rand.NewPCG(5, 6))
	type tc struct {
		rows, d int
		w       gpu.DType
	}
	var cases []tc
	for _, d := range append(sizes, 4096) {
		for _, w := range []gpu.DType{gpu.F32, gpu.F16} {
			cases = append(cases, tc{3, d, w})
		}
	}
	// More rows than one grid dimension holds.
	cases = append(cases, tc{70000, 1, gpu.F32}, tc{1, 4096, gpu.F16})
	for _, c := range cases {
		t.Run(fmt.Sprintf("%dx%d/%s", c.rows, c.d, c.w), func(t *testing.T) {
			x := randF32(rng, c.rows*c.d, 4)
			w := upload(t, randF32(rng, c.d, 2), c.w, c.d)
			out := scratch(t, gpu.F32, c.rows, c.d)
			b := dev.NewBatch()
			b.RMSNorm(out, upload(t, x, gpu.F32, c.rows, c.d), w, eps)
			submit(t, b)
			// The reference uses the weights as stored (rounded to f16 where
			// they are f16). Tolerance: a sum of up to 4096 squares in f32
			// and inverseSqrt, each good to a few ulp.
			closeTo(t, download(t, out), kernels.RMSNormRef(x, download(t, w), eps), 1e-6, 1e-5)
		})
	}
}

func TestRMSNormFixed(t *testing.T) {
	// mean(x^2) = (9 + 16) / 2 = 12.5, so x / sqrt(12.5) scaled by w.
	x := upload(t, []float32{3, -4}, gpu.F32, 1, 2)
	w := upload(t, []float32{1, 0.5}, gpu.F16, 2)
	out := scratch(t, gpu.F32, 1, 2)
	b := dev.NewBatch()
	b.RMSNorm(out, x, w, 0)
	submit(t, b)
	closeTo(t, download(t, out), []float32{0.848528137, -0.565685425}, 1e-6, 1e-6)
}

func TestRMSNormMismatch(t *testing.T) {
	x := scratch(t, gpu.F32, 2, 8)
	for name, call := range map[string]func(b *gpu.Batch){
		"weight length": func(b *gpu.Batch) { b.RMSNorm(scratch(t, gpu.F32, 2, 8), x, scratch(t, gpu.F32, 7), 1e-6) },
		"weight dtype":  func(b *gpu.Batch) { b.RMSNorm(scratch(t, gpu.F32, 2, 8), x, scratch(t, gpu.U32, 8), 1e-6) },
		"out length":    func(b *gpu.Batch) { b.RMSNorm(scratch(t, gpu.F32, 8), x, scratch(t, gpu.F32, 8), 1e-6) },
		"in place":      func(b *gpu.Batch) { b.RMSNorm(x, x, scratch(t, gpu.F32, 8), 1e-6) },
	} {
		b := dev.NewBatch()
		call(b)
		if err := b.Submit(); err == nil {
			t.Errorf("%s: mismatch was accepted", name)
		}
	}
}
