//go:build !js

package tests

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestProtocolErrors checks the answers to requests a client gets wrong:
// each names what is wrong, and the daemon goes on serving.
func TestProtocolErrors(t *testing.T) {
	c := start(t, "--model", filepath.Join(fixtures, "t5-tiny-relu-tied"))
	c.initialize(nil)
	c.waitReady()
	c.open(docURI, "one line\nsecond line", 1)

	cases := []struct {
		method string
		params any
		code   int64
		want   string
	}{
		{"nib/unknown", map[string]any{}, -32601, "nib/unknown"},
		{"initialize", map[string]any{"capabilities": map[string]any{}}, -32600, "already initialized"},
		{"nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": "start"}, -32602, "position"},
		{"nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": pos(5, 0)}, -32602, "5:0"},
		{"nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": pos(0, 99)}, -32602, "0:99"},
		{"nib/complete", map[string]any{"textDocument": map[string]any{"uri": "file:///nope"}, "position": pos(0, 0)}, -32602, "file:///nope"},
		{"nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": pos(0, 0), "strategy": "telepathy"}, -32602, "strategy"},
		{"nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": pos(0, 0), "n": 99}, -32602, "\"n\""},
		{"nib/rewrite", map[string]any{"textDocument": map[string]any{"uri": docURI}, "range": rng(0, 0, 0, 3), "instruction": " "}, -32602, "instruction"},
		{"nib/rewrite", map[string]any{"textDocument": map[string]any{"uri": docURI}, "range": rng(0, 5, 0, 2), "instruction": "Fix"}, -32602, "range"},
		{"workspace/executeCommand", map[string]any{"command": "rm -rf", "arguments": []any{}}, -32602, "unknown command"},
	}
	for _, tc := range cases {
		err := c.call(tc.method, tc.params, nil)
		if rpcCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: %v, want code %d mentioning %q", tc.method, tc.params, err, tc.code, tc.want)
		}
	}

	// An out-of-order version is refused and leaves the document as it
	// was: a completion still sees "one line".
	c.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": docURI, "version": 1},
		"contentChanges": []any{map[string]any{"text": "replaced"}},
	})
	c.waitNotification("window/showMessage", func(p json.RawMessage) bool { return strings.Contains(string(p), "version") })
	err := c.call("nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": pos(1, 11)}, nil)
	if err != nil {
		t.Errorf("position in the unchanged document: %v", err)
	}
	c.shutdown()

	// After shutdown only exit is accepted (the process has exited by
	// now; a new one shows the -32600).
	c2 := start(t, "--model", filepath.Join(fixtures, "t5-tiny-relu-tied"))
	c2.initialize(nil)
	c2.mustCall("shutdown", nil, nil)
	if err := c2.call("nib/stats", nil, nil); rpcCode(err) != -32600 {
		t.Errorf("request after shutdown: %v, want -32600", err)
	}
	c2.notify("exit", nil)
	<-c2.exited
}

// TestExitWithoutShutdown: exit without shutdown ends with status 1.
func TestExitWithoutShutdown(t *testing.T) {
	c := start(t)
	c.initialize(nil)
	c.notify("exit", nil)
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
		t.Fatal("no exit")
	}
	if ee, ok := c.exitErr.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("exit without shutdown: %v, want status 1", c.exitErr)
	}
	// A client that disappears: see TestStopWithinASecond.
}

// TestPositionEncodings negotiates each encoding and checks that positions
// are read in it: the same cursor, spelled in UTF-8, UTF-16 or UTF-32
// units, gives the same completion, and a position inside a character is
// refused.
func TestPositionEncodings(t *testing.T) {
	text := "naïve 日本 🌍 x"
	prefix := "naïve 日本 🌍"
	cols := map[string]int{
		"utf-8":  len(prefix),
		"utf-16": utf16Len(prefix),
		"utf-32": utf8.RuneCountInString(prefix),
	}
	inside := map[string]int{"utf-8": len("naïve 日") - 1, "utf-16": utf16Len("naïve 日本 ") + 1}
	var first string
	for _, enc := range []string{"utf-8", "utf-16", "utf-32"} {
		t.Run(enc, func(t *testing.T) {
			c := start(t, "--model", filepath.Join(fixtures, "t5-tiny-gated"))
			res := c.initialize(nil, enc)
			if got := res["capabilities"].(map[string]any)["positionEncoding"]; got != enc {
				t.Fatalf("negotiated %v, want %s", got, enc)
			}
			c.waitReady()
			c.open(docURI, text, 1)
			var g generated
			c.mustCall("nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": pos(0, cols[enc])}, &g)
			got := fmt.Sprint(g.Items)
			if first == "" {
				first = got
			} else if got != first {
				t.Errorf("%s cursor gives %s, utf-8 gave %s", enc, got, first)
			}
			if in, ok := inside[enc]; ok {
				err := c.call("nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": pos(0, in)}, nil)
				if rpcCode(err) != -32602 {
					t.Errorf("position inside a character: %v, want -32602", err)
				}
			}
			c.shutdown()
		})
	}
}
