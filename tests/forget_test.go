//go:build !js

package tests

import (
	"path/filepath"
	"testing"
	"time"
)

// TestCloseForgetsTypeThrough: closing a document drops the completion kept
// for typing through it (the decoder cache entry), and only that document's:
// the daemon hands the service the key its completions were asked with.
func TestCloseForgetsTypeThrough(t *testing.T) {
	c := start(t, "--model", filepath.Join(fixtures, "t5-tiny-gated"), "--stdio")
	c.initialize(nil)
	c.waitReady()
	const a, b = "file:///forget/a.txt", "file:///forget/b.txt"
	const text = "The weather today is"
	entries := func() int {
		var st stats
		c.mustCall("nib/stats", nil, &st)
		return st.Caches["decoder"].Entries
	}
	for _, uri := range []string{a, b} {
		c.open(uri, text, 1)
		var g generated
		c.mustCall("nib/complete", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": endOf(text)}, &g)
	}
	if n := entries(); n != 2 {
		t.Fatalf("%d type-through states kept after completing in two documents, want 2", n)
	}
	// didClose is a notification: poll the stats until it is handled.
	waitEntries := func(want int, what string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for n := entries(); n != want; n = entries() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d type-through states kept, want %d", what, n, want)
			}
			time.Sleep(10 * time.Millisecond) // polling a condition, not a synchronisation by time
		}
	}
	c.notify("textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": a}})
	waitEntries(1, "after closing "+a)
	c.notify("textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": b}})
	waitEntries(0, "after closing "+b)
}
