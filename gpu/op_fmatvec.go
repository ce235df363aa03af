package gpu

import (
	"math"

	"github.com/nib-editor/nib/kernels"
)

// FusedArgs say what FMatVec fuses around its product.
type FusedArgs struct {
	// WOff is the first weight row used and N the number of outputs (with
	// Gate, rows WOff..WOff+N-1 are the gate and WOff+N..WOff+2N-1 the
	// up projection). N 0 means all rows of w from WOff (half of them with
	// Gate).
	WOff, N int
	// Norm scales each row of x by its inverse RMS, with Eps: T5's layer
	// norm, whose weight the caller has folded into w's columns.
	Norm bool
	Eps  float32
	// Gate multiplies the activated gate by the up projection.
	Gate bool
	// Act is "" (none), "relu" or "gelu_new", applied to the product (the
	// gate, with Gate).
	Act string
	// Res, when set, is added to the output; it must not be out.
	Res *Tensor
	// Argmax, when set, is a U32 tensor of at least ArgmaxPartials
	// elements that receives the first stage of an argmax and
	// logsumexp over each row of the output; ArgmaxCombine finishes it.
	Argmax *Tensor
}

// ArgmaxPartials returns the number of U32 elements FusedArgs.Argmax needs
// on d for m rows of n outputs of a weight with rows of k elements of
// dtype w.
func (d *Device) ArgmaxPartials(m, n, k int, w DType) int {
	l := d.fmatvecLayout(m, k, n, w, false)
	return argmaxPartials(m, n, l.rows())
}

// matvecLayout is how a matrix-vector kernel spreads its work: vector
// loads or not, the workgroup size, invocations per weight row, and output
// rows per invocation.
type matvecLayout struct {
	vec          bool
	wg, tpr, rpi int
	// unroll makes FMatVec's loops along K count to a constant, so that
	// they unroll: one row of x on a GPU (BENCHMARKS.md: base decoding
	// 1 657 to 1 710 tok/s on the H100, where batches of 8 rows lost 6%).
	unroll bool
}

// rows is the number of outputs per workgroup.
func (l matvecLayout) rows() int { return l.wg / l.tpr * l.rpi }

// fmatvecLayout returns FMatVec's layout for m rows of x, rows of k
// weights of dtype w and n outputs (gated or not).
func (d *Device) fmatvecLayout(m, k, n int, w DType, gate bool) matvecLayout {
	per := loadWidth(w)
	l := matvecLayout{vec: vecRows(k, w), rpi: 1}
	l.wg, l.tpr, l.rpi = d.fmatvecShape((k+per-1)/per, n, m, gate)
	l.unroll = m == 1 && !d.cpuLayout()
	return l
}

func argmaxPartials(m, n, rows int) int { return m * (n + rows - 1) / rows * 3 }

// fmatvecShape is matvecShape for a decode step's fused products over m
// rows of x (gated or not), whose latency is the step's: up to 8192 outputs, 32 invocations per row (in
// workgroups of 256) beat 16 on the H100 for d_model-long rows
// (BENCHMARKS.md: 3.4 against 5.9 µs for a 768x768 output projection);
// the lm_head's 32128 rows keep matvecShape's choice, as does a CPU. q8
// rows, a load per block of 32, take the same (4.4 against 5.1 µs for a
// q8 768x768 projection in workgroups of 128 with 8 per row).
func (d *Device) fmatvecShape(loads, n, m int, gate bool) (wg, tpr, rpi int) {
	if m > kernels.MatVecMaxRows {
		return d.promptShape(loads, gate)
	}
	if matvecShapeOverride != nil || d.cpuLayout() {
		return d.matvecShape(loads)
	}
	if matvecRows(m) == 8 && (gate || n > 8192) {
		// Steps of 5 to 8 rows (batches, beams): the gated feed-forward
		// and the lm_head apply each weight load to 8 rows of x, and do
		// best with fewer invocations per row. On the H100 at 8 rows:
		// 7.5 against 14.7 µs and 87 against 106-127 µs (BENCHMARKS.md);
		// the other products keep their layout, which measured best.
		return 128, 8, 1
	}
	if loads <= 128 && n <= 8192 {
		return 256, 32, 1
	}
	return d.matvecShape(loads)
}

