// Package modelfile opens the files of a model folder for reading. A model
// folder is user input: any of its files may be a symbolic link to a device
// such as /dev/zero, which never ends, or a named pipe, which blocks the
// open until a writer comes. Every read of a model-folder file goes through
// Open or ReadFile, which refuse anything but a regular file at once, and
// ReadFile bounds what it reads so that no file can exhaust memory.
package modelfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Bounds for ReadFile, far above what real checkpoints hold: FLAN-T5's
// tokenizer.json is about 2.4 MB, its spiece.model 0.8 MB, its config.json
// under 2 KB.
const (
	// ConfigLimit bounds config-like JSON: config.json and its siblings.
	ConfigLimit = 1 << 20
	// TokenizerLimit bounds tokenizer.json and spiece.model.
	TokenizerLimit = 64 << 20
	// IndexLimit bounds a model.safetensors.index.json, which names every
	// tensor once; the safetensors reference implementation bounds a
	// file's header the same way.
	IndexLimit = 100_000_000
	// RefLimit bounds the small text files of the hub cache, such as
	// refs/main, which hold a commit hash.
	RefLimit = 4 << 10
)

// Open opens path for reading and returns it with its FileInfo. It does not
// block on a named pipe, and refuses anything that is not a regular file
// (after following symbolic links) with an error naming the path and what
// it is instead.
func Open(path string) (*os.File, fs.FileInfo, error) {
	f, err := openNoBlock(path)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s: not a regular file (%s)", path, kind(fi.Mode()))
	}
	return f, fi, nil
}

// ReadFile returns the contents of the regular file at path, refusing (as
// Open does) anything else, and refusing a file of more than limit bytes
// with an error naming the file, its size and the limit.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, fi, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi.Size() > limit {
		return nil, tooLarge(path, fi.Size(), limit)
	}
	// The file may grow between Stat and the read: read one byte past the
	// limit to notice.
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: grew past the limit of %d bytes while being read", path, limit)
	}
	return b, nil
}

func tooLarge(path string, size, limit int64) error {
	return fmt.Errorf("%s: %d bytes, over the limit of %d bytes for this file", path, size, limit)
}

// kind names a file type that is not regular, for error messages.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeIrregular != 0:
		return "an irregular file"
	}
	return "mode " + m.String()
}
