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
)

// String returns the name used in kernel defines ("f32", "f16", "u32").
func (t DType) String() string {
	switch t {
	case F32:
		return "f32"
	case F16:
		return "f16"
	case U32:
		return "u32"
	}
	return fmt.Sprintf("dtype(%d)", uint8(t))
}

// bytes returns the storage size of n elements, padded to whole 32-bit
// words as WebGPU buffers require.
func (t DType) bytes(n int) uint64 {
	switch t {
	case F16:
		return uint64((n+1)/2) * 4
	default:
		return uint64(n) * 4
	}
}
