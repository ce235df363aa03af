package gpu_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/x448/float16"

	"github.com/nib-editor/nib/gpu"
)

// TestF16Bits compares the fast conversion with x448/float16 on every f32
// whose low 13 bits (the ones rounding looks at) are one of a few
// patterns, which covers every exponent, every f16 mantissa, ties and
// subnormals, and on random values; NaNs only need to stay NaNs.
func TestF16Bits(t *testing.T) {
	check := func(bits uint32) {
		v := math.Float32frombits(bits)
		got, want := gpu.F16Bits(v), float16.Fromfloat32(v).Bits()
		if math.IsNaN(float64(v)) {
			if got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
				t.Fatalf("NaN %08x -> %04x, not a NaN", bits, got)
			}
			return
		}
		if got != want {
			t.Fatalf("%g (%08x): %04x, want %04x", v, bits, got, want)
		}
	}
	for hi := uint32(0); hi < 1<<19; hi++ {
		for _, lo := range []uint32{0, 1, 0xfff, 0x1000, 0x1001, 0x1fff} {
			check(hi<<13 | lo)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1 << 20 {
		check(rng.Uint32())
	}
}