// loadWidth is the number of weights one invocation loads at a time on
// the vector path: 16 bytes of f32 or f16, or a whole q8 block (two
// 16-byte loads and its scale).
func loadWidth(w DType) int {
	switch w {
	case F16:
		return 8
	case Q8:
		return Q8Block
	}
	return 4
}

// vecRows says whether rows of k weights of dtype w take the kernels'
// vector path: every row must start at a load, a q8 row at a superblock.
func vecRows(k int, w DType) bool {
	if w == Q8 {
		return k%Q8Super == 0
	}
	return k%loadWidth(w) == 0
}

// FMatVec records out = act(norm(x) w^T) (+ res): x is F32 [M, K], w
// [rows, K] in F32, F16 or Q8, out F32 [M, N]. One dispatch replaces a
// norm, a projection, an activation (or a gated product) and a residual
// add. It is made for the few rows of a decode step (up to
// kernels.MatVecMaxRows, with Argmax at most that many); more rows, a
// prompt's, run in blocks of that many side by side, each reading the
// weights, as MatMul runs prompts of up to matvecMaxPromptRows rows.
func (b *Batch) FMatVec(out, x, w *Tensor, a FusedArgs) {
	const op = "fmatvec"
	if out == nil || x == nil || w == nil {
		b.failf("%s: nil tensor", op)
		return
	}
	if len(w.shape) != 2 || (w.dtype != F32 && w.dtype != F16 && w.dtype != Q8) {
		b.failf("%s: weight %s is not a 2-D f32, f16 or q8 matrix", op, w)
		return
	}
	rows, k := w.shape[0], w.shape[1]
	n := a.N
	halves := 1
	if a.Gate {
		halves = 2
	}
	if n == 0 {
		n = (rows - a.WOff) / halves
	}
	if a.WOff < 0 || n <= 0 || a.WOff+halves*n > rows {
		b.failf("%s: %d outputs from row %d of weight %s", op, n, a.WOff, w)
		return
	}
	if x.dtype != F32 || x.shape[len(x.shape)-1] != k {
		b.failf("%s: input %s does not end in K=%d of weight %s", op, x, k, w)
		return
	}
	m := x.n / k
	if m < 1 || (a.Argmax != nil && m > kernels.MatVecMaxRows) {
		b.failf("%s: %d rows; the fused kernel takes 1 to %d with Argmax, and at least 1", op, m, kernels.MatVecMaxRows)
		return
	}
	if out.dtype != F32 || out.n != m*n {
		b.failf("%s: output %s is not f32 with %d rows of %d", op, out, m, n)
		return
	}
	switch a.Act {
	case "", "relu", "gelu_new":
	default:
		b.failf("%s: unknown activation %q", op, a.Act)
		return
	}
	res := x
	if a.Res != nil {
		if a.Res.dtype != F32 || a.Res.n != m*n || a.Res.buf == out.buf {
			b.failf("%s: residual %s is not a distinct f32 tensor of %d values", op, a.Res, m*n)
			return
		}
		res = a.Res
	}
	if out.buf == x.buf || out.buf == w.buf {
		b.failf("%s: out %s is also an input", op, out)
		return
	}
	l := b.d.fmatvecLayout(m, k, n, w.dtype, a.Gate)
	mPad := matvecRows(min(m, kernels.MatVecMaxRows)) // the kernel's M: a block of rows of x, padded to a power of two
	if a.Argmax == nil && l.tpr > 1 {
		// A workgroup keeps WG*M*G partial sums and M scales: 16416 bytes
		// for 8 gated rows in groups of 256, over WebGPU's default (and
		// some adapters' only) 16 KiB. Halving the group keeps it within
		// the device's limit. (Argmax layouts are fixed by ArgmaxPartials.)
		gates := 1
		if a.Gate {
			gates = 2
		}
		for l.wg > l.tpr && uint64(4*(l.wg*mPad*gates*l.rpi+mPad)) > uint64(b.d.limits.MaxComputeWorkgroupStorageSize) {
			l.wg /= 2
		}
	}
	defs := kernels.Defines{"W": w.dtype.String(), "M": mPad, "VEC": l.vec, "WG": l.wg, "TPR": l.tpr, "RPI": l.rpi,
		"NORM": a.Norm, "GATE": a.Gate, "ACT": a.Act, "RES": a.Res != nil, "K": k, "UNROLL": l.unroll,
		"BLOCKS": m > kernels.MatVecMaxRows}
	params := []uint32{uint32(m), uint32(n), uint32(k), uint32(a.WOff), math.Float32bits(a.Eps)}
	if a.Argmax != nil {
		need := argmaxPartials(m, n, l.rows())
		if a.Argmax.dtype != U32 || a.Argmax.n < need || a.Argmax.buf == out.buf {
			b.failf("%s: argmax partials %s are not a distinct u32 tensor of at least %d", op, a.Argmax, need)
			return
		}
		defs["ARGMAX"] = true
		b.dispatch(kernels.FMatVecArgmax, defs, params, grid(n, l.rows()), x, w, res, out, a.Argmax)
		return
	}
	groups := grid(n, l.rows())
	groups[2] = uint32((m + mPad - 1) / mPad)
	b.dispatch(kernels.FMatVec, defs, params, groups, x, w, res, out)
}

