package gpu_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/kernels"
)

// argmaxRead runs Argmax over rows of v logits and reads the indices back
// through Batch.Read in the same batch, as the decoder does. Indices are
// exact: the test compares them for equality.
func argmaxRead(t *testing.T, logits []float32, v int) []uint32 {
	t.Helper()
	rows := len(logits) / v
	out := scratch(t, gpu.U32, rows)
	b := dev.NewBatch()
	b.Argmax(out, upload(t, logits, gpu.F32, rows, v))
	r := b.Read(out)
	submit(t, b)
	got, err := r.U32()
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func argmaxEqual(t *testing.T, got, want []uint32) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("argmax = %v, want %v", got, want)
	}
}

func TestArgmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, v := range append(sizes, 32128, 256000) {
		for _, rows := range []int{1, 3} {
			t.Run(fmt.Sprintf("v=%d/rows=%d", v, rows), func(t *testing.T) {
				logits := randF32(rng, rows*v, 10)
				want := make([]uint32, rows)
				for r := range rows {
					// Plant a tie for the maximum at two random places,
					// usually in different invocations' slices of the
					// scan, so that the reduction must prefer the lower
					// index.
					p, q := rng.IntN(v), rng.IntN(v)
					p, q = min(p, q), max(p, q)
					logits[r*v+p], logits[r*v+q] = 11, 11
					want[r] = uint32(p)
				}
				argmaxEqual(t, kernels.ArgmaxRef(logits, v), want)
				argmaxEqual(t, argmaxRead(t, logits, v), want)
			})
		}
	}
}

// TestArgmaxSpecial places ties, signed zeros, infinities and NaNs on
// purpose, in rows of one batch.
func TestArgmaxSpecial(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	for _, v := range []int{1000, 32128} {
		t.Run(fmt.Sprintf("v=%d", v), func(t *testing.T) {
			var logits []float32
			var want []uint32
			row := func(fill float32, set map[int]float32, idx int) {
				r := make([]float32, v)
				for i := range r {
					r[i] = fill
				}
				for i, x := range set {
					r[i] = x
				}
				logits = append(logits, r...)
				want = append(want, uint32(idx))
			}
			row(-inf, nil, 0)                                   // all -Inf: the first
			row(3, nil, 0)                                      // all equal: the first
			row(-1, map[int]float32{v - 1: 2}, v-1)             // maximum at the end
			row(-1, map[int]float32{0: 2, v - 1: 2}, 0)         // tie at both ends
			row(-1, map[int]float32{256: 2, 1: 2, 512: 2}, 1)   // tie in one and in other slices of the scan
			row(-1, map[int]float32{257: 2, 513: 2}, 257)       // tie within one invocation's slice
			row(-1, map[int]float32{700: negZero, 300: 0}, 300) // -0 == +0
			row(-1, map[int]float32{300: negZero, 700: 0}, 300)
			row(-inf, map[int]float32{5: inf, 9: inf}, 5)
			row(0, map[int]float32{3: inf, 500: nan, 20: nan}, 20) // first NaN beats +Inf
			row(0, map[int]float32{v - 1: nan}, v-1)
			row(-inf, map[int]float32{7: float32(math.Float32frombits(0xffc00001))}, 7) // a negative NaN
			row(-inf, map[int]float32{0: -math.MaxFloat32}, 0)
			row(-math.MaxFloat32, map[int]float32{600: -inf, 601: -math.SmallestNonzeroFloat32}, 601)
			argmaxEqual(t, kernels.ArgmaxRef(logits, v), want)
			argmaxEqual(t, argmaxRead(t, logits, v), want)
		})
	}
}

// TestArgmaxManyRows has more rows than one dimension of workgroups holds,
// and keeps the logits tensor's leading dimensions in out's shape.
func TestArgmaxManyRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const rows, v = 70000, 3
	logits := randF32(rng, rows*v, 1)
	out := scratch(t, gpu.U32, 2, rows/2)
	b := dev.NewBatch()
	b.Argmax(out, upload(t, logits, gpu.F32, 2, rows/2, v))
	submit(t, b)
	got, err := out.ReadU32()
	if err != nil {
		t.Fatal(err)
	}
	argmaxEqual(t, got, kernels.ArgmaxRef(logits, v))
}

func TestArgmaxMismatchIsAnError(t *testing.T) {
	logits := upload(t, make([]float32, 3*10), gpu.F32, 3, 10)
	cases := []struct {
		name        string
		out, logits *gpu.Tensor
	}{
		{"out is f32", scratch(t, gpu.F32, 3), logits},
		{"out has the wrong rows", scratch(t, gpu.U32, 4), logits},
		{"out has the wrong shape", scratch(t, gpu.U32, 3, 1), logits},
		{"logits are u32", scratch(t, gpu.U32, 3), scratch(t, gpu.U32, 3, 10)},
		{"nil out", nil, logits},
	}
	b := dev.NewBatch()
	for _, c := range cases {
		b.Argmax(c.out, c.logits)
		if err := b.Submit(); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	// The batch is reusable after a failed submit.
	b.Argmax(scratch(t, gpu.U32, 3), logits)
	submit(t, b)
}
