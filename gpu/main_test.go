package gpu_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/x448/float16"

	"github.com/nib-editor/nib/gpu"
)

// dev is shared by every test in the package: opening a device per test
// would dominate the run time on lavapipe. GPU tests never skip: CI has a
// software Vulkan device, and no adapter is a failure.
var dev *gpu.Device

func TestMain(m *testing.M) {
	var err error
	dev, err = gpu.Open(gpu.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open GPU device:", err)
		os.Exit(1)
	}
	code := m.Run()
	dev.Close()
	os.Exit(code)
}

// sizes are the awkward lengths every kernel is tried on: 1, primes, one
// past a power of two, and lengths that are not multiples of any tile.
var sizes = []int{1, 7, 33, 1000}

func randF32(rng *rand.Rand, n int, scale float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = (rng.Float32()*2 - 1) * scale
	}
	return out
}

func upload(t testing.TB, data []float32, dtype gpu.DType, shape ...int) *gpu.Tensor {
	t.Helper()
	tt, err := dev.UploadF32(data, dtype, shape...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tt.Close)
	return tt
}

// uploadU32 makes a U32 tensor of data, shaped [len(data)] unless a shape
// is given.
func uploadU32(t testing.TB, data []uint32, shape ...int) *gpu.Tensor {
	t.Helper()
	if len(shape) == 0 {
		shape = []int{len(data)}
	}
	tt, err := dev.UploadU32(data, shape...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tt.Close)
	return tt
}

// roundF16 returns w as the GPU sees it when stored in f16, the values a
// reference must use for f16 weights.
func roundF16(w []float32) []float32 {
	out := make([]float32, len(w))
	for i, v := range w {
		out[i] = float16.Fromfloat32(v).Float32()
	}
	return out
}

func scratch(t testing.TB, dtype gpu.DType, shape ...int) *gpu.Tensor {
	t.Helper()
	tt, err := dev.NewTensor(dtype, shape...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tt.Close)
	return tt
}

func submit(t testing.TB, b *gpu.Batch) {
	t.Helper()
	if err := b.Submit(); err != nil {
		t.Fatal(err)
	}
}

func download(t testing.TB, tt *gpu.Tensor) []float32 {
	t.Helper()
	out, err := tt.ReadF32()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// closeTo fails unless |got-want| <= atol + rtol*|want| everywhere.
func closeTo(t testing.TB, got, want []float32, atol, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d values, want %d", len(got), len(want))
	}
	bad := 0
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) || math.Abs(g-w) > atol+rtol*math.Abs(w) {
			if bad < 5 {
				t.Errorf("[%d] = %g, want %g (atol %g, rtol %g)", i, g, w, atol, rtol)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d values out of tolerance", bad, len(want))
	}
}

// bothLayouts runs test under the GPU kernel layouts and under the CPU
// ones (layout.go), whatever the adapter, so that CI's CPU adapter checks
// the layouts GPUs run too.
func bothLayouts(t *testing.T, test func(*testing.T)) {
	for _, cpu := range []bool{false, true} {
		name := "gpu-layout"
		if cpu {
			name = "cpu-layout"
		}
		t.Run(name, func(t *testing.T) {
			defer dev.ForceLayout(cpu)()
			test(t)
		})
	}
}
