package safetensors_test

import (
	"bytes"
	"encoding/binary"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nib-editor/nib/model/safetensors"
)

// allDTypes returns one tensor of every supported dtype, holding the
// conversion cases above, plus a complex one, a scalar and an empty one.
func allDTypes() []safetensors.Tensor {
	var ts []safetensors.Tensor
	for _, c := range floatCases {
		ts = append(ts, safetensors.Tensor{Name: "float." + string(c.dtype), DType: c.dtype, Shape: []int{1, len(c.want)}, Data: c.data})
	}
	for _, c := range intCases {
		ts = append(ts, safetensors.Tensor{Name: "int." + string(c.dtype), DType: c.dtype, Shape: []int{len(c.want), 1}, Data: c.data})
	}
	return append(ts,
		safetensors.Tensor{Name: "complex", DType: safetensors.C64, Shape: []int{1}, Data: le32(math.Float32bits(1), math.Float32bits(-1))},
		safetensors.Tensor{Name: "scalar", DType: safetensors.F32, Shape: []int{}, Data: le32(math.Float32bits(0.5))},
		safetensors.Tensor{Name: "empty", DType: safetensors.BF16, Shape: []int{0, 32}, Data: nil},
	)
}

func TestRoundTrip(t *testing.T) {
	in := allDTypes()
	meta := map[string]string{"format": "pt", "note": "<&> \"quoted\" ünïcode"}
	path := writeFile(t, t.TempDir(), "all.safetensors", in, meta)
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	if got := f.Metadata(); !maps.Equal(got, meta) {
		t.Errorf("metadata %v, want %v", got, meta)
	}
	var names []string
	for _, tn := range in {
		names = append(names, tn.Name)
	}
	slices.Sort(names)
	if got := f.Names(); !slices.Equal(got, names) {
		t.Fatalf("names %v, want %v", got, names)
	}
	for _, want := range in {
		got, ok := f.Tensor(want.Name)
		if !ok {
			t.Fatalf("no tensor %q", want.Name)
		}
		if got.Name != want.Name || got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) ||
			!bytes.Equal(got.Data, want.Data) || got.File != path {
			t.Errorf("tensor %q: got %+v, want %+v", want.Name, got, want)
		}
	}
	for _, c := range floatCases {
		tn, _ := f.Tensor("float." + string(c.dtype))
		if got, err := tn.Float32(); err != nil || !sameFloats(got, c.want) {
			t.Errorf("%s: Float32 = %v, %v; want %v", c.dtype, got, err, c.want)
		}
	}
	for _, c := range intCases {
		tn, _ := f.Tensor("int." + string(c.dtype))
		if got, err := tn.Int64(); err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: Int64 = %v, %v; want %v", c.dtype, got, err, c.want)
		}
	}
	if _, ok := f.Tensor("__metadata__"); ok {
		t.Error(`"__metadata__" reads as a tensor`)
	}
}

// TestWriteLayout checks the bytes Write produces against the reference
// implementation's conventions: metadata first, names sorted, compact JSON
// padded with spaces to a multiple of 8, data in header order without gaps.
func TestWriteLayout(t *testing.T) {
	var b bytes.Buffer
	err := safetensors.Write(&b, []safetensors.Tensor{
		{Name: "b", DType: safetensors.U8, Shape: []int{3}, Data: []byte{1, 2, 3}},
		{Name: "a", DType: safetensors.I16, Shape: []int{1}, Data: []byte{4, 5}},
	}, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	header := `{"__metadata__":{"format":"pt"},"a":{"dtype":"I16","shape":[1],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[3],"data_offsets":[2,5]}}`
	header += strings.Repeat(" ", (8-len(header)%8)%8)
	want := raw(header, []byte{4, 5, 1, 2, 3})
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("Write produced\n%q\nwant\n%q", b.Bytes(), want)
	}
}

func TestWriteRejects(t *testing.T) {
	f32 := func(name string) safetensors.Tensor { return f32Tensor(name, []int{1}, 1) }
	tests := []struct {
		name    string
		tensors []safetensors.Tensor
		meta    map[string]string
		want    []string
	}{
		{"duplicate", []safetensors.Tensor{f32("w"), f32("v"), f32("w")}, nil, []string{`"w"`, "twice"}},
		{"reserved name", []safetensors.Tensor{f32("__metadata__")}, nil, []string{"reserved"}},
		{"short data", []safetensors.Tensor{f32Tensor("w", []int{2}, 1)}, nil, []string{`"w"`, "4 bytes of data"}},
		{"unknown dtype", []safetensors.Tensor{{Name: "w", DType: "F4", Shape: []int{2}, Data: []byte{0}}}, nil, []string{`"w"`, "not supported"}},
		{"negative dimension", []safetensors.Tensor{{Name: "w", DType: safetensors.U8, Shape: []int{-1}}}, nil, []string{`"w"`, "negative"}},
		{"name not UTF-8", []safetensors.Tensor{f32("w\xff")}, nil, []string{"UTF-8"}},
		{"metadata not UTF-8", nil, map[string]string{"k": "\xff"}, []string{"UTF-8"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			mustContain(t, safetensors.Write(&b, tc.tensors, tc.meta), tc.want...)
		})
	}
}

