//go:build !js

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// brokenFolder makes a model folder whose files link to the t5-tiny-gated
// fixture's, except broken, which make creates in its place.
func brokenFolder(t *testing.T, broken string, make func(path string) error) string {
	t.Helper()
	src, err := filepath.Abs(filepath.Join(fixtures, "t5-tiny-gated"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"config.json", "model.safetensors", "tokenizer.json", "spiece.model"} {
		path := filepath.Join(dir, name)
		if name == broken {
			err = make(path)
		} else {
			err = os.Symlink(filepath.Join(src, name), path)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func devZero(path string) error { return os.Symlink("/dev/zero", path) }
func fifo(path string) error    { return syscall.Mkfifo(path, 0o644) }

// TestSubcommandsRefuseSpecialFiles checks that tokenize, forward and
// bench refuse at once, naming the file, a model file or --config that is
// a link to /dev/zero (read whole, it would exhaust memory) or a named pipe
// (opened, it would block forever).
func TestSubcommandsRefuseSpecialFiles(t *testing.T) {
	ref, err := filepath.Abs(filepath.Join(fixtures, "t5-tiny-gated", "reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  func(t *testing.T) ([]string, string) // the arguments and the file at fault
		kind  string
		stdin string
	}{
		{"tokenize tokenizer.json /dev/zero", func(t *testing.T) ([]string, string) {
			d := brokenFolder(t, "tokenizer.json", devZero)
			return []string{"tokenize", "--model", d}, filepath.Join(d, "tokenizer.json")
		}, "character device", `"a"` + "\n"},
		{"tokenize tokenizer.json pipe", func(t *testing.T) ([]string, string) {
			d := brokenFolder(t, "tokenizer.json", fifo)
			return []string{"tokenize", "--model", d}, filepath.Join(d, "tokenizer.json")
		}, "named pipe", `"a"` + "\n"},
		{"forward config.json /dev/zero", func(t *testing.T) ([]string, string) {
			d := brokenFolder(t, "config.json", devZero)
			return []string{"forward", "--model", d, "--reference", ref}, filepath.Join(d, "config.json")
		}, "character device", ""},
		{"forward config.json pipe", func(t *testing.T) ([]string, string) {
			d := brokenFolder(t, "config.json", fifo)
			return []string{"forward", "--model", d, "--reference", ref}, filepath.Join(d, "config.json")
		}, "named pipe", ""},
		{"forward reference pipe", func(t *testing.T) ([]string, string) {
			p := filepath.Join(t.TempDir(), "reference.safetensors")
			if err := fifo(p); err != nil {
				t.Fatal(err)
			}
			return []string{"forward", "--model", filepath.Join(fixtures, "t5-tiny-gated"), "--reference", p}, p
		}, "named pipe", ""},
		{"bench --config /dev/zero", func(t *testing.T) ([]string, string) {
			return []string{"bench", "--config", "/dev/zero", "--random-weights"}, "/dev/zero"
		}, "character device", ""},
		{"bench --config pipe", func(t *testing.T) ([]string, string) {
			p := filepath.Join(t.TempDir(), "config.json")
			if err := fifo(p); err != nil {
				t.Fatal(err)
			}
			return []string{"bench", "--config", p, "--random-weights"}, p
		}, "named pipe", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args, file := tc.args(t)
			var out, errOut bytes.Buffer
			var err error
			done := make(chan struct{})
			go func() {
				defer close(done)
				err = run(context.Background(), args, strings.NewReader(tc.stdin), &out, &errOut)
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second): // a hang detector, not a timing
				t.Fatalf("nib %s has not returned after 10 s", strings.Join(args, " "))
			}
			if err == nil {
				t.Fatalf("nib %s succeeded:\n%s", strings.Join(args, " "), out.String())
			}
			for _, w := range []string{file, "not a regular file", tc.kind} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
