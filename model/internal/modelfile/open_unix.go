//go:build unix

package modelfile

import (
	"os"
	"syscall"
)

// openNoBlock opens path with O_NONBLOCK, so that a named pipe without a
// writer opens at once instead of blocking; Open then refuses it. Regular
// files ignore the flag, so reading them afterwards is unaffected.
func openNoBlock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