// ArgmaxCombine records the second stage of FMatVec's Argmax: for each of
// the m rows, ids[r] (U32) gets the index of the largest output (lowest on
// ties, NaN first, as torch.argmax) and lp[r] (F32) its log-softmax over the n
// outputs. partials is FusedArgs.Argmax of that FMatVec, which had k
// inputs per row and weights of dtype w.
func (b *Batch) ArgmaxCombine(ids, lp, partials *Tensor, m, n, k int, w DType) {
	if groups, ok := b.argmaxCombineCheck(ids, lp, partials, m, n, k, w); ok {
		b.dispatch(kernels.ArgmaxCombine, combineDefines(groups), []uint32{uint32(m), uint32(groups)},
			[3]uint32{uint32(m), 1, 1}, partials, ids, lp)
	}
}

// combineDefines lays out an argmax combine over groups partials a row.
func combineDefines(groups int) kernels.Defines {
	const wg = 256
	return kernels.Defines{"WG": wg, "PER": (groups + wg - 1) / wg}
}

// History keeps the choices of greedy steps: ArgmaxCombineHist writes row
// r's id and log-probability of the step at position State[0] into
// IDs[pos*rows + r] and LogProbs[pos*rows + r], then advances State[0] by
// one for the next step (State[1], its ticket, must be zero), so that
// recorded steps can follow each other on the GPU with no host in
// between.
type History struct {
	State, IDs, LogProbs *Tensor
}

// ArgmaxCombineHist is ArgmaxCombine that also records the step's choices
// in h and advances its position.
func (b *Batch) ArgmaxCombineHist(ids, lp, partials *Tensor, m, n, k int, w DType, h History) {
	if h.State == nil || h.IDs == nil || h.LogProbs == nil {
		b.failf("argmax combine: nil tensor")
		return
	}
	groups, ok := b.argmaxCombineCheck(ids, lp, partials, m, n, k, w)
	if !ok {
		return
	}
	if h.State.dtype != U32 || h.State.n < 2 || h.IDs.dtype != U32 || h.LogProbs.dtype != F32 || h.IDs.n != h.LogProbs.n || h.IDs.n%m != 0 {
		b.failf("argmax combine: history %s, %s, state %s", h.IDs, h.LogProbs, h.State)
		return
	}
	b.dispatch(kernels.ArgmaxCombineHist, combineDefines(groups), []uint32{uint32(m), uint32(groups)},
		[3]uint32{uint32(m), 1, 1}, partials, ids, lp, h.State, h.IDs, h.LogProbs)
}

// argmaxCombineCheck validates the arguments both combines share and
// returns the number of partials per row.
func (b *Batch) argmaxCombineCheck(ids, lp, partials *Tensor, m, n, k int, w DType) (int, bool) {
	const op = "argmax combine"
	if ids == nil || lp == nil || partials == nil {
		b.failf("%s: nil tensor", op)
		return 0, false
	}
	need := b.d.ArgmaxPartials(m, n, k, w)
	if partials.dtype != U32 || partials.n < need || ids.dtype != U32 || ids.n != m || lp.dtype != F32 || lp.n != m {
		b.failf("%s: ids %s, lp %s, partials %s for %d rows", op, ids, lp, partials, m)
		return 0, false
	}
	return need / 3 / m, true
}