// malformed are files that Open must reject, each with what the error must
// say besides the file's name: the tensor at fault where there is one, and
// the fault. FuzzOpen uses them as seeds.
var malformed = []struct {
	name string
	file []byte
	want []string
}{
	{"empty file", nil, []string{"0 bytes", "shorter than"}},
	{"short file", []byte{8, 0, 0, 0, 0}, []string{"5 bytes", "shorter than"}},
	{"header past the end", withLength(64, `{}`), []string{"header length 64", "past the end"}},
	{"absurd header length", withLength(1<<40, `{}`), []string{"over the limit"}},
	{"header length wraps around", withLength(math.MaxUint64, `{}`), []string{"over the limit"}},
	{"empty header", raw(``, nil), []string{"not a JSON object"}},
	{"header not JSON", raw(`not json`, nil), []string{"not a JSON object"}},
	{"header an array", raw(`[{"a": 1}]`, nil), []string{"not a JSON object"}},
	{"header a string", raw(`"{}"`, nil), []string{"not a JSON object"}},
	{"header cut short", raw(`{"w": {"dtype": "F32", "sha`, nil), []string{"ends early"}},
	{"header bad syntax", raw(`{"w" {}}`, nil), []string{"invalid JSON"}},
	{"header not UTF-8", raw("{\"w\xff\": {}}", nil), []string{"UTF-8"}},
	{"data after the header object", raw(`{} {}`, nil), []string{"after the JSON object"}},
	{"NUL padding", raw("{}\x00\x00", nil), []string{"header"}},
	{"tensor not an object", raw(`{"w": [1]}`, nil), []string{`"w"`, "want a JSON object"}},
	{"unknown dtype", raw(`{"w":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}`, make([]byte, 16)), []string{`"w"`, `"F128"`, "not supported"}},
	{"sub-byte dtype", raw(`{"w":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}}`, make([]byte, 1)), []string{`"w"`, `"F4"`, "not supported"}},
	{"dtype not a string", raw(`{"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), []string{`"w"`, "dtype"}},
	{"no dtype", raw(`{"w":{"shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), []string{`"w"`, "no dtype"}},
	{"no shape", raw(`{"w":{"dtype":"F32","data_offsets":[0,4]}}`, make([]byte, 4)), []string{`"w"`, "no shape"}},
	{"no data_offsets", raw(`{"w":{"dtype":"F32","shape":[1]}}`, make([]byte, 4)), []string{`"w"`, "no data_offsets"}},
	{"unknown field", raw(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"stride":[1]}}`, make([]byte, 4)), []string{`"w"`, `"stride"`}},
	{"repeated field", raw(`{"w":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), []string{`"w"`, `field "dtype" appears twice`}},
	{"negative dimension", raw(`{"w":{"dtype":"F32","shape":[2,-3],"data_offsets":[0,0]}}`, nil), []string{`"w"`, "negative dimension -3"}},
	{"fractional dimension", raw(`{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, make([]byte, 4)), []string{`"w"`, "want an integer, found 1.5"}},
	{"huge dimension", raw(`{"w":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4]}}`, make([]byte, 4)), []string{`"w"`, "too large"}},
	{"shape not an array", raw(`{"w":{"dtype":"F32","shape":4,"data_offsets":[0,16]}}`, make([]byte, 16)), []string{`"w"`, "shape", "want an array"}},
	{"shape of strings", raw(`{"w":{"dtype":"F32","shape":["4"],"data_offsets":[0,16]}}`, make([]byte, 16)), []string{`"w"`, "shape", `"4"`}},
	{"element count overflow", raw(`{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil), []string{`"w"`, "overflows"}},
	{"byte count overflow", raw(`{"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}}`, nil), []string{`"w"`, "overflows"}},
	{"one offset", raw(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[4]}}`, make([]byte, 4)), []string{`"w"`, "two numbers"}},
	{"three offsets", raw(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, make([]byte, 8)), []string{`"w"`, "two numbers"}},
	{"offsets not numbers", raw(`{"w":{"dtype":"F32","shape":[1],"data_offsets":["0","4"]}}`, make([]byte, 4)), []string{`"w"`, "data_offsets"}},
	{"offsets not an array", raw(`{"w":{"dtype":"F32","shape":[1],"data_offsets":{"begin":0}}}`, make([]byte, 4)), []string{`"w"`, "data_offsets"}},
	{"negative offset", raw(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, make([]byte, 4)), []string{`"w"`, "negative"}},
	{"begin after end", raw(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}`, make([]byte, 8)), []string{`"w"`, "begin after they end"}},
	{"end beyond the data", raw(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 6)), []string{`"w"`, "beyond the data section of 6 bytes"}},
	{"end far beyond the data", raw(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[9223372036854775800,9223372036854775807]}}`, nil), []string{`"w"`, "beyond the data section"}},
	{"size mismatch", raw(`{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, make([]byte, 12)), []string{`"w"`, "hold 8 bytes", "needs 12"}},
	{"dtype lies", raw(`{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)), []string{`"w"`, "needs 4"}},
	{"overlap", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)), []string{`"a"`, `"b"`, "overlap"}},
	{"same range", raw(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}`, make([]byte, 1)), []string{`"a"`, `"b"`, "overlap"}},
	{"duplicate name", raw(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), []string{`tensor "w" appears twice`}},
	{"names equal once decoded", raw(`{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"\u0077":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, make([]byte, 2)), []string{`tensor "w" appears twice`}},
	{"metadata not an object", raw(`{"__metadata__":["a"]}`, nil), []string{"__metadata__", "want a JSON object"}},
	{"metadata not strings", raw(`{"__metadata__":{"total_size":12}}`, nil), []string{"__metadata__", `"total_size"`, "want a string value, found the number 12"}},
	{"metadata twice", raw(`{"__metadata__":{},"__metadata__":{}}`, nil), []string{`"__metadata__" appears twice`}},
	{"metadata key twice", raw(`{"__metadata__":{"k":"1","k":"2"}}`, nil), []string{`"k" appears twice`}},
}

func TestOpenMalformed(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range malformed {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".safetensors")
			if err := os.WriteFile(path, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := safetensors.Open(path)
			if err == nil {
				f.Close()
			}
			mustContain(t, err, append([]string{"safetensors: " + path + ": "}, tc.want...)...)
		})
	}
}

// TestOpenAccepts checks headers that are unusual but valid.
func TestOpenAccepts(t *testing.T) {
	tests := []struct {
		name string
		file []byte
		want []string
	}{
		{"no tensors", raw(`{}`, nil), nil},
		{"only metadata", raw(`{"__metadata__":{"format":"pt"}}`, nil), nil},
		{"null metadata", raw(`{"__metadata__":null}`, nil), nil},
		{"spaces and newlines", raw(" \n{ \"w\" : {\"data_offsets\":[0,4], \"shape\":[ 1 ], \"dtype\":\"F32\"} }\n   ", make([]byte, 4)), []string{"w"}},
		{"gap and trailing bytes", raw(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 12)), []string{"w"}},
		{"empty tensors anywhere", raw(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[2,2]},"b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"c":{"dtype":"I64","shape":[3,0],"data_offsets":[4,4]}}`, make([]byte, 4)), []string{"a", "b", "c"}},
		{"escaped name", raw(`{"enc\u002ew\n":{"dtype":"U8","shape":[],"data_offsets":[0,1]}}`, []byte{7}), []string{"enc.w\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ok.safetensors")
			if err := os.WriteFile(path, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := safetensors.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if got := f.Names(); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("names %q, want %q", got, tc.want)
			}
		})
	}
}

