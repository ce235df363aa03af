package safetensors_test

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"

	"github.com/nib-editor/nib/model/safetensors"
)

// le16, le32 and le64 lay out little-endian words as a tensor's Data.
func le16(v ...uint16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, x)
	}
	return b
}

func le32(v ...uint32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, x)
	}
	return b
}

func le64(v ...uint64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, x)
	}
	return b
}

var (
	nan  = float32(math.NaN())
	inf  = float32(math.Inf(1))
	neg0 = float32(math.Copysign(0, -1))
)

// floatCases are encodings with their exact float32 values, edge cases of
// each format included: subnormals, the largest finite value, infinities,
// NaN and negative zero. Every value converts exactly, so comparison is
// bit for bit (NaN by IsNaN).
var floatCases = []struct {
	dtype safetensors.DType
	data  []byte
	want  []float32
}{
	{safetensors.F32, le32(0x3f800000, 0xc0200000, 0x00000001, 0x7f7fffff, 0xff800000, 0x7fc00000),
		[]float32{1, -2.5, math.SmallestNonzeroFloat32, math.MaxFloat32, -inf, nan}},
	{safetensors.F16, le16(0x3c00, 0xc100, 0x7bff, 0x0001, 0x0400, 0x3555, 0x7c00, 0x8000, 0x7e00),
		[]float32{1, -2.5, 65504, 0x1p-24, 0x1p-14, 0.33325195, inf, neg0, nan}},
	{safetensors.BF16, le16(0x3f80, 0xc020, 0x4049, 0x7f7f, 0x0001, 0x0080, 0x7f80, 0x8000, 0x7fc0),
		[]float32{1, -2.5, 3.140625, 0x1.fep127, 0x1p-133, 0x1p-126, inf, neg0, nan}},
	{safetensors.F64, le64(math.Float64bits(0.1), math.Float64bits(-1e300), math.Float64bits(1e-50), math.Float64bits(2)),
		[]float32{0.1, -inf, 0, 2}},
	{safetensors.F8E4M3, []byte{0x38, 0x7e, 0x01, 0x08, 0xc0, 0x80, 0x7f, 0xff},
		[]float32{1, 448, 0x1p-9, 0x1p-6, -2, neg0, nan, nan}},
	{safetensors.F8E5M2, []byte{0x3c, 0x7b, 0x01, 0xc1, 0x7c, 0x7e},
		[]float32{1, 57344, 0x1p-16, -2.5, inf, nan}},
	{safetensors.F8E8M0, []byte{127, 0, 254, 128, 0xff},
		[]float32{1, 0x1p-127, 0x1p127, 2, nan}},
}

func sameFloats(got, want []float32) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if math.IsNaN(float64(want[i])) {
			if !math.IsNaN(float64(got[i])) {
				return false
			}
		} else if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			return false
		}
	}
	return true
}

