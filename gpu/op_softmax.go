package gpu

import (
	"math/bits"

	"github.com/nib-editor/nib/kernels"
)

// Mask says which keys each query may attend to. Both conditions keep a
// prefix of each query's keys; masked keys get probability exactly 0, and a
// query that sees no key gets all zeros rather than NaN.
type Mask struct {
	// KeyLens is U32 [B]: keys j >= KeyLens[b] are padding; nil means every
	// key is valid.
	KeyLens *Tensor
	// Causal lets query i, at absolute position Tk-Tq+i, see only keys
	// j <= Tk-Tq+i, so that a decoder step with a KV cache (Tq == 1) and a
	// prefill (Tq == Tk) share one rule.
	Causal bool
}

// Softmax records a masked softmax in place over the last dimension of x,
// F32 [B, H, Tq, Tk]: each row has its maximum subtracted before
// exponentiation, so large scores do not overflow.
func (b *Batch) Softmax(x *Tensor, m Mask) {
	const op = "softmax"
	if x == nil {
		b.failf("%s: nil tensor", op)
		return
	}
	if x.dtype != F32 || len(x.shape) != 4 {
		b.failf("%s: %s is not f32 [B, H, Tq, Tk]", op, x)
		return
	}
	batch, heads, tq, tk := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	if !b.maskOK(op, m, batch) {
		return
	}
	rows := batch * heads * tq
	defs := kernels.Defines{"WG": pow2Workgroup(tk, 32, 256)}
	params := []uint32{uint32(rows), uint32(heads), uint32(tq), uint32(tk), m.causalWord()}
	if m.KeyLens == nil {
		b.dispatch(kernels.Softmax, defs, params, grid(rows, 1), x)
		return
	}
	b.dispatch(kernels.SoftmaxLens, defs, params, grid(rows, 1), x, m.KeyLens)
}

// maskOK checks m for a batch of the given size, recording a failure.
func (b *Batch) maskOK(op string, m Mask, batch int) bool {
	if m.KeyLens != nil && (m.KeyLens.dtype != U32 || m.KeyLens.n != batch) {
		b.failf("%s: key lengths %s are not u32 [%d]", op, m.KeyLens, batch)
		return false
	}
	return true
}

// pow2Workgroup returns the smallest power of two >= n, clamped to
// [lo, hi]: a workgroup that covers n elements without idling most of its
// threads when n is small.
func pow2Workgroup(n, lo, hi int) int {
	if n <= lo {
		return lo
	}
	if n >= hi {
		return hi
	}
	return 1 << bits.Len(uint(n-1))
}

// causalWord is the kernels' causal flag.
func (m Mask) causalWord() uint32 {
	if m.Causal {
		return 1
	}
	return 0
}
