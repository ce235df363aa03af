//go:build !unix

package modelfile

import (
	"fmt"
	"os"
)

// openNoBlock checks that path is a regular file before opening it, since
// this platform has no non-blocking open: opening a named pipe would block.
// Open checks the opened file again.
func openNoBlock(path string) (*os.File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s)", path, kind(fi.Mode()))
	}
	return os.Open(path)
}