// TestOpenTruncated cuts a valid file at every length: each prefix must be
// refused with an error naming the file.
func TestOpenTruncated(t *testing.T) {
	dir := t.TempDir()
	full, err := os.ReadFile(writeFile(t, dir, "full.safetensors", allDTypes(), map[string]string{"format": "pt"}))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "cut.safetensors")
	for n := range len(full) {
		if err := os.WriteFile(path, full[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := safetensors.Open(path)
		if err == nil {
			f.Close()
			t.Fatalf("a file cut to %d of %d bytes opened", n, len(full))
		}
		if !strings.Contains(err.Error(), path) {
			t.Fatalf("cut to %d bytes: error %q does not name the file", n, err)
		}
	}
}

func TestOpenMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.safetensors")
	_, err := safetensors.Open(path)
	mustContain(t, err, path)
	_, err = safetensors.Open(t.TempDir())
	mustContain(t, err, "not a regular file")
}

func TestClose(t *testing.T) {
	path := writeFile(t, t.TempDir(), "w.safetensors", []safetensors.Tensor{f32Tensor("w", []int{1}, 1)}, nil)
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Tensor("w"); ok {
		t.Error("Tensor after Close returned a tensor over unmapped memory")
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestTensorIsAView checks that Data aliases the file's bytes where the file
// says, and that Shape is the caller's own copy.
func TestTensorIsAView(t *testing.T) {
	path := writeFile(t, t.TempDir(), "w.safetensors", []safetensors.Tensor{
		{Name: "a", DType: safetensors.U8, Shape: []int{2}, Data: []byte{1, 2}},
		{Name: "b", DType: safetensors.U8, Shape: []int{3}, Data: []byte{3, 4, 5}},
	}, nil)
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, _ := f.Tensor("b")
	if cap(b.Data) != 3 {
		t.Errorf("cap(Data) = %d, want 3: appending would overwrite the mapping", cap(b.Data))
	}
	b.Shape[0] = 99
	if again, _ := f.Tensor("b"); again.Shape[0] != 3 {
		t.Error("changing a returned Shape changed the File")
	}
	section, begin, end, _ := f.Offsets("b")
	file, _ := os.ReadFile(path)
	if !bytes.Equal(file[section+begin:section+end], []byte{3, 4, 5}) || binary.LittleEndian.Uint64(file)+8 != uint64(section) {
		t.Errorf("offsets %d+[%d, %d] do not locate tensor b", section, begin, end)
	}
}
