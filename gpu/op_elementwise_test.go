package gpu_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/kernels"
)

func TestUnary(t *testing.T) {
	ops := []struct {
		name string
		gpu  func(b *gpu.Batch, out, x *gpu.Tensor)
		ref  func([]float32) []float32
	}{
		{"relu", (*gpu.Batch).ReLU, kernels.ReLURef},
		{"gelu_new", (*gpu.Batch).GeluNew, kernels.GeluNewRef},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, op := range ops {
		for _, n := range append(sizes, 70000) {
			t.Run(fmt.Sprintf("%s/%d", op.name, n), func(t *testing.T) {
				// Inputs up to ±20 reach the clamped tails of tanh.
				x := randF32(rng, n, 20)
				out := scratch(t, gpu.F32, n)
				b := dev.NewBatch()
				op.gpu(b, out, upload(t, x, gpu.F32, n))
				submit(t, b)
				// Tolerance: f32 transcendental functions on GPUs are
				// accurate to a few ulp.
				closeTo(t, download(t, out), op.ref(x), 1e-5, 1e-5)
			})
		}
	}
}

func TestBinary(t *testing.T) {
	ops := []struct {
		name string
		gpu  func(b *gpu.Batch, out, x, y *gpu.Tensor)
		ref  func(a, b []float32) []float32
	}{
		{"add", (*gpu.Batch).Add, kernels.AddRef},
		{"gated_gelu", (*gpu.Batch).GatedGelu, kernels.GatedGeluRef},
		{"gated_relu", (*gpu.Batch).GatedRelu, kernels.GatedReluRef},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, op := range ops {
		for _, n := range append(sizes, 70000) {
			t.Run(fmt.Sprintf("%s/%d", op.name, n), func(t *testing.T) {
				x, y := randF32(rng, n, 8), randF32(rng, n, 8)
				out := scratch(t, gpu.F32, n)
				b := dev.NewBatch()
				op.gpu(b, out, upload(t, x, gpu.F32, n), upload(t, y, gpu.F32, n))
				submit(t, b)
				closeTo(t, download(t, out), op.ref(x, y), 1e-5, 1e-5)
			})
		}
	}
}

func TestShapeMismatchIsAnError(t *testing.T) {
	b := dev.NewBatch()
	b.Add(scratch(t, gpu.F32, 4), scratch(t, gpu.F32, 4), scratch(t, gpu.F32, 5))
	if err := b.Submit(); err == nil {
		t.Fatal("adding tensors of different lengths was accepted")
	}
	// The batch is reusable after a failed submit.
	b.Add(scratch(t, gpu.F32, 4), scratch(t, gpu.F32, 4), scratch(t, gpu.F32, 4))
	submit(t, b)
}
