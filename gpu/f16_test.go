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

// TestQ8 checks the quantisation: every value within half a step of its
// block's scale, the largest magnitude of a block exact, zeros zero.
func TestQ8(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	v := make([]float32, 1000)
	for i := range v {
		v[i] = float32(rng.NormFloat64()) * float32(1+i/100)
	}
	for i := 64; i < 96; i++ {
		v[i] = 0 // a block of zeros
	}
	got := gpu.RoundQ8(v)
	for b := 0; b*gpu.Q8Block < len(v); b++ {
		blk := v[b*gpu.Q8Block : min((b+1)*gpu.Q8Block, len(v))]
		var amax float64
		for _, x := range blk {
			amax = math.Max(amax, math.Abs(float64(x)))
		}
		step := amax / 127
		for i, x := range blk {
			g := got[b*gpu.Q8Block+i]
			if d := math.Abs(float64(g - x)); d > step/2*1.0001+1e-12 {
				t.Fatalf("block %d value %d: %g quantised to %g (step %g)", b, i, x, g, step)
			}
			if math.Abs(float64(x)) == amax && amax > 0 && math.Abs(float64(g)-float64(x)) > 1e-5*amax {
				t.Fatalf("block %d: largest value %g became %g", b, x, g)
			}
		}
	}
}
