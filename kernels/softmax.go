package kernels

import "math"

// Softmax is the masked softmax in place over the last dimension of
// scores [B, H, tq, tk], for masks without padding. Defines: WG, a power of
// two, the threads sharing one row.
var Softmax = register(&Kernel{
	Name:     "softmax",
	File:     "softmax.wgsl",
	Buffers:  []Access{ReadWrite},
	Defaults: Defines{"WG": 256, "LENS": false},
})

// SoftmaxLens is Softmax with per-sequence key lengths bound as a
// second buffer. It is a separate kernel, not a flag, because the scores are
// read-write and WebGPU forbids binding them again as a stand-in for absent
// lengths.
var SoftmaxLens = register(&Kernel{
	Name:     "softmax_lens",
	File:     "softmax.wgsl",
	Buffers:  []Access{ReadWrite, Read},
	Defaults: Defines{"WG": 256, "LENS": true},
})

// Mask says which keys each query may attend to, for the references. Both
// conditions keep a prefix of the keys, which the kernels rely on.
type Mask struct {
	// KeyLens[b] is the number of real keys of batch item b; later keys are
	// padding. Nil means every key is real.
	KeyLens []uint32
	// Causal lets query i, at absolute position tk-tq+i, see only keys at
	// or before its position.
	Causal bool
}

// Visible returns how many leading keys query i of batch item b may see when
// tq queries attend to tk keys.
func (m Mask) Visible(b, i, tq, tk int) int {
	n := tk
	if m.KeyLens != nil {
		n = min(n, int(m.KeyLens[b]))
	}
	if m.Causal {
		n = min(n, max(tk-tq+i+1, 0))
	}
	return n
}

// SoftmaxRef is the reference for Softmax: x is [batch, heads, tq, tk];
// masked entries become 0 and fully masked rows all zeros. It accumulates in
// float64.
func SoftmaxRef(x []float32, batch, heads, tq, tk int, m Mask) []float32 {
	out := make([]float32, len(x))
	for b := range batch {
		for h := range heads {
			for i := range tq {
				base := ((b*heads+h)*tq + i) * tk
				softmaxRow(out[base:base+tk], x[base:base+tk], m.Visible(b, i, tq, tk))
			}
		}
	}
	return out
}

// softmaxRow writes the softmax of the first n of x to out and zeros after.
func softmaxRow(out, x []float32, n int) {
	mx := math.Inf(-1)
	for _, v := range x[:n] {
		mx = max(mx, float64(v))
	}
	var sum float64
	for _, v := range x[:n] {
		sum += math.Exp(float64(v) - mx)
	}
	for j := range out {
		out[j] = 0
		if j < n {
			out[j] = float32(math.Exp(float64(x[j])-mx) / sum)
		}
	}
}
