//go:build !js

package model_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nib-editor/nib/model"
)

// returnsWithin runs f and fails the test if it has not returned within a
// bound far above any honest run: a hang detector, not a timing.
func returnsWithin(t *testing.T, what string, f func()) {
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

// TestConfigNotARegularFile checks that a config.json that is a link to
// /dev/zero, a named pipe or far too large is refused at once, by
// LoadConfig, ParseConfigFile (bench --config) and OpenCheckpoint, with an
// error naming the file and what is wrong, instead of reading forever or
// blocking.
func TestConfigNotARegularFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(t *testing.T, path string)
		want []string
	}{
		{"link to /dev/zero", func(t *testing.T, path string) {
			if err := os.Symlink("/dev/zero", path); err != nil {
				t.Fatal(err)
			}
		}, []string{"not a regular file", "character device"}},
		{"named pipe", func(t *testing.T, path string) {
			if err := syscall.Mkfifo(path, 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{"not a regular file", "named pipe"}},
		{"oversized", func(t *testing.T, path string) {
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := f.Truncate(2 << 20); err != nil { // sparse: costs no disk
				t.Fatal(err)
			}
		}, []string{"2097152 bytes", "limit of 1048576 bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "config.json")
			tc.make(t, path)
			for _, load := range []struct {
				name string
				call func() error
			}{
				{"LoadConfig", func() error { _, err := model.LoadConfig(dir); return err }},
				{"ParseConfigFile", func() error { _, err := model.ParseConfigFile(path); return err }},
				{"OpenCheckpoint", func() error {
					ck, err := model.OpenCheckpoint(dir)
					if err == nil {
						ck.Close()
					}
					return err
				}},
			} {
				var err error
				returnsWithin(t, load.name, func() { err = load.call() })
				if err == nil {
					t.Fatalf("%s accepted the file", load.name)
				}
				for _, w := range append([]string{path}, tc.want...) {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: error %q does not mention %q", load.name, err, w)
					}
				}
			}
		})
	}
}
