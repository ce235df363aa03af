package kernels

import "math"

// Attention is T5 attention (relative position bias, no 1/sqrt(d)
// scaling, prefix masks) of one query of one head per workgroup, over any
// number of keys. Defines: WG, a power of two at least the head dim in
// vectors, is both the threads per workgroup and the keys per chunk; V (1
// or 4) is the vector width of q, k, v and out rows, 4 only when the head
// dim is a multiple of 4.
var Attention = register(&Kernel{
	Name:     "attention",
	File:     "attention.wgsl",
	Buffers:  []Access{Read, Read, Read, Read, Read, Read, ReadWrite, Read},
	Defaults: Defines{"WG": 256, "V": 1, "RED2": false},
})

// AttentionMaxHeadDim bounds the head dim: one head of q sits in workgroup
// memory.
const AttentionMaxHeadDim = 256

// AttentionArgs describes one reference attention call. Rows of q and out
// are [Batch, Queries, Heads*HeadDim]; rows of k and v are
// [Batch, Capacity, Heads*HeadDim], of which the first Keys are used.
type AttentionArgs struct {
	Batch, Queries, Keys, Capacity int
	Heads, HeadDim                 int
	// Bias is [buckets, Heads], T5's relative_attention_bias; nil means no
	// position bias.
	Bias []float32
	// Buckets[rel+(len(Buckets)-1)/2] is the bucket of rel = key
	// position - query position: the table is centred on relative position
	// 0, so one table built for the longest sequence serves every length.
	Buckets []uint32
	Mask    Mask
	// KVRows[b], when set, is the batch item of k, v and Mask.KeyLens that
	// query batch item b reads; k and v then hold their own number of
	// batch items.
	KVRows []uint32
}

// AttentionRef is the reference for Attention: query i sits at absolute
// position Keys-Queries+i; scores are q.k plus the bucketed bias, softmaxed
// over the visible keys (zeros when none are) and used to weight v. It
// accumulates in float64.
func AttentionRef(q, k, v []float32, a AttentionArgs) []float32 {
	hd := a.Heads * a.HeadDim
	out := make([]float32, a.Batch*a.Queries*hd)
	scores := make([]float64, a.Keys)
	acc := make([]float64, a.HeadDim)
	for b := range a.Batch {
		kb := b
		if a.KVRows != nil {
			kb = int(a.KVRows[b])
		}
		for h := range a.Heads {
			for i := range a.Queries {
				n := a.Mask.Visible(kb, i, a.Queries, a.Keys)
				qrow := q[(b*a.Queries+i)*hd+h*a.HeadDim:][:a.HeadDim]
				mx := math.Inf(-1)
				for j := range n {
					krow := k[(kb*a.Capacity+j)*hd+h*a.HeadDim:][:a.HeadDim]
					var s float64
					for d, qv := range qrow {
						s += float64(qv) * float64(krow[d])
					}
					if a.Bias != nil {
						pos := a.Keys - a.Queries + i
						s += float64(a.Bias[int(a.Buckets[j-pos+(len(a.Buckets)-1)/2])*a.Heads+h])
					}
					scores[j] = s
					mx = max(mx, s)
				}
				clear(acc)
				var sum float64
				for j := range n {
					p := math.Exp(scores[j] - mx)
					sum += p
					vrow := v[(kb*a.Capacity+j)*hd+h*a.HeadDim:][:a.HeadDim]
					for d, vv := range vrow {
						acc[d] += p * float64(vv)
					}
				}
				orow := out[(b*a.Queries+i)*hd+h*a.HeadDim:][:a.HeadDim]
				for d := range orow {
					if n > 0 {
						orow[d] = float32(acc[d] / sum)
					}
				}
			}
		}
	}
	return out
}

// AttentionRows is Attention laid out for a CPU: one invocation per query
// of one head, the keys in a loop, no workgroup memory. Reference:
// AttentionRef. Defines: WG, the invocations per workgroup; V as
// Attention's; DV, the head dim in vectors of V floats.
var AttentionRows = register(&Kernel{
	Name:     "attention_rows",
	File:     "attention_rows.wgsl",
	Buffers:  []Access{Read, Read, Read, Read, Read, Read, ReadWrite, Read},
	Defaults: Defines{"WG": 8, "V": 1, "DV": 64},
})
