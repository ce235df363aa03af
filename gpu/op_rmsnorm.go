package gpu

import (
	"math"

	"github.com/nib-editor/nib/kernels"
)

// RMSNorm records T5's layer norm over the last dimension of x:
// out = weight * x / sqrt(mean(x^2) + eps), with no mean subtraction and no
// bias. x and out are F32 of the same shape, weight is [D] F32 or F16 where
// D is x's last dimension. out must not be x: WebGPU forbids binding one
// buffer both read-only and writable in a dispatch.
func (b *Batch) RMSNorm(out, x, weight *Tensor, eps float32) {
	const op = "rmsnorm"
	if out == nil || x == nil || weight == nil {
		b.failf("%s: nil tensor", op)
		return
	}
	if len(x.shape) == 0 {
		b.failf("%s: x %s has no last dimension", op, x)
		return
	}
	d := x.shape[len(x.shape)-1]
	if x.dtype != F32 || out.dtype != F32 || out.n != x.n {
		b.failf("%s: out %s and x %s must be f32 of one length", op, out, x)
		return
	}
	if (weight.dtype != F32 && weight.dtype != F16) || weight.n != d {
		b.failf("%s: weight %s does not match x %s: want f32 or f16 [%d]", op, weight, x, d)
		return
	}
	if out.buf != nil && out.buf == x.buf {
		b.failf("%s: out and x are the same tensor", op)
		return
	}
	rows := x.n / d
	wg := pow2Workgroup(d, 32, 256)
	b.dispatch(kernels.RMSNorm, kernels.Defines{"W": weight.dtype.String(), "WG": wg},
		[]uint32{uint32(rows), uint32(d), math.Float32bits(eps)}, grid(rows, 1), x, weight, out)
}
