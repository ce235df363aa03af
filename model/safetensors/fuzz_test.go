package safetensors_test

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nib-editor/nib/model/safetensors"
)

// FuzzOpen opens arbitrary bytes as a file. Open must never panic; an error
// must name the file; a file it accepts must be consistent: sorted names,
// every Data exactly the bytes its offsets locate in the file and exactly
// Elements*Size long, no two tensors sharing a byte, conversions without
// panics, and a rewrite with Write that opens to the same tensors.
func FuzzOpen(f *testing.F) {
	var b bytes.Buffer
	if err := safetensors.Write(&b, allDTypes(), map[string]string{"format": "pt"}); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	b.Reset()
	if err := safetensors.Write(&b, []safetensors.Tensor{f32Tensor("a", []int{2}, 1, 2)}, nil); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add(raw(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[1,1]},"b":{"dtype":"I16","shape":[1,1],"data_offsets":[1,3]}}`, make([]byte, 5)))
	for _, m := range malformed {
		f.Add(m.file)
	}

	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, file []byte) {
		path := filepath.Join(dir, "fuzz.safetensors")
		if err := os.WriteFile(path, file, 0o644); err != nil {
			t.Fatal(err)
		}
		sf, err := safetensors.Open(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		defer sf.Close()

		names := sf.Names()
		if !slices.IsSorted(names) {
			t.Fatalf("names not sorted: %q", names)
		}
		type span struct {
			name       string
			begin, end int
		}
		var spans []span
		var tensors []safetensors.Tensor
		for _, name := range names {
			tn, ok := sf.Tensor(name)
			if !ok {
				t.Fatalf("Names lists %q but Tensor has none", name)
			}
			n := tn.Elements()
			if n < 0 || tn.DType.Size() == 0 || len(tn.Data) != n*tn.DType.Size() {
				t.Fatalf("tensor %q: %s %v with %d bytes of data", name, tn.DType, tn.Shape, len(tn.Data))
			}
			section, begin, end, _ := sf.Offsets(name)
			if uint64(section) != 8+binary.LittleEndian.Uint64(file) || begin < 0 || begin > end || section+end > len(file) {
				t.Fatalf("tensor %q: offsets %d+[%d, %d] outside a %d-byte file", name, section, begin, end, len(file))
			}
			if !bytes.Equal(tn.Data, file[section+begin:section+end]) {
				t.Fatalf("tensor %q: Data differs from the file's bytes at its offsets", name)
			}
			if begin < end {
				spans = append(spans, span{name, begin, end})
			}
			tn.Float32()
			tn.Int64()
			tensors = append(tensors, tn)
		}
		slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.begin, b.begin) })
		for i := 1; i < len(spans); i++ {
			if spans[i].begin < spans[i-1].end {
				t.Fatalf("tensors %q and %q overlap", spans[i-1].name, spans[i].name)
			}
		}

		var b bytes.Buffer
		if err := safetensors.Write(&b, tensors, sf.Metadata()); err != nil {
			t.Fatalf("rewriting an accepted file: %v", err)
		}
		again := filepath.Join(dir, "again.safetensors")
		if err := os.WriteFile(again, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		sf2, err := safetensors.Open(again)
		if err != nil {
			t.Fatalf("reopening a rewritten file: %v", err)
		}
		defer sf2.Close()
		if !slices.Equal(sf2.Names(), names) || !maps.Equal(sf2.Metadata(), sf.Metadata()) {
			t.Fatalf("rewrite has names %q and metadata %v, want %q and %v", sf2.Names(), sf2.Metadata(), names, sf.Metadata())
		}
		for _, want := range tensors {
			got, _ := sf2.Tensor(want.Name)
			if got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) || !bytes.Equal(got.Data, want.Data) {
				t.Fatalf("tensor %q changed in the rewrite", want.Name)
			}
		}
	})
}
