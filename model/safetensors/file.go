package safetensors

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/nib-editor/nib/model/internal/modelfile"
)

// File is one open .safetensors file, memory-mapped read-only. Its methods
// may be called concurrently, except Close, which must come after every
// other use of the File and of the Tensors it returned.
type File struct {
	path     string
	data     []byte // the whole file: the mapping, or its contents where mmap is unavailable
	unmap    func([]byte) error
	section  int // offset of the data section in data
	entries  []entry
	byName   map[string]int // index into entries
	metadata map[string]string
	closed   bool
}

// Open maps the file at path and validates its header (see the package
// documentation). Errors name the file and, where one is at fault, the
// tensor.
func Open(path string) (*File, error) {
	// A named pipe or device is refused without blocking or reading it.
	osf, fi, err := modelfile.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer osf.Close() // the mapping outlives the descriptor
	size := fi.Size()
	if size < 8 {
		return nil, fmt.Errorf("safetensors: %s: %d bytes, shorter than the 8-byte header length", path, size)
	}
	if size > math.MaxInt {
		return nil, fmt.Errorf("safetensors: %s: %d bytes, too large to map on this platform", path, size)
	}
	data, unmap, err := mapFile(osf, int(size))
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	f, err := newFile(path, data)
	if err != nil {
		unmap(data)
		return nil, err
	}
	f.unmap = unmap
	return f, nil
}

// newFile validates the contents of the file at path.
func newFile(path string, data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("safetensors: %s: %d bytes, shorter than the 8-byte header length", path, len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > maxHeader {
		return nil, fmt.Errorf("safetensors: %s: header length %d is over the limit of %d bytes (not a safetensors file?)", path, n, maxHeader)
	}
	if n > uint64(len(data)-8) {
		return nil, fmt.Errorf("safetensors: %s: header length %d runs past the end of the %d-byte file (truncated?)", path, n, len(data))
	}
	section := 8 + int(n)
	entries, metadata, err := parseHeader(data[8:section], len(data)-section)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	f := &File{
		path:     path,
		data:     data,
		section:  section,
		entries:  entries,
		byName:   make(map[string]int, len(entries)),
		metadata: metadata,
	}
	for i, e := range entries {
		f.byName[e.name] = i
	}
	return f, nil
}

// Path returns the path the File was opened from.
func (f *File) Path() string { return f.path }

// Names returns the names of the file's tensors, sorted.
func (f *File) Names() []string {
	names := make([]string, len(f.entries))
	for i, e := range f.entries {
		names[i] = e.name
	}
	return names
}

// Tensor returns the named tensor, and false if the file has none of that
// name or has been closed.
func (f *File) Tensor(name string) (Tensor, bool) {
	i, ok := f.byName[name]
	if !ok || f.closed {
		return Tensor{}, false
	}
	e := f.entries[i]
	return Tensor{
		Name:  e.name,
		DType: e.dtype,
		Shape: slices.Clone(e.shape),
		Data:  f.data[f.section+e.begin : f.section+e.end : f.section+e.end],
		File:  f.path,
	}, true
}

// Metadata returns a copy of the file's "__metadata__" strings, nil if it
// has none.
func (f *File) Metadata() map[string]string { return maps.Clone(f.metadata) }

// Close unmaps the file. Data of the Tensors it returned must not be read
// afterwards. Closing twice does nothing.
func (f *File) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	data := f.data
	f.data = nil
	if f.unmap == nil {
		return nil
	}
	if err := f.unmap(data); err != nil {
		return fmt.Errorf("safetensors: %s: unmap: %w", f.path, err)
	}
	return nil
}
