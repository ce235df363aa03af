//go:build !js

package tests

import (
	"io/fs"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestNoNetworkNoWrites: a hub id that is not in the cache makes the
// daemon say how to download it, never download it: a listener standing in
// for the hub (HF_ENDPOINT) sees no connection. The daemon writes nothing
// under its home or Hugging Face folders either.
func TestNoNetworkNoWrites(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	defer ln.Close()
	home := t.TempDir()
	env := []string{
		"HF_ENDPOINT=http://" + ln.Addr().String(),
		"HOME=" + home, "HF_HOME=" + filepath.Join(home, "hf"), "HF_HUB_CACHE=" + filepath.Join(home, "hub"),
		"XDG_CACHE_HOME=" + filepath.Join(home, "cache"), "HF_TOKEN=secret",
	}
	c := startEnv(t, env, "--model", "google/flan-t5-small")
	c.initialize(nil)
	c.open(docURI, "Hello.", 1)
	c.expectMessage("could not load the model google/flan-t5-small", "nib pull google/flan-t5-small")
	err = c.call("nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": pos(0, 6)}, nil)
	if rpcCode(err) != -32803 || !strings.Contains(err.Error(), "run `nib pull google/flan-t5-small` to download it") {
		t.Errorf("request with a model not in the cache: %v", err)
	}
	// A hub id with a revision, through the settings: the same.
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"model": "google/flan-t5-base@v1"}})
	c.expectMessage("nib pull --revision v1 google/flan-t5-base")
	c.shutdown()
	if n := conns.Load(); n != 0 {
		t.Errorf("the daemon opened %d connections to HF_ENDPOINT", n)
	}
	var written []string
	filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if path != home {
			written = append(written, path)
		}
		return nil
	})
	if len(written) != 0 {
		t.Errorf("the daemon wrote %q", written)
	}
}
