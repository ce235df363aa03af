//go:build !js

package safetensors_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nib-editor/nib/model/safetensors"
)

// TestOpenDirNotARegularFile checks that OpenDir refuses, at once and
// naming the file, a model.safetensors or an index that is a named pipe
// or a link to /dev/zero.
func TestOpenDirNotARegularFile(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		make       func(path string) error
		want       string
	}{
		{"weights named pipe", safetensors.SingleFile, func(p string) error { return syscall.Mkfifo(p, 0o644) }, "named pipe"},
		{"weights link to /dev/zero", safetensors.SingleFile, func(p string) error { return os.Symlink("/dev/zero", p) }, "character device"},
		{"index named pipe", safetensors.IndexFile, func(p string) error { return syscall.Mkfifo(p, 0o644) }, "named pipe"},
		{"index link to /dev/zero", safetensors.IndexFile, func(p string) error { return os.Symlink("/dev/zero", p) }, "character device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.file)
			if err := tc.make(path); err != nil {
				t.Fatal(err)
			}
			var err error
			done := make(chan struct{})
			go func() {
				defer close(done)
				var s *safetensors.Set
				if s, err = safetensors.OpenDir(filepath.Dir(path)); err == nil {
					s.Close()
				}
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second): // a hang detector, not a timing
				t.Fatal("OpenDir has not returned after 10 s")
			}
			mustContain(t, err, path, "not a regular file", tc.want)
		})
	}
}
