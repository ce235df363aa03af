//go:build !js

package tokenizer

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLoadNotARegularFile checks that a tokenizer file that is a link to
// /dev/zero, a named pipe or far too large is refused at once with an
// error naming the file and what is wrong: reading /dev/zero whole would
// exhaust memory, and opening a pipe would block until a writer came.
func TestLoadNotARegularFile(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		make       func(t *testing.T, path string)
		want       []string
	}{
		{"json link to /dev/zero", "tokenizer.json", devZero, []string{"not a regular file", "character device"}},
		{"json named pipe", "tokenizer.json", fifo, []string{"not a regular file", "named pipe"}},
		{"json oversized", "tokenizer.json", sparse(64<<20 + 1), []string{"67108865 bytes", "limit of 67108864 bytes"}},
		{"model link to /dev/zero", "spiece.model", devZero, []string{"not a regular file", "character device"}},
		{"model named pipe", "spiece.model", fifo, []string{"not a regular file", "named pipe"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tc.file)
			tc.make(t, path)
			var err error
			done := make(chan struct{})
			go func() {
				defer close(done)
				var tok *Tokenizer
				tok, err = Load(dir)
				if err == nil && tok == nil {
					t.Error("Load returned neither a tokenizer nor an error")
				}
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second): // a hang detector, not a timing
				t.Fatal("Load has not returned after 10 s")
			}
			if err == nil {
				t.Fatal("Load accepted the file")
			}
			for _, w := range append([]string{"tokenizer: ", path}, tc.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func devZero(t *testing.T, path string) {
	if err := os.Symlink("/dev/zero", path); err != nil {
		t.Fatal(err)
	}
}

func fifo(t *testing.T, path string) {
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
}

// sparse makes a file of n bytes that takes no disk space.
func sparse(n int64) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.Truncate(n); err != nil {
			t.Fatal(err)
		}
	}
}
