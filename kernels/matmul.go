package kernels

// MatMul is the tiled matrix multiply for prefill: out[M, N] = x[M, K] *
// w[N, K]^T with f32 accumulation. Defines: W ("f32" or "f16" weights), VEC
// (true when K is a multiple of 4).
var MatMul = register(&Kernel{
	Name:     "matmul",
	File:     "matmul.wgsl",
	Buffers:  []Access{Read, Read, ReadWrite},
	Defaults: Defines{"W": "f32", "VEC": false},
})

// MatMulTile is the output tile of one MatMul workgroup, per dimension.
const MatMulTile = 128

// MatMulRef is the reference for MatMul (and FMatVec with nothing fused): out[m*N+n] = sum_k
// x[m*K+k] * w[n*K+k], accumulated in float64. Pass f16 weights already
// rounded to f16 and widened to float32.
func MatMulRef(x, w []float32, m, n, k int) []float32 {
	out := make([]float32, m*n)
	for i := 0; i < m; i++ {
		xi := x[i*k : (i+1)*k]
		for j := 0; j < n; j++ {
			wj := w[j*k : (j+1)*k]
			var s float64
			for l := range xi {
				s += float64(xi[l]) * float64(wj[l])
			}
			out[i*n+j] = float32(s)
		}
	}
	return out
}