func TestFloat32(t *testing.T) {
	for _, c := range floatCases {
		t.Run(string(c.dtype), func(t *testing.T) {
			tn := safetensors.Tensor{Name: "x", DType: c.dtype, Shape: []int{len(c.want)}, Data: c.data}
			got, err := tn.Float32()
			if err != nil {
				t.Fatal(err)
			}
			if !sameFloats(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

// intCases are encodings with their values, the extremes of each type
// included.
var intCases = []struct {
	dtype safetensors.DType
	data  []byte
	want  []int64
}{
	{safetensors.I64, le64(0, 1<<63, 1<<63-1, math.MaxUint64), []int64{0, math.MinInt64, math.MaxInt64, -1}},
	{safetensors.U64, le64(0, 1<<63-1), []int64{0, math.MaxInt64}},
	{safetensors.I32, le32(1, 1<<31, 1<<31-1, math.MaxUint32), []int64{1, math.MinInt32, math.MaxInt32, -1}},
	{safetensors.U32, le32(1, math.MaxUint32), []int64{1, math.MaxUint32}},
	{safetensors.I16, le16(7, 1<<15, math.MaxUint16), []int64{7, math.MinInt16, -1}},
	{safetensors.U16, le16(7, math.MaxUint16), []int64{7, math.MaxUint16}},
	{safetensors.I8, []byte{5, 0x80, 0xff}, []int64{5, -128, -1}},
	{safetensors.U8, []byte{5, 0x80, 0xff}, []int64{5, 128, 255}},
	{safetensors.BOOL, []byte{0, 1, 2}, []int64{0, 1, 1}},
}

func TestInt64(t *testing.T) {
	for _, c := range intCases {
		t.Run(string(c.dtype), func(t *testing.T) {
			tn := safetensors.Tensor{Name: "x", DType: c.dtype, Shape: []int{len(c.want)}, Data: c.data}
			got, err := tn.Int64()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

// TestConversionErrors checks that a tensor of the wrong kind, or one whose
// Data disagrees with its shape, is an error naming the file and tensor,
// never an out-of-range read.
func TestConversionErrors(t *testing.T) {
	tests := []struct {
		name   string
		tensor safetensors.Tensor
		conv   string // "f" for Float32, "i" for Int64
		want   string
	}{
		{"ints as floats", safetensors.Tensor{DType: safetensors.I64, Shape: []int{1}, Data: le64(1)}, "f", "not a float type"},
		{"complex as floats", safetensors.Tensor{DType: safetensors.C64, Shape: []int{1}, Data: le64(1)}, "f", "not a float type"},
		{"floats as ints", safetensors.Tensor{DType: safetensors.F32, Shape: []int{1}, Data: le32(1)}, "i", "not an integer type"},
		{"U64 beyond int64", safetensors.Tensor{DType: safetensors.U64, Shape: []int{2}, Data: le64(1, 1<<63)}, "i", "element 1"},
		{"short data", safetensors.Tensor{DType: safetensors.F32, Shape: []int{2, 3}, Data: le32(1, 2)}, "f", "8 bytes of data"},
		{"long data", safetensors.Tensor{DType: safetensors.I32, Shape: []int{1}, Data: le32(1, 2)}, "i", "8 bytes of data"},
		{"negative dimension", safetensors.Tensor{DType: safetensors.F16, Shape: []int{-1}}, "f", "negative dimension"},
		{"overflow", safetensors.Tensor{DType: safetensors.F16, Shape: []int{math.MaxInt / 2, 3}}, "f", "too many elements"},
		{"unknown dtype", safetensors.Tensor{DType: "F4", Shape: []int{1}, Data: []byte{0}}, "i", "not an integer type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.tensor.Name, tc.tensor.File = "enc.w", "ckpt.safetensors"
			var err error
			if tc.conv == "f" {
				_, err = tc.tensor.Float32()
			} else {
				_, err = tc.tensor.Int64()
			}
			mustContain(t, err, "ckpt.safetensors", `"enc.w"`, tc.want)
		})
	}
}

func TestElements(t *testing.T) {
	tests := []struct {
		shape []int
		want  int
	}{
		{nil, 1},
		{[]int{0}, 0},
		{[]int{3, 4}, 12},
		{[]int{math.MaxInt, math.MaxInt, 0}, 0},
		{[]int{math.MaxInt, 2}, -1},
		{[]int{2, -1}, -1},
	}
	for _, tc := range tests {
		if got := (safetensors.Tensor{Shape: tc.shape}).Elements(); got != tc.want {
			t.Errorf("Elements of %v = %d, want %d", tc.shape, got, tc.want)
		}
	}
}

func TestSize(t *testing.T) {
	sizes := map[safetensors.DType]int{
		safetensors.BOOL: 1, safetensors.U8: 1, safetensors.I8: 1, safetensors.F8E4M3: 1, safetensors.F8E5M2: 1, safetensors.F8E8M0: 1,
		safetensors.U16: 2, safetensors.I16: 2, safetensors.F16: 2, safetensors.BF16: 2,
		safetensors.U32: 4, safetensors.I32: 4, safetensors.F32: 4,
		safetensors.U64: 8, safetensors.I64: 8, safetensors.F64: 8, safetensors.C64: 8,
		"F4": 0, "f32": 0, "": 0,
	}
	for d, want := range sizes {
		if got := d.Size(); got != want {
			t.Errorf("%q.Size() = %d, want %d", d, got, want)
		}
	}
}
