//go:build !js

package modelfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// within runs f and fails the test if it has not returned within a bound
// far above any honest run: it detects hangs, it does not time anything.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s has not returned after 10 s", what)
	}
}

// wantErr checks that err names path and holds every one of wants.
func wantErr(t *testing.T, err error, path string, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error for %s", path)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

func TestReadFileRefusesDevice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.Symlink("/dev/zero", path); err != nil {
		t.Fatal(err)
	}
	var err error
	within(t, "ReadFile of a link to /dev/zero", func() { _, err = ReadFile(path, ConfigLimit) })
	wantErr(t, err, path, "not a regular file", "character device")
}

func TestReadFileRefusesFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	var err error
	within(t, "ReadFile of a named pipe", func() { _, err = ReadFile(path, TokenizerLimit) })
	wantErr(t, err, path, "not a regular file", "named pipe")
	within(t, "Open of a named pipe", func() { _, _, err = Open(path) })
	wantErr(t, err, path, "not a regular file", "named pipe")
}

func TestReadFileRefusesFolder(t *testing.T) {
	path := t.TempDir()
	_, err := ReadFile(path, ConfigLimit)
	wantErr(t, err, path, "not a regular file", "folder")
}

func TestReadFileBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	content := bytes.Repeat([]byte{' '}, 1001)
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(path, 1000)
	wantErr(t, err, path, "1001 bytes", "limit of 1000 bytes")

	b, err := ReadFile(path, 1001)
	if err != nil {
		t.Fatalf("a file at the limit: %v", err)
	}
	if !bytes.Equal(b, content) {
		t.Errorf("read %d bytes, want the file's %d", len(b), len(content))
	}
}

func TestReadFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	_, err := ReadFile(path, ConfigLimit)
	if !os.IsNotExist(err) {
		t.Errorf("error %v, want one that says the file does not exist", err)
	}
	wantErr(t, err, path)
}

func TestOpenRegular(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := path + ".link"
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	f, fi, err := Open(link)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fi.Size() != 3 {
		t.Errorf("size %d, want 3", fi.Size())
	}
	buf := make([]byte, 8)
	n, _ := f.Read(buf)
	if string(buf[:n]) != "abc" {
		t.Errorf("read %q, want %q", buf[:n], "abc")
	}
}
