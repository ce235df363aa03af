package kernels

import (
	"math"
	"sort"
)

// TopK writes, for each row of a [rows, v] f32 array of logits, the k
// largest values best first as indices and log-probabilities (value minus
// the row's logsumexp): what beam search and sampling need, read back as 2k
// numbers per row. Ties go to the lowest index; NaN ranks highest.
// Defines["WG"], the invocations per row, must be a power of two; k must
// not exceed v.
var TopK = register(&Kernel{
	Name:     "topk",
	File:     "topk.wgsl",
	Buffers:  []Access{Read, ReadWrite, ReadWrite},
	Defaults: Defines{"WG": 256},
})

// TopKRef is the reference for TopK over rows of v values in x, with the
// logsumexp in float64.
func TopKRef(x []float32, v, k int) (ids []uint32, logprobs []float32) {
	rows := len(x) / v
	for r := range rows {
		row := x[r*v : (r+1)*v]
		m := math.Inf(-1)
		for _, f := range row {
			m = math.Max(m, float64(f))
		}
		var s float64
		for _, f := range row {
			s += math.Exp(float64(f) - m)
		}
		lse := m + math.Log(s)
		order := make([]int, v)
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return row[order[a]] > row[order[b]] })
		for _, j := range order[:k] {
			ids = append(ids, uint32(j))
			logprobs = append(logprobs, float32(float64(row[j])-lse))
		}
	}
	return ids, logprobs
}

// ArgmaxRef is torch.argmax over rows of v values in x: ties go to the
// lowest index and the first NaN wins. TopK's first pick and FMatVec's
// fused argmax follow it.
func ArgmaxRef(x []float32, v int) []uint32 {
	out := make([]uint32, len(x)/v)
	for r := range out {
		row := x[r*v : (r+1)*v]
		best := 0
		for j, f := range row {
			b := row[best]
			if math.IsNaN(float64(b)) {
				break
			}
			if math.IsNaN(float64(f)) || f > b {
				best = j
			}
		}
		out[r] = uint32(best)
	}
	return out
}
