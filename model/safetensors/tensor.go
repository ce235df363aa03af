package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/x448/float16"
)

// Tensor is one tensor of a checkpoint. Tensors returned by File and Set
// satisfy len(Data) == Elements() * DType.Size(); Data is then a view into
// the memory-mapped file, valid until the File or Set is closed, and must
// never be modified (the mapping is read-only: a write faults).
type Tensor struct {
	// Name is the tensor's key in the header.
	Name string
	// DType is the element type.
	DType DType
	// Shape is the size of each dimension, outermost first; empty for a
	// scalar.
	Shape []int
	// Data holds the elements, little-endian, row-major.
	Data []byte
	// File is the path of the file holding the tensor, for error messages;
	// empty for a tensor built in memory.
	File string
}

// Elements returns the number of elements the shape implies (1 for a
// scalar), or -1 if a dimension is negative or the product overflows int.
func (t Tensor) Elements() int {
	n, ok := elements(t.Shape)
	if !ok {
		return -1
	}
	return n
}

// elements returns the product of shape, and false if a dimension is
// negative or the product overflows int. A zero dimension makes the product
// zero whatever the others are.
func elements(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d == 0 {
			n = 0
		}
	}
	if n == 0 {
		return 0, true
	}
	for _, d := range shape {
		if n > math.MaxInt/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// check returns the element count, or an error unless Data holds exactly
// the elements that Shape and DType describe. Tensors from Open always
// pass; hand-built ones might not, and converting them must not read out
// of range. The error does not name the tensor.
func (t Tensor) check() (int, error) {
	size := t.DType.Size()
	if size == 0 {
		return 0, fmt.Errorf("dtype %q is not supported", t.DType)
	}
	n, ok := elements(t.Shape)
	if !ok || n > math.MaxInt/size {
		return 0, fmt.Errorf("shape %v has a negative dimension or too many elements", t.Shape)
	}
	if len(t.Data) != n*size {
		return 0, fmt.Errorf("%d bytes of data; shape %v of %s needs %d", len(t.Data), t.Shape, t.DType, n*size)
	}
	return n, nil
}

// errorf returns an error naming the tensor's file and name.
func (t Tensor) errorf(format string, args ...any) error {
	return fmt.Errorf("safetensors: %s: tensor %q: %s", t.File, t.Name, fmt.Sprintf(format, args...))
}

// Float32 returns the elements converted to float32, in a new slice. It
// reads F32, F16, BF16, F64 (rounded to nearest) and the 8-bit floats
// F8_E4M3, F8_E5M2 and F8_E8M0; any other dtype is an error naming the file
// and the tensor.
func (t Tensor) Float32() ([]float32, error) {
	if !t.DType.isFloat() {
		return nil, t.errorf("dtype %s is not a float type; Float32 reads F32, F16, BF16, F64 and F8_*", t.DType)
	}
	n, err := t.check()
	if err != nil {
		return nil, t.errorf("%v", err)
	}
	out := make([]float32, n)
	b := t.Data
	switch t.DType {
	case F32:
		if littleEndian {
			// The file's bytes are the host's floats.
			copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(out))), 4*n), b[:4*n])
			break
		}
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case F16:
		for i := range out {
			out[i] = float16.Frombits(binary.LittleEndian.Uint16(b[2*i:])).Float32()
		}
	case BF16:
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
	case F8E4M3:
		for i := range out {
			out[i] = f8e4m3[b[i]]
		}
	case F8E5M2:
		for i := range out {
			out[i] = float16.Frombits(uint16(b[i]) << 8).Float32()
		}
	case F8E8M0:
		for i := range out {
			out[i] = f8e8m0[b[i]]
		}
	}
	return out, nil
}

// Int64 returns the elements widened to int64, in a new slice. It reads
// I64, I32, I16, I8, U64, U32, U16, U8 and BOOL (0 or 1); a U64 above
// math.MaxInt64, or any other dtype, is an error naming the file and the
// tensor.
func (t Tensor) Int64() ([]int64, error) {
	if !t.DType.isInt() {
		return nil, t.errorf("dtype %s is not an integer type; Int64 reads I64, I32, I16, I8, U64, U32, U16, U8 and BOOL", t.DType)
	}
	n, err := t.check()
	if err != nil {
		return nil, t.errorf("%v", err)
	}
	out := make([]int64, n)
	b := t.Data
	switch t.DType {
	case I64:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case U64:
		for i := range out {
			v := binary.LittleEndian.Uint64(b[8*i:])
			if v > math.MaxInt64 {
				return nil, t.errorf("element %d is %d, beyond int64", i, v)
			}
			out[i] = int64(v)
		}
	case I32:
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case U32:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case I16:
		for i := range out {
			out[i] = int64(int16(binary.LittleEndian.Uint16(b[2*i:])))
		}
	case U16:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case I8:
		for i := range out {
			out[i] = int64(int8(b[i]))
		}
	case U8:
		for i := range out {
			out[i] = int64(b[i])
		}
	case BOOL:
		for i := range out {
			if b[i] != 0 {
				out[i] = 1
			}
		}
	}
	return out, nil
}

// f8e4m3 and f8e8m0 map each byte of the 8-bit float formats to float32.
var f8e4m3, f8e8m0 = f8Tables()

func f8Tables() (e4m3, e8m0 [256]float32) {
	for i := range 256 {
		sign, exp, man := i>>7, (i>>3)&0xf, i&7
		var v float64
		switch {
		case exp == 0xf && man == 7:
			v = math.NaN()
		case exp == 0:
			v = math.Ldexp(float64(man)/8, -6)
		default:
			v = math.Ldexp(1+float64(man)/8, exp-7)
		}
		if sign == 1 {
			v = -v
		}
		e4m3[i] = float32(v)

		if i == 0xff {
			e8m0[i] = float32(math.NaN())
		} else {
			e8m0[i] = float32(math.Ldexp(1, i-127))
		}
	}
	return e4m3, e8m0
}

// littleEndian reports whether the host stores numbers as safetensors
// files do.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()
