//go:build !js

package tests

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBadFrames writes, byte by byte, each kind of message a broken client
// may send. Each is answered with an error naming what is wrong (under the
// request's id where it can be read), and after each a good request gets
// the same answer as before and the document is as the client sent it.
func TestBadFrames(t *testing.T) {
	c := startRaw(t, nil, "--model", filepath.Join(fixtures, "t5-tiny-gated"), "--max-message-bytes", "4096")
	const doc = "Hello world, this is nib.\nSecond line"

	c.send(req(1, "nib/stats", nil))
	c.expectError("1", -32002, "nib/stats before initialize")
	c.send(req(2, "initialize", map[string]any{"capabilities": map[string]any{}}))
	c.expectResult("2", nil)
	c.send(note("initialized", map[string]any{}))
	c.send(note("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": docURI, "languageId": "plaintext", "version": 1, "text": doc}}))

	// The good request asked after each bad one, and its answer.
	good := func(id int) string {
		return req(id, "nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": pos(0, 12), "maxTokens": 6})
	}
	var want generated
	c.send(good(3))
	c.expectResult("3", &want)
	if len(want.Items) != 1 {
		t.Fatalf("baseline completion %+v", want)
	}
	next := 100
	checkGood := func(after string) {
		t.Helper()
		next++
		var got generated
		c.send(good(next))
		c.expectResult(fmt.Sprint(next), &got)
		if fmt.Sprint(got.Items) != fmt.Sprint(want.Items) {
			t.Errorf("after %s: completion %+v, before %+v", after, got.Items, want.Items)
		}
		// The document is the client's: its last line ends where the
		// client's does, and there is nothing after it.
		for _, p := range []struct {
			line, char int
			ok         bool
		}{{1, len("Second line"), true}, {1, len("Second line") + 1, false}, {2, 0, false}} {
			next++
			c.send(req(next, "textDocument/codeAction", map[string]any{"textDocument": map[string]any{"uri": docURI},
				"range": rng(p.line, p.char, p.line, p.char), "context": map[string]any{"diagnostics": []any{}}}))
			if m := c.response(fmt.Sprint(next)); (m.Error == nil) != p.ok {
				t.Errorf("after %s: position %d:%d: %+v, want valid %v", after, p.line, p.char, m, p.ok)
			}
		}
	}

	steps := []struct {
		name  string
		input string
		id    string // "null" when nib cannot read one
		code  int64
		want  []string
	}{
		{"malformed JSON", frame(`{"jsonrpc":"2.0","id":10,"method":"nib/stats",}`), "10", -32700,
			[]string{"not valid JSON", "invalid character '}'"}},
		{"Content-Length too short", "Content-Length: 30\r\n\r\n" + req(11, "nib/stats", nil), "11", -32700,
			[]string{"ends inside its JSON after 30 bytes", "Content-Length too short"}},
		{"Content-Length too long, then a message", "Content-Length: 200\r\n\r\n" + req(12, "nib/stats", nil) + frame(req(24, "nib/stats", nil)), "12", -32600,
			[]string{"Content-Length is 200 but the message's JSON ends after"}},
		{"over the size limit", frame(req(13, "nib/complete", map[string]any{"padding": strings.Repeat("x", 5000)})), "13", -32600,
			[]string{"exceeds the limit of 4096 bytes", "--max-message-bytes"}},
		{"garbage between messages", "}}} not a header\r\n", "null", -32700,
			[]string{`"}}} not a header" is not a header line`}},
		{"no Content-Length", "Content-Type: application/json\r\n\r\n{}", "null", -32700,
			[]string{"without a Content-Length header"}},
		{"not a request", frame(`{"jsonrpc":"2.0","id":14}`), "14", -32600,
			[]string{"invalid request"}},
		{"unknown method", frame(req(15, "nib/nope", map[string]any{})), "15", -32601,
			[]string{"method not found: nib/nope"}},
		{"test hooks off", frame(req(16, "$/nib/test/panic", map[string]any{"in": "run"})), "16", -32601,
			[]string{"method not found"}},
		{"wrong parameter type", frame(req(17, "nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": map[string]any{"line": "zero", "character": 0}})), "17", -32602,
			[]string{`field "position.line"`, "string"}},
		{"wrong parameter type, nested", frame(req(18, "nib/rewrite", map[string]any{"textDocument": []any{docURI}, "range": rng(0, 0, 0, 1), "instruction": "x"})), "18", -32602,
			[]string{`field "textDocument"`, "array"}},
		{"params missing", frame(`{"jsonrpc":"2.0","id":19,"method":"nib/complete"}`), "19", -32602,
			[]string{"params are missing"}},
		{"initialize twice", frame(req(20, "initialize", map[string]any{"capabilities": map[string]any{}})), "20", -32600,
			[]string{"already initialized"}},
	}
	for _, s := range steps {
		nulls := len(c.nullErrors())
		c.write(s.input)
		if s.id == "null" {
			// Answered before the good request that follows.
			c.wait("error for "+s.name, func(rawMsg) bool { return len(c.nullErrors()) > nulls })
			got := c.nullErrors()[nulls]
			for _, w := range s.want {
				if !strings.Contains(got, w) {
					t.Errorf("%s: error %q does not mention %q", s.name, got, w)
				}
			}
		} else {
			c.expectError(s.id, s.code, s.want...)
		}
		checkGood(s.name)
	}

	// A Content-Length too long for a whole message after which the client
	// falls silent: once the silence shows it, the message is read as what
	// came (its missing bytes could only be whitespace) and answered; the
	// next message, where those bytes should be, shows the lie in the log.
	c.write("Content-Length: 300\r\n\r\n" + req(21, "nib/stats", nil))
	c.expectResult("21", nil)
	checkGood("a Content-Length too long, then silence")
	if n := len(c.logLinesWith("Content-Length of a message read after the client fell silent was too long")); n != 1 {
		t.Errorf("the too long Content-Length was logged %d times, want once:\n%s", n, c.stderr.String())
	}

	// A second request with the id of one in flight is refused; the first
	// goes on, and is answered when cancelled: two answers with id 22.
	long := req(22, "nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": pos(1, 6), "maxTokens": 1024, "stopAtSentenceEnd": false, "partialResultToken": "long"})
	c.send(long)
	c.wait("the long request's first token", func(m rawMsg) bool { return m.Method == "$/progress" && strings.Contains(string(m.Params), `"long"`) })
	c.send(req(22, "nib/stats", nil))
	c.expectError("22", -32600, "request id 22 is already in use by a request in progress")
	c.send(note("$/cancelRequest", map[string]any{"id": 22}))
	c.wait("the cancelled request's answer", func(m rawMsg) bool { return m.isResponse("22") && m.Error != nil && m.Error.Code == -32800 })
	if n := c.count(func(m rawMsg) bool { return m.isResponse("22") }); n != 2 {
		t.Errorf("%d answers with id 22, want the refusal and the cancellation", n)
	}
	checkGood("a duplicate id")

	// Every request was answered exactly once, the one after the lying
	// Content-Length included.
	c.expectResult("24", nil)
	ids := []int{1, 2, 3, 21, 23, 24}
	for _, s := range steps {
		if s.id != "null" {
			ids = append(ids, atoi(t, s.id))
		}
	}
	for id := 101; id <= next; id++ {
		ids = append(ids, id)
	}
	for _, id := range ids {
		if n := c.count(func(m rawMsg) bool { return m.isResponse(fmt.Sprint(id)) }); n != 1 && id != 23 {
			t.Errorf("request %d answered %d times", id, n)
		}
	}

	// The input ending inside a message, with a generation running: the
	// request is answered and nib exits at once (status 1: no shutdown).
	c.send(req(25, "nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": pos(1, 6), "maxTokens": 1024, "stopAtSentenceEnd": false, "partialResultToken": "last"}))
	c.wait("the last generation's first token", func(m rawMsg) bool { return m.Method == "$/progress" && strings.Contains(string(m.Params), `"last"`) })
	c.write("Content-Length: 100\r\n\r\n" + `{"jsonrpc":"2.0","id":23,"method":"nib/stats","par`)
	c.stdin.Close()
	start := time.Now()
	c.expectError("23", -32700, "the input ended")
	if code := c.waitExit(stopLimit()); code != 1 {
		t.Errorf("exit status %d after the input ended without shutdown, want 1", code)
	}
	t.Logf("exited %v after its input ended", time.Since(start).Round(time.Millisecond))
	if len(c.logLinesWith("stopping\t{\"reason\": \"client disconnected\"}")) != 1 || len(c.logLinesWith("stopped\t{\"reason\": \"client disconnected\"")) != 1 || len(c.logLinesWith("panicked")) != 0 {
		t.Errorf("stopping was not clean:\n%s", c.stderr.String())
	}
	c.mu.Lock()
	readErr := c.readErr
	c.mu.Unlock()
	if readErr != nil && readErr != io.EOF {
		t.Errorf("stdout: %v", readErr)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBadRequestsAfterShutdown: after shutdown every request is refused
// with -32600 and notifications are dropped; exit then ends with status 0.
func TestBadRequestsAfterShutdown(t *testing.T) {
	c := startRaw(t, nil)
	c.send(req(1, "initialize", map[string]any{"capabilities": map[string]any{}}))
	c.expectResult("1", nil)
	c.send(req(2, "shutdown", nil))
	c.expectResult("2", nil)
	c.send(req(3, "nib/stats", nil))
	c.expectError("3", -32600, "nib/stats after shutdown")
	c.send(req(4, "nib/nope", nil))
	c.expectError("4", -32600, "after shutdown")
	c.send(note("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": docURI, "version": 1, "text": "x"}}))
	c.send(note("exit", nil))
	if code := c.waitExit(stopLimit()); code != 0 {
		t.Errorf("exit after shutdown: status %d", code)
	}
	if len(c.logLinesWith("notification after shutdown dropped")) != 1 {
		t.Errorf("the didOpen after shutdown was not logged as dropped")
	}
}
