package gpu

import (
	"slices"

	"github.com/nib-editor/nib/kernels"
)

// AttentionArgs configures Attention.
type AttentionArgs struct {
	// Heads and HeadDim are H and D: rows of q, k, v and out are H*D wide,
	// which need not equal d_model. HeadDim is at most 256.
	Heads, HeadDim int
	// Keys is the number of keys in use, at most k.Shape()[1]; 0 means all
	// of them, so that k and v may be a KV cache with spare capacity.
	Keys int
	// Bias is F32 [numBuckets, H], T5's relative_attention_bias weight; nil
	// means no position bias, as in cross-attention.
	Bias *Tensor
	// Buckets is U32 of length at least 2*Tk-1, centred on relative
	// position 0: entry rel+(len-1)/2 is the bucket of relative position
	// rel = key position - query position. A table built once for the
	// longest sequence therefore serves every decode step. Required exactly
	// when Bias is set.
	Buckets *Tensor
	// Mask limits the keys each query sees; Mask.KeyLens is indexed by the
	// batch item of k and v.
	Mask Mask
	// KVRows, U32 [B], makes query batch item b read batch item KVRows[b]
	// of k and v, so that several decoder rows (beams, alternatives) share
	// one encoder output. k and v may then have any batch size; nil means
	// the identity, with k and v of q's batch size.
	KVRows *Tensor
}

// Attention records T5 attention: out[b,i,h,:] = sum_j p(i,j) v[b,j,h,:]
// where p is the masked softmax over keys j of
// q[b,i,h,:].k[b,j,h,:] + Bias[Buckets[j-pos_i+(len-1)/2], h], with no
// 1/sqrt(D) scaling (T5 folds it into its weights). q and out are F32
// [B, Tq, H*D]; k and v are F32 [B, Tcap, H*D] with the first Tk rows used.
// Query i sits at absolute position pos_i = Tk-Tq+i, so the encoder
// (Tq == Tk), a decoder prefill (Tq == Tk, causal) and a decoder step with a
// KV cache (Tq == 1) all fit. With a bias, Tq must not exceed Tk.
func (b *Batch) Attention(out, q, k, v *Tensor, a AttentionArgs) {
	const op = "attention"
	if out == nil || q == nil || k == nil || v == nil {
		b.failf("%s: nil tensor", op)
		return
	}
	if a.Heads <= 0 || a.HeadDim <= 0 || a.HeadDim > kernels.AttentionMaxHeadDim {
		b.failf("%s: %d heads of dim %d; want heads > 0 and dim in [1, %d]",
			op, a.Heads, a.HeadDim, kernels.AttentionMaxHeadDim)
		return
	}
	hd := a.Heads * a.HeadDim
	if q.dtype != F32 || len(q.shape) != 3 || q.shape[2] != hd {
		b.failf("%s: q %s is not f32 [B, Tq, %d]", op, q, hd)
		return
	}
	batch, tq := q.shape[0], q.shape[1]
	kvBatch := batch
	if a.KVRows != nil {
		if a.KVRows.dtype != U32 || a.KVRows.n != batch {
			b.failf("%s: kv rows %s are not u32 [%d]", op, a.KVRows, batch)
			return
		}
		if len(k.shape) == 3 {
			kvBatch = k.shape[0]
		}
	}
	if k.dtype != F32 || len(k.shape) != 3 || k.shape[0] != kvBatch || k.shape[2] != hd {
		b.failf("%s: k %s is not f32 [%d, Tk, %d]", op, k, kvBatch, hd)
		return
	}
	if v.dtype != F32 || !slices.Equal(v.shape, k.shape) {
		b.failf("%s: v %s does not match k %s", op, v, k)
		return
	}
	if out.dtype != F32 || !slices.Equal(out.shape, q.shape) {
		b.failf("%s: out %s does not match q %s", op, out, q)
		return
	}
	tcap := k.shape[1]
	tk := a.Keys
	if tk == 0 {
		tk = tcap
	}
	if tk < 0 || tk > tcap {
		b.failf("%s: %d keys in use, k holds %d", op, a.Keys, tcap)
		return
	}
	if (a.Bias == nil) != (a.Buckets == nil) {
		b.failf("%s: Bias and Buckets must be given together", op)
		return
	}
	if a.Bias != nil {
		if a.Bias.dtype != F32 || len(a.Bias.shape) != 2 || a.Bias.shape[1] != a.Heads {
			b.failf("%s: bias %s is not f32 [buckets, %d]", op, a.Bias, a.Heads)
			return
		}
		if a.Buckets.dtype != U32 || a.Buckets.n < 2*tk-1 {
			b.failf("%s: buckets %s are not u32 with at least %d entries", op, a.Buckets, 2*tk-1)
			return
		}
		if tq > tk {
			b.failf("%s: %d queries over %d keys: relative positions need Tq <= Tk", op, tq, tk)
			return
		}
	}
	if !b.maskOK(op, a.Mask, kvBatch) {
		return
	}
	if out.buf != nil && (out.buf == q.buf || out.buf == k.buf || out.buf == v.buf || (a.Bias != nil && out.buf == a.Bias.buf)) {
		b.failf("%s: out %s is also an input", op, out)
		return
	}

	// Absent optional inputs are replaced by q, which the kernel then does
	// not read: every binding must hold some buffer, and read-only bindings
	// may share one.
	bias, buckets, lens, rowMap := q, q, q, q
	var hasBias, hasLens, hasRows, center uint32
	if a.Bias != nil {
		center = uint32((a.Buckets.n - 1) / 2)
		bias, buckets, hasBias = a.Bias, a.Buckets, 1
	}
	if a.Mask.KeyLens != nil {
		lens, hasLens = a.Mask.KeyLens, 1
	}
	if a.KVRows != nil {
		rowMap, hasRows = a.KVRows, 1
	}
	vec := 1
	if a.HeadDim%4 == 0 {
		vec = 4
	}
	dv := a.HeadDim / vec
	rows := batch * a.Heads * tq
	params := []uint32{
		uint32(a.Heads), uint32(tq), uint32(tk), uint32(tcap), uint32(dv), uint32(rows),
		hasBias, hasLens, a.Mask.causalWord(), center, hasRows,
	}
	if b.d.cpuLayout() && dv <= 32 && tk*(3*dv+2) <= cpuLoopLimit {
		b.dispatch(kernels.AttentionRows, kernels.Defines{"WG": cpuAttentionRowsWG, "V": vec, "DV": dv}, params,
			grid(rows, cpuAttentionRowsWG), q, k, v, bias, buckets, lens, out, rowMap)
		return
	}
	// A chunk of WG keys per step; at least dv threads so that each output
	// element has one.
	wg := max(pow2Workgroup(tk, 32, 256), pow2Workgroup(dv, 32, 256))
	if tq == 1 {
		// A decode step: few workgroups (one per row and head), so each
		// is made as wide as it can be; its latency is the step's.
		wg = 256
	}
	b.dispatch(kernels.Attention, kernels.Defines{"WG": wg, "V": vec}, params, grid(rows, 1),
		q, k, v, bias, buckets, lens, out, rowMap)
}
