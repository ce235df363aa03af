package kernels

import "math"

// FMatVec is the decode-step projection with its neighbours fused in: an
// optional RMS normalisation of x (NORM; T5's layer-norm weight is folded
// into w), an optional activation (ACT "relu" or "gelu_new"), the gated
// product of two stacked weight halves (GATE), and an optional residual
// added to the output (RES). Buffers: x, w, res (bound to x when RES is
// off), out. Defines: W (the weights' dtype), M (rows of x in a block),
// VEC (16-byte loads), WG, TPR (invocations to a weight row), RPI (weight
// rows per invocation), K, UNROLL (loops over K of constant count), NORM,
// GATE (bools), ACT ("" for none), RES (bool), and BLOCKS (several blocks
// of rows of x, along the grid's third dimension).
var FMatVec = register(&Kernel{
	Name:     "fmatvec",
	File:     "fmatvec.wgsl",
	Buffers:  []Access{Read, Read, Read, ReadWrite},
	Defaults: Defines{"W": "f32", "VEC": false, "M": 1, "WG": 256, "TPR": 32, "RPI": 1, "NORM": false, "GATE": false, "ACT": "", "RES": false, "ARGMAX": false, "K": 64, "UNROLL": false, "BLOCKS": false},
})

// MatVecMaxRows is the most rows of x in one of FMatVec's blocks (its M);
// more rows run as several blocks, side by side.
const MatVecMaxRows = 8

// FMatVecArgmax is FMatVec that also writes, for each x row and
// workgroup, the workgroup's best output (key and index) and the sum of
// exponentials relative to it into a fifth buffer: the first stage of a
// greedy step's argmax and log-probability, finished by ArgmaxCombine.
var FMatVecArgmax = register(&Kernel{
	Name:     "fmatvec_argmax",
	File:     "fmatvec.wgsl",
	Buffers:  []Access{Read, Read, Read, ReadWrite, ReadWrite},
	Defaults: Defines{"W": "f32", "VEC": false, "M": 1, "WG": 256, "TPR": 32, "RPI": 1, "NORM": false, "GATE": false, "ACT": "", "RES": false, "ARGMAX": true, "K": 64, "UNROLL": false, "BLOCKS": false},
})

// ArgmaxCombine finishes FMatVecArgmax: per row, the index of the largest
// value (lowest index on ties, NaN first as in argmax) and its
// log-softmax, from the per-workgroup partials. Defines: WG, PER (the
// partials per row over WG, rounded up).
var ArgmaxCombine = register(&Kernel{
	Name:     "argmax_combine",
	File:     "argmax_combine.wgsl",
	Buffers:  []Access{Read, ReadWrite, ReadWrite},
	Defaults: Defines{"WG": 256, "PER": 1, "HIST": false},
})

// ArgmaxCombineHist is ArgmaxCombine that also writes each row's choice
// into a history at the step's position (state[0]), then advances the
// position by one (state[1] is its ticket, zero between dispatches).
// Buffers: partials, ids, lp, state, hist, hist_lp.
var ArgmaxCombineHist = register(&Kernel{
	Name:     "argmax_combine_hist",
	File:     "argmax_combine.wgsl",
	Buffers:  []Access{Read, ReadWrite, ReadWrite, ReadWrite, ReadWrite, ReadWrite},
	Defaults: Defines{"WG": 256, "PER": 1, "HIST": true},
})

// FMatVecArgs describe one fused product for FMatVecRef.
type FMatVecArgs struct {
	M, N, K int
	// WOff is the first weight row used.
	WOff int
	// Norm scales each row of x by 1/sqrt(mean(x^2)+Eps).
	Norm bool
	Eps  float32
	// Gate multiplies act(row n) by row N+n (both from WOff).
	Gate bool
	// Act is "", "relu" or "gelu_new".
	Act string
	// Res, when set, is added to the output [M, N].
	Res []float32
}

// FMatVecRef is the reference for FMatVec, in float64.
func FMatVecRef(x, w []float32, a FMatVecArgs) []float32 {
	out := make([]float32, a.M*a.N)
	dot := func(m, row int) float64 {
		var s float64
		for k := range a.K {
			s += float64(x[m*a.K+k]) * float64(w[row*a.K+k])
		}
		return s
	}
	act := func(v float64) float64 {
		switch a.Act {
		case "relu":
			return math.Max(v, 0)
		case "gelu_new":
			return 0.5 * v * (1 + math.Tanh(0.7978845608028654*(v+0.044715*v*v*v)))
		}
		return v
	}
	for m := range a.M {
		s := 1.0
		if a.Norm {
			var ss float64
			for k := range a.K {
				ss += float64(x[m*a.K+k]) * float64(x[m*a.K+k])
			}
			s = 1 / math.Sqrt(ss/float64(a.K)+float64(a.Eps))
		}
		for n := range a.N {
			v := act(s * dot(m, a.WOff+n))
			if a.Gate {
				v *= s * dot(m, a.WOff+a.N+n)
			}
			if a.Res != nil {
				v += float64(a.Res[m*a.N+n])
			}
			out[m*a.N+n] = float32(v)
		}
	}
	return out
}
