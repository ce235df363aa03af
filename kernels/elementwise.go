package kernels

import "math"

// Unary applies Defines["OP"] ("relu" or "gelu_new") elementwise.
var Unary = register(&Kernel{
	Name:     "unary",
	File:     "unary.wgsl",
	Buffers:  []Access{Read, ReadWrite},
	Defaults: Defines{"WG": 256},
})

// Binary combines two arrays elementwise by Defines["OP"]: "add",
// "gated_gelu" (gelu_new(a) * b) or "gated_relu" (relu(a) * b).
var Binary = register(&Kernel{
	Name:     "binary",
	File:     "binary.wgsl",
	Buffers:  []Access{Read, Read, ReadWrite},
	Defaults: Defines{"WG": 256},
})

// ReLURef is the reference for Unary with OP relu.
func ReLURef(x []float32) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = max(v, 0)
	}
	return out
}

// GeluNewRef is the reference gelu_new (tanh approximation), computed in
// float64.
func GeluNewRef(x []float32) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = geluNew(v)
	}
	return out
}

func geluNew(v float32) float32 {
	x := float64(v)
	return float32(0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x))))
}

// AddRef is the reference residual add.
func AddRef(a, b []float32) []float32 {
	out := make([]float32, len(a))
	for i := range a {
		out[i] = a[i] + b[i]
	}
	return out
}

// GatedReluRef is the reference gated-relu product max(gate, 0) * up.
func GatedReluRef(gate, up []float32) []float32 {
	out := make([]float32, len(gate))
	for i := range gate {
		out[i] = max(gate[i], 0) * up[i]
	}
	return out
}

// GatedGeluRef is the reference gated-gelu product gelu_new(gate) * up.
func GatedGeluRef(gate, up []float32) []float32 {
	out := make([]float32, len(gate))
	for i := range gate {
		out[i] = float32(float64(geluNew(gate[i])) * float64(up[i]))
	}
	return out
}
