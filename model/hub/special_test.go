//go:build !js

package hub_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nib-editor/nib/model/hub"
)

// TestResolveNotARegularFile checks that Resolve refuses a refs/<revision>
// that is a named pipe or a link to /dev/zero at once, naming the file,
// instead of blocking on the pipe or reading /dev/zero forever.
func TestResolveNotARegularFile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		file  func(repo string) string // the file to replace
		make  func(path string) error
		wants []string
	}{
		{"ref named pipe", func(repo string) string { return filepath.Join(repo, "refs", "main") },
			func(p string) error { return syscall.Mkfifo(p, 0o644) }, []string{"not a regular file", "named pipe"}},
		{"ref link to /dev/zero", func(repo string) string { return filepath.Join(repo, "refs", "main") },
			func(p string) error { return os.Symlink("/dev/zero", p) }, []string{"not a regular file", "character device"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := t.TempDir()
			t.Setenv("HF_HUB_CACHE", cache)
			snap := makeSnapshot(t, cache, "google/flan-t5-base", "main", commitA, "config.json", "spiece.model")
			repo := filepath.Dir(filepath.Dir(snap))
			path := tc.file(repo)
			os.Remove(path)
			if err := tc.make(path); err != nil {
				t.Fatal(err)
			}
			var err error
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, err = hub.Resolve("google/flan-t5-base")
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second): // a hang detector, not a timing
				t.Fatal("Resolve has not returned after 10 s")
			}
			if err == nil {
				t.Fatal("Resolve accepted the snapshot")
			}
			if !errors.Is(err, hub.ErrNotCached) {
				t.Errorf("error %v does not wrap ErrNotCached, so it does not suggest nib pull", err)
			}
			for _, w := range append([]string{path}, tc.wants...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
