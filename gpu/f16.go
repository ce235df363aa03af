package gpu

import (
	"math"
	"unsafe"
)

// F16Bits converts v to IEEE binary16 bits, rounding to nearest even with
// subnormals, infinities and NaN as float16.Fromfloat32 does, several
// times faster (after Fabian Giesen's float_to_half_fast3_rtne): loading a
// model converts hundreds of millions of weights.
func F16Bits(v float32) uint16 {
	const (
		f32Inf      = 255 << 23
		f16Overflow = (127 + 16) << 23
		f16MinNorm  = (127 - 14) << 23
		denormMagic = ((127 - 15) + (23 - 10) + 1) << 23
	)
	x := math.Float32bits(v)
	sign := uint16(x>>16) & 0x8000
	x &^= 1 << 31
	switch {
	case x >= f16Overflow: // infinity or NaN, or too large: infinity
		if x > f32Inf {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case x < f16MinNorm: // a subnormal or zero: let the FPU round
		f := math.Float32frombits(x) + math.Float32frombits(denormMagic)
		return sign | uint16(math.Float32bits(f)-denormMagic)
	}
	odd := x >> 13 & 1
	x += 0xfff + odd - (127-15)<<23 // rebias the exponent; x >= f16MinNorm
	return sign | uint16(x>>13)
}

// packQ8 quantises v to Q8 (see the dtype): per block of Q8Block values,
// the scale is the largest magnitude over 127 and each value the nearest
// multiple of it. In parallel for large tensors, as packF16.
func packQ8(v []float32) []byte {
	blocks := (len(v) + Q8Block - 1) / Q8Block
	raw := make([]byte, Q8.bytes(len(v)))
	words := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(raw))), len(raw)/4)
	block := func(b int) {
		lo, hi := b*Q8Block, min((b+1)*Q8Block, len(v))
		var amax float32
		for _, x := range v[lo:hi] {
			amax = max(amax, float32(math.Abs(float64(x))))
		}
		scale := amax / 127
		quants, scaleAt := q8Words(b)
		words[scaleAt] = math.Float32bits(scale)
		if scale == 0 || math.IsInf(float64(scale), 0) || math.IsNaN(float64(scale)) {
			return
		}
		out := words[quants : quants+Q8Block/4]
		inv := 1 / scale
		for i, x := range v[lo:hi] {
			q := int32(math.Round(float64(x * inv)))
			q = max(-127, min(127, q))
			out[i/4] |= uint32(uint8(int8(q))) << (8 * (i % 4))
		}
	}
	inChunks(blocks, 1<<13, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			block(b)
		}
	})
	return raw
}

// q8Words returns where block b of a Q8 tensor lives, in 32-bit words:
// its first word of bytes and its scale.
func q8Words(b int) (quants, scale int) {
	super, sub := b/4, b%4
	return super*36 + sub*Q8Block/4, super*36 + 32 + sub
}

// RoundQ8 returns v as a Q8 tensor holds it: each value quantised
// with its block's scale and dequantised, the values a reference must use.
func RoundQ8(v []float32) []float32 {
	raw := packQ8(v)
	words := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(raw))), len(raw)/4)
	out := make([]float32, len(v))
	for i := range out {
		quants, scale := q8Words(i / Q8Block)
		q := int8(words[quants+(i%Q8Block)/4] >> (8 * (i % 4)))
		out[i] = float32(q) * math.Float32frombits(words[scale])
	}
	return out
}
