package safetensors

// DType is a tensor element type, spelled as in safetensors headers.
type DType string

// The element types of the format that are whole bytes wide. Sub-byte types
// (F4, F6_E2M3, F6_E3M2) are not supported: Open rejects files holding them.
const (
	// BOOL is one byte per element, 0 or 1.
	BOOL DType = "BOOL"
	// U8 is an unsigned 8-bit integer.
	U8 DType = "U8"
	// I8 is a signed 8-bit integer.
	I8 DType = "I8"
	// U16 is an unsigned 16-bit integer.
	U16 DType = "U16"
	// I16 is a signed 16-bit integer.
	I16 DType = "I16"
	// U32 is an unsigned 32-bit integer.
	U32 DType = "U32"
	// I32 is a signed 32-bit integer.
	I32 DType = "I32"
	// U64 is an unsigned 64-bit integer.
	U64 DType = "U64"
	// I64 is a signed 64-bit integer (token ids in transformers' outputs).
	I64 DType = "I64"
	// F8E4M3 is the 8-bit float with 4 exponent and 3 mantissa bits, no
	// infinities, NaN at 0x7f and 0xff (PyTorch's float8_e4m3fn).
	F8E4M3 DType = "F8_E4M3"
	// F8E5M2 is the 8-bit float with 5 exponent and 2 mantissa bits: the
	// high byte of an F16.
	F8E5M2 DType = "F8_E5M2"
	// F8E8M0 is an unsigned power of two, 2^(e-127), NaN at 0xff (the MX
	// block scale).
	F8E8M0 DType = "F8_E8M0"
	// F16 is IEEE-754 binary16.
	F16 DType = "F16"
	// BF16 is bfloat16: the high half of an IEEE-754 binary32.
	BF16 DType = "BF16"
	// F32 is IEEE-754 binary32.
	F32 DType = "F32"
	// F64 is IEEE-754 binary64.
	F64 DType = "F64"
	// C64 is a complex number of two F32 (real, imaginary).
	C64 DType = "C64"
)

// Size returns the bytes per element of d, or 0 if d is unknown or not a
// whole number of bytes wide.
func (d DType) Size() int {
	switch d {
	case BOOL, U8, I8, F8E4M3, F8E5M2, F8E8M0:
		return 1
	case U16, I16, F16, BF16:
		return 2
	case U32, I32, F32:
		return 4
	case U64, I64, F64, C64:
		return 8
	}
	return 0
}

// isFloat reports whether Tensor.Float32 converts d.
func (d DType) isFloat() bool {
	switch d {
	case F8E4M3, F8E5M2, F8E8M0, F16, BF16, F32, F64:
		return true
	}
	return false
}

// isInt reports whether Tensor.Int64 widens d.
func (d DType) isInt() bool {
	switch d {
	case BOOL, U8, I8, U16, I16, U32, I32, U64, I64:
		return true
	}
	return false
}
