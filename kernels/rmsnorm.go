package kernels

import "math"

// RMSNorm is T5's layer norm: each row scaled by the reciprocal root
// mean square of its elements, then by a weight; no mean, no bias. Defines:
// W ("f32" or "f16") is the weight dtype, WG a power of two, the threads
// sharing one row.
var RMSNorm = register(&Kernel{
	Name:     "rmsnorm",
	File:     "rmsnorm.wgsl",
	Buffers:  []Access{Read, Read, ReadWrite},
	Defaults: Defines{"W": "f32", "WG": 256},
})

// RMSNormRef is the reference for RMSNorm over rows of length len(w),
// accumulated in float64.
func RMSNormRef(x, w []float32, eps float32) []float32 {
	d := len(w)
	out := make([]float32, len(x))
	for r := 0; r+d <= len(x); r += d {
		row := x[r : r+d]
		var ss float64
		for _, v := range row {
			ss += float64(v) * float64(v)
		}
		inv := 1 / math.Sqrt(ss/float64(d)+float64(eps))
		for i, v := range row {
			out[r+i] = float32(float64(w[i]) * float64(v) * inv)
		}
	}
	return out
}
