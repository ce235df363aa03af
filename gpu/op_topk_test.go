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

func topkRead(t *testing.T, logits []float32, v, k int) ([]uint32, []float32) {
	t.Helper()
	rows := len(logits) / v
	ids, lp := scratch(t, gpu.U32, rows, k), scratch(t, gpu.F32, rows, k)
	b := dev.NewBatch()
	b.TopK(ids, lp, upload(t, logits, gpu.F32, rows, v), k)
	ri, rl := b.Read(ids), b.Read(lp)
	submit(t, b)
	gi, err := ri.U32()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rl.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	gl := make([]float32, rows*k)
	for i := range gl {
		gl[i] = math.Float32frombits(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24)
	}
	return gi, gl
}

// TestTopK compares with the reference on random rows with planted ties.
// Indices are exact; log-probabilities within 1e-5 absolute (f32 sums of
// exp over up to 32128 values against a float64 reference).
func TestTopK(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, v := range append(sizes, 32128) {
		for _, k := range []int{1, 2, 5, 50} {
			if k > v {
				continue
			}
			t.Run(fmt.Sprintf("v=%d/k=%d", v, k), func(t *testing.T) {
				const rows = 3
				logits := randF32(rng, rows*v, 8)
				for r := range rows {
					// A tie at the top and one lower down.
					p, q := rng.IntN(v), rng.IntN(v)
					logits[r*v+p], logits[r*v+q] = 9, 9
					logits[r*v+rng.IntN(v)] = 8.5
				}
				wantIDs, wantLP := kernels.TopKRef(logits, v, k)
				gotIDs, gotLP := topkRead(t, logits, v, k)
				if !slices.Equal(gotIDs, wantIDs) {
					t.Fatalf("ids %v, want %v", gotIDs, wantIDs)
				}
				for i := range wantLP {
					if d := math.Abs(float64(gotLP[i] - wantLP[i])); d > 1e-5 {
						t.Fatalf("logprob %d = %g, want %g", i, gotLP[i], wantLP[i])
					}
				}
			})
		}
	}
}

// TestTopKArgmaxAgree: round 0 of TopK is argmax, on rows with infinities.
func TestTopKArgmaxAgree(t *testing.T) {
	v := 1000
	logits := make([]float32, 2*v)
	logits[17] = float32(math.Inf(1))
	logits[v+999] = float32(math.Inf(-1))
	logits[v+3] = 2
	ids, _ := topkRead(t, logits, v, 3)
	if ids[0] != 17 || ids[3] != 3 {
		t.Fatalf("top ids %v", ids)
	}
	// Ties among the zeros come lowest index first, skipping the picks.
	if ids[1] != 0 || ids[2] != 1 || ids[4] != 0 || ids[5] != 1 {
		t.Fatalf("tie order %v", ids)
	}
}

func TestTopKErrors(t *testing.T) {
	logits := scratch(t, gpu.F32, 2, 10)
	cases := map[string]func(b *gpu.Batch){
		"k too large": func(b *gpu.Batch) { b.TopK(scratch(t, gpu.U32, 2, 11), scratch(t, gpu.F32, 2, 11), logits, 11) },
		"k zero":      func(b *gpu.Batch) { b.TopK(scratch(t, gpu.U32, 2, 1), scratch(t, gpu.F32, 2, 1), logits, 0) },
		"wrong ids":   func(b *gpu.Batch) { b.TopK(scratch(t, gpu.F32, 2, 3), scratch(t, gpu.F32, 2, 3), logits, 3) },
		"short out":   func(b *gpu.Batch) { b.TopK(scratch(t, gpu.U32, 1, 3), scratch(t, gpu.F32, 2, 3), logits, 3) },
	}
	for name, rec := range cases {
		b := dev.NewBatch()
		rec(b)
		if b.Submit() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// firstPick returns TopK's first index of each row of v logits: argmax,
// which greedy decoding's fused argmax must agree with. Indices are exact:
// the tests compare them for equality.
func firstPick(t *testing.T, logits []float32, v int) []uint32 {
	t.Helper()
	ids, _ := topkRead(t, logits, v, 1)
	return ids
}

func argmaxEqual(t *testing.T, got, want []uint32) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("argmax = %v, want %v", got, want)
	}
}

func TestTopKFirstPickIsArgmax(t *testing.T) {
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
				argmaxEqual(t, firstPick(t, logits, v), want)
			})
		}
	}
}

// TestTopKFirstPickSpecial places ties, signed zeros, infinities and NaNs
// on purpose, in rows of one batch.
func TestTopKFirstPickSpecial(t *testing.T) {
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
			argmaxEqual(t, firstPick(t, logits, v), want)
		})
	}
}

// TestTopKManyRows has more rows than one dimension of workgroups holds.
func TestTopKManyRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const rows, v = 70000, 3
	logits := randF32(rng, rows*v, 1)
	argmaxEqual(t, firstPick(t, logits, v), kernels.ArgmaxRef(logits, v))
}
