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
	// Q8 is 8-bit weights quantised in blocks of 32 consecutive elements
	// (in row-major order, blocks may span rows), each block nine 32-bit
	// words: eight of four signed bytes, low byte first, then the block's
	// scale as an f32. Element i is int8(byte) * scale. For weights only:
	// kernels dequantise as they load (lib.wgsl's load_w).
	Q8
)

// Q8Block is the number of weights that share one Q8 scale.
const Q8Block = 32

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
		return uint64((n+Q8Block-1)/Q8Block) * 36
	default:
		return uint64(n) * 4
	}
}
