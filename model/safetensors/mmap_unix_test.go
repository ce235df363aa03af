//go:build unix

package safetensors_test

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/nib-editor/nib/model/safetensors"
)

// TestOpenDoesNotCopy opens a 256 MiB file and reads every byte of its
// tensor: with the file mapped (mmap_unix.go), the Go heap must not grow by
// anything near that.
func TestOpenDoesNotCopy(t *testing.T) {
	const size = 256 << 20
	header := `{"w":{"dtype":"U8","shape":[268435456],"data_offsets":[0,268435456]}}`
	path := filepath.Join(t.TempDir(), "big.safetensors")
	if err := os.WriteFile(path, raw(header, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, int64(8+len(header)+size)); err != nil { // sparse: no disk written
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, _ := f.Tensor("w")
	sum := 0
	for _, b := range w.Data {
		sum += int(b)
	}
	runtime.ReadMemStats(&after)
	if len(w.Data) != size || sum != 0 {
		t.Fatalf("read %d bytes summing to %d, want %d zeros", len(w.Data), sum, size)
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 16<<20 {
		t.Errorf("the heap grew by %d bytes opening a %d-byte file", grew, size)
	}
}
