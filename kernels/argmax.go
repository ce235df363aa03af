package kernels

import "math"

// Argmax writes, for each row of a [rows, v] f32 array, the index of its
// largest value: greedy decoding's choice of token, read back as one u32 per
// row instead of the whole row of logits. Ties go to the lowest index and a
// NaN counts as the maximum (the first NaN wins), as in torch.argmax.
// Defines["WG"], the invocations per row, must be a power of two.
var Argmax = register(&Kernel{
	Name:     "argmax",
	File:     "argmax.wgsl",
	Buffers:  []Access{Read, ReadWrite},
	Defaults: Defines{"WG": 256},
})

// ArgmaxRef is the reference for Argmax over rows of v values in x.
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
