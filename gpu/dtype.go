package gpu

import "fmt"

// DType is the element type of a tensor in GPU memory.
type DType uint8

const (
	// F32 is IEEE-754 binary32.
	F32 DType = iota
	// F16 is IEEE-754 binary16, stored two per 32-bit word, low half first.
	F16
	// U32 is an unsigned 32-bit integer (token ids, indices).
	U32
	// Q8 is 8-bit weights quantised in blocks of Q8Block consecutive
	// elements (in row-major order; blocks may span rows), each with an
	// f32 scale: element i is int8(byte i) * its block's scale. Four
	// blocks make a superblock of 36 32-bit words, the 128 signed bytes
	// (low byte first) then the four scales, so that a kernel reads the
	// bytes 16 at a time, as it reads f16 weights, with the scales
	// apart; a row of a multiple of Q8Super elements starts at a
	// superblock. For weights only: kernels dequantise as they load
	// (lib.wgsl).
	Q8
)

// Q8Block is the number of weights that share one Q8 scale.
const Q8Block = 32

// Q8Super is the number of weights in a Q8 superblock: four blocks, 144
// bytes.
const Q8Super = 4 * Q8Block

// String returns the name used in kernel defines ("f32", "f16", "u32").
func (t DType) String() string {
	switch t {
	case F32:
		return "f32"
	case F16:
		return "f16"
	case U32:
		return "u32"
	case Q8:
		return "q8"
	}
	return fmt.Sprintf("dtype(%d)", uint8(t))
}

// bytes returns the storage size of n elements, padded to whole 32-bit
// words as WebGPU buffers require.
func (t DType) bytes(n int) uint64 {
	switch t {
	case F16:
		return uint64((n+1)/2) * 4
	case Q8:
		return uint64((n+Q8Super-1)/Q8Super) * 144
	default:
		return uint64(n) * 4
	}
}
