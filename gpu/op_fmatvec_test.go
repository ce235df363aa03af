package gpu_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/kernels"
)

// fmatvecShape is an FMatVec test case's size: m rows of x, n outputs
// from rows woff.. of a weight with rows of k.
type fmatvecShape struct{ m, n, k, woff int }

// TestFMatVec compares every fused form with the reference on awkward
// sizes of a decode step's rows, f32, f16 and q8 weights, vector and
// scalar loads.
func TestFMatVec(t *testing.T) {
	shapes := []fmatvecShape{{1, 33, 40, 0}, {3, 7, 64, 5}, {8, 100, 96, 0}, {5, 1, 7, 2}, {2, 1000, 768, 24}, {1, 50, 4160, 1}, {3, 40, 384, 3}}
	bothLayouts(t, func(t *testing.T) { testFMatVec(t, shapes, 41) })
}

// TestFMatVecPrompt: a prompt's many rows run in blocks of 8 side by
// side, the last one short.
func TestFMatVecPrompt(t *testing.T) {
	shapes := []fmatvecShape{{13, 70, 96, 2}, {64, 33, 512, 0}, {9, 5, 7, 1}}
	bothLayouts(t, func(t *testing.T) { testFMatVec(t, shapes, 45) })
}

func testFMatVec(t *testing.T, shapes []fmatvecShape, seed uint64) {
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
	rng := rand.New(rand.NewPCG(seed, seed+1))
	for _, dtype := range []gpu.DType{gpu.F32, gpu.F16, gpu.Q8} {
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
					switch dtype {
					case gpu.F16:
						w = roundF16(w)
					case gpu.Q8:
						w = gpu.RoundQ8(w)
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
		"too many rows for argmax": func(b *gpu.Batch) {
			b.FMatVec(scratch(t, gpu.F32, 9, 10), scratch(t, gpu.F32, 9, 8), w, gpu.FusedArgs{Argmax: scratch(t, gpu.U32, 1000)})
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

// TestFMatVecArgmax: the fused argmax gives TopK's first id and
// log-probability, on vocabulary-sized rows with planted ties.
func TestFMatVecArgmax(t *testing.T) { bothLayouts(t, testFMatVecArgmax) }

func testFMatVecArgmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for _, s := range []struct{ m, n, k int }{{1, 32128, 64}, {3, 1000, 40}, {8, 77, 96}, {2, 5, 7}, {6, 9000, 40}} {
		for _, dtype := range []gpu.DType{gpu.F32, gpu.F16} {
			t.Run(fmt.Sprintf("%s/M%d_N%d_K%d", dtype, s.m, s.n, s.k), func(t *testing.T) {
				x := randF32(rng, s.m*s.k, 1)
				w := randF32(rng, s.n*s.k, 1)
				if dtype == gpu.F16 {
					w = roundF16(w)
				}
				// A tie for the top in row 0: two weight rows equal to
				// the best one, so their outputs are bit-identical.
				logits := kernels.FMatVecRef(x, w, kernels.FMatVecArgs{M: s.m, N: s.n, K: s.k})
				if s.n > 3 {
					best := 0
					for i := range s.n {
						if logits[i] > logits[best] {
							best = i
						}
					}
					lo := min(best, s.n-2)
					copy(w[(lo+1)*s.k:(lo+2)*s.k], w[best*s.k:(best+1)*s.k])
					copy(w[lo*s.k:(lo+1)*s.k], w[best*s.k:(best+1)*s.k])
				}
				logitsGPU := scratch(t, gpu.F32, s.m, s.n)
				part := scratch(t, gpu.U32, dev.ArgmaxPartials(s.m, s.n, s.k, dtype))
				ids, lp := scratch(t, gpu.U32, s.m), scratch(t, gpu.F32, s.m)
				b := dev.NewBatch()
				b.FMatVec(logitsGPU, upload(t, x, gpu.F32, s.m, s.k), upload(t, w, dtype, s.n, s.k), gpu.FusedArgs{Argmax: part})
				b.ArgmaxCombine(ids, lp, part, s.m, s.n, s.k, dtype)
				submit(t, b)
				got := download(t, logitsGPU)
				wantIDs, wantLP := kernels.TopKRef(got, s.n, 1)
				gotIDs, err := ids.ReadU32()
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(gotIDs) != fmt.Sprint(wantIDs) {
					t.Fatalf("ids %v, want %v", gotIDs, wantIDs)
				}
				// Tolerance: f32 sums of exp in another grouping.
				closeTo(t, download(t, lp), wantLP, 1e-5, 1e-5)

				// The history's combine, twice in one submission: each
				// writes its step's row of the history at the position it
				// reads, and advances the position by one.
				const pos, steps = 2, 4
				state, err := dev.UploadU32([]uint32{pos, 0, 0, 0}, 4)
				if err != nil {
					t.Fatal(err)
				}
				defer state.Close()
				hist, histLP := scratch(t, gpu.U32, steps*s.m), scratch(t, gpu.F32, steps*s.m)
				b = dev.NewBatch()
				for range 2 {
					b.ArgmaxCombineHist(ids, lp, part, s.m, s.n, s.k, dtype, gpu.History{State: state, IDs: hist, LogProbs: histLP})
				}
				submit(t, b)
				gotState, err := state.ReadU32()
				if err != nil {
					t.Fatal(err)
				}
				if want := []uint32{pos + 2, 0, 0, 0}; fmt.Sprint(gotState) != fmt.Sprint(want) {
					t.Fatalf("state %v after two combines, want %v", gotState, want)
				}
				gotHist, err := hist.ReadU32()
				if err != nil {
					t.Fatal(err)
				}
				gotHistLP := download(t, histLP)
				for step := pos; step < pos+2; step++ {
					row := gotHist[step*s.m : (step+1)*s.m]
					if fmt.Sprint(row) != fmt.Sprint(wantIDs) {
						t.Fatalf("history at %d: %v, want %v", step, row, wantIDs)
					}
					closeTo(t, gotHistLP[step*s.m:(step+1)*s.m], wantLP, 1e-5, 1e-5)
				}
			})
		}
	}
}

// TestFMatVecWithinDefaultStorage runs the gated product of 8 rows, whose
// widest layout needs 16416 bytes of workgroup storage, on a device that
// grants WebGPU's default 16384 (Chromium refused that layout with a
// validation error): FMatVec narrows its workgroups, and the result must
// still match the reference.
func TestFMatVecWithinDefaultStorage(t *testing.T) {
	bothLayouts(t, func(t *testing.T) {
		defer dev.LimitWorkgroupStorage(16 << 10)()
		// 8 gated rows of a step, and a prompt's blocks: their GPU layout
		// (two gated weight rows an invocation) needs 16 416 bytes of
		// partials in workgroups of 128, so it runs in workgroups of 64.
		for _, m := range []int{8, 20} {
			const n, k = 100, 96
			rng := rand.New(rand.NewPCG(5, uint64(m)))
			x, w := randF32(rng, m*k, 2), randF32(rng, 2*n*k, 0.5)
			out := scratch(t, gpu.F32, m, n)
			b := dev.NewBatch()
			b.FMatVec(out, upload(t, x, gpu.F32, m, k), upload(t, w, gpu.F32, 2*n, k),
				gpu.FusedArgs{N: n, Norm: true, Eps: 1e-6, Gate: true, Act: "gelu_new"})
			submit(t, b)
			want := kernels.FMatVecRef(x, w, kernels.FMatVecArgs{M: m, N: n, K: k, Norm: true, Eps: 1e-6, Gate: true, Act: "gelu_new"})
			closeTo(t, download(t, out), want, 2e-4, 2e-4)
		}
	})
}
