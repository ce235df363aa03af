package gpu

import "github.com/nib-editor/nib/kernels"

const elementwiseWG = 256

// grid spreads n invocations of per-workgroup size over a 2D dispatch, since
// one dimension holds at most 65535 workgroups. Kernels recover the linear
// index as gid.x + gid.y * num_workgroups.x * WG.
func grid(n, per int) [3]uint32 {
	groups := (n + per - 1) / per
	const maxX = 65535
	if groups <= maxX {
		return [3]uint32{uint32(groups), 1, 1}
	}
	return [3]uint32{maxX, uint32((groups + maxX - 1) / maxX), 1}
}

// sameF32 checks that every tensor is F32 with n elements.
func (b *Batch) sameF32(op string, n int, ts ...*Tensor) bool {
	for _, t := range ts {
		if t == nil {
			b.failf("%s: nil tensor", op)
			return false
		}
		if t.dtype != F32 || t.n != n {
			b.failf("%s: %s does not match f32 with %d elements", op, t, n)
			return false
		}
	}
	return true
}

// ReLU records out = max(x, 0).
func (b *Batch) ReLU(out, x *Tensor) { b.unary("relu", out, x) }

// GeluNew records out = gelu_new(x), the tanh approximation of GELU.
func (b *Batch) GeluNew(out, x *Tensor) { b.unary("gelu_new", out, x) }

func (b *Batch) unary(op string, out, x *Tensor) {
	if x == nil || !b.sameF32(op, x.n, x, out) {
		return
	}
	b.dispatch(kernels.Unary, kernels.Defines{"OP": op, "WG": elementwiseWG},
		[]uint32{uint32(x.n)}, grid(x.n, elementwiseWG), x, out)
}

// Add records out = a + b, the residual connection.
func (b *Batch) Add(out, x, y *Tensor) { b.binary("add", out, x, y) }

// GatedGelu records out = gelu_new(gate) * up, T5's gated feed-forward
// product.
func (b *Batch) GatedGelu(out, gate, up *Tensor) { b.binary("gated_gelu", out, gate, up) }

// GatedRelu records out = max(gate, 0) * up, the gated-relu feed-forward
// product.
func (b *Batch) GatedRelu(out, gate, up *Tensor) { b.binary("gated_relu", out, gate, up) }

func (b *Batch) binary(op string, out, x, y *Tensor) {
	if x == nil || !b.sameF32(op, x.n, x, y, out) {
		return
	}
	b.dispatch(kernels.Binary, kernels.Defines{"OP": op, "WG": elementwiseWG},
		[]uint32{uint32(x.n)}, grid(x.n, elementwiseWG), x, y, out)
}
