//go:build !js

package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"
)

// lspLines splits text into lines as LSP does: at "\r\n", "\r" and "\n".
func lspLines(text string) []string {
	var lines []string
	start := 0
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '\n':
			lines = append(lines, text[start:i])
			start = i + 1
		case '\r':
			lines = append(lines, text[start:i])
			if i+1 < len(text) && text[i+1] == '\n' {
				i++
			}
			start = i + 1
		}
	}
	return append(lines, text[start:])
}

// endPos is the UTF-16 position of the end of text.
func endPos(text string) map[string]any {
	lines := lspLines(text)
	return pos(len(lines)-1, utf16Len(lines[len(lines)-1]))
}

// utf16Offset converts a UTF-16 position of text to a byte offset.
func utf16Offset(text string, line, char int) int {
	off := 0
	for i, l := range lspLines(text) {
		if i == line {
			u := utf16.Encode([]rune(l))
			return off + len(string(utf16.Decode(u[:char])))
		}
		off += len(l)
		switch {
		case strings.HasPrefix(text[off:], "\r\n"):
			off += 2
		default:
			off++
		}
	}
	panic("line out of range")
}

// valid asks whether p is a position of the document uri, by asking for
// the code actions of the empty range there: no model involved.
func (c *client) valid(uri string, line, char int) bool {
	c.t.Helper()
	var actions []any
	err := c.call("textDocument/codeAction", map[string]any{"textDocument": map[string]any{"uri": uri},
		"range": rng(line, char, line, char), "context": map[string]any{"diagnostics": []any{}}}, &actions)
	if err != nil && rpcCode(err) != -32602 {
		c.t.Fatalf("codeAction at %d:%d: %v", line, char, err)
	}
	return err == nil
}

// sameLines checks that every line of uri has the UTF-16 length of the
// same line of want, and that uri has no line more: its end of line is a
// position, one unit further is not. lines limits the check to those
// lines (nil: all).
func (c *client) sameLines(uri, want string, lines ...int) {
	c.t.Helper()
	ls := lspLines(want)
	if lines == nil {
		for i := range ls {
			lines = append(lines, i)
		}
	}
	for _, i := range lines {
		n := utf16Len(ls[i])
		if !c.valid(uri, i, n) || c.valid(uri, i, n+1) {
			c.t.Fatalf("%s: line %d is not %d UTF-16 units long as the client's copy", uri, i, n)
		}
	}
	if c.valid(uri, len(ls), 0) {
		c.t.Fatalf("%s has more than the client's %d lines", uri, len(ls))
	}
}

var checks atomic.Int64

// sameText checks through the daemon that the text in r of uri equals
// want: a rewrite of r under an instruction never asked before, asked
// again of a fresh document holding want, must be answered from the
// encoder cache (its prompt has the same tokens) with the same result.
// want must fit the prompt budget.
func (c *client) sameText(uri string, r map[string]any, want string) {
	c.t.Helper()
	n := checks.Add(1)
	params := func(uri string, r map[string]any) map[string]any {
		return map[string]any{"textDocument": map[string]any{"uri": uri}, "range": r,
			"instruction": fmt.Sprintf("Check %d", n), "n": 1, "strategy": "greedy", "maxTokens": 2}
	}
	var got, again generated
	c.mustCall("nib/rewrite", params(uri, r), &got)
	fresh := fmt.Sprintf("file:///check/%d", n)
	c.open(fresh, want, 1)
	c.mustCall("nib/rewrite", params(fresh, map[string]any{"start": pos(0, 0), "end": endPos(want)}), &again)
	c.notify("textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": fresh}})
	texts := func(g generated) (out []string) {
		for _, it := range g.Items {
			out = append(out, it.Text)
		}
		return out
	}
	if again.Cached != "encoder" || fmt.Sprint(texts(again)) != fmt.Sprint(texts(got)) {
		c.t.Fatalf("%s %v does not hold the client's text %q: its rewrite %q, the copy's %q (cached %q)",
			uri, r, clip(want), texts(got), texts(again), again.Cached)
	}
}

// sameDocument checks that uri is want: lines and text.
func (c *client) sameDocument(uri, want string) {
	c.t.Helper()
	c.sameLines(uri, want)
	c.sameText(uri, map[string]any{"start": pos(0, 0), "end": endPos(want)}, want)
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// change sends one incremental change.
func (c *client) change(uri string, version int, r map[string]any, text string) {
	c.t.Helper()
	ch := map[string]any{"text": text}
	if r != nil {
		ch["range"] = r
	}
	c.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": uri, "version": version},
		"contentChanges": []any{ch},
	})
}

// showMessages waits for a window/showMessage with all of want in it.
func (c *client) expectMessage(want ...string) {
	c.t.Helper()
	c.waitNotification("window/showMessage", func(p json.RawMessage) bool {
		for _, w := range want {
			if !strings.Contains(string(p), w) {
				return false
			}
		}
		return true
	})
}

// TestDocuments sends document changes that do not fit: each is refused
// with a message naming the document and the problem, and the document
// stays as the client has it. Then text that is not UTF-8, an empty
// document, a selection of all the text, a 10 MB document and a line of a
// million characters.
func TestDocuments(t *testing.T) {
	c := start(t, "--model", filepath.Join(fixtures, "t5-tiny-relu-tied"))
	c.initialize(map[string]any{"completion": map[string]any{"maxTokens": 4}})
	c.waitReady()

	text := "a😀b\r\nline two\rthird\n"
	c.open(docURI, text, 1)
	c.sameDocument(docURI, text)

	// Positions: inside the surrogate pair, beyond a line, beyond the
	// last line, negative.
	for _, p := range []struct {
		line, char int
		want       string
	}{
		{0, 2, "inside the surrogate pair of U+1F600"},
		{0, 5, "beyond the end of line 0 (4 UTF-16 code units)"},
		{1, 9, "beyond the end of line 1"},
		{4, 0, "beyond the last line, 3 (the document has 4 lines)"},
		{-1, 0, "negative"},
	} {
		err := c.call("nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": pos(p.line, p.char)}, nil)
		if rpcCode(err) != -32602 || !strings.Contains(err.Error(), p.want) {
			t.Errorf("position %d:%d: %v, want -32602 saying %q", p.line, p.char, err, p.want)
		}
	}

	// Changes that do not fit are refused whole, named to the user, and
	// change nothing.
	bad := []struct {
		name    string
		uri     string
		version int
		changes []any
		want    []string
	}{
		{"inside a surrogate pair", docURI, 2, []any{map[string]any{"range": rng(0, 2, 0, 2), "text": "x"}},
			[]string{docURI, "version 2", "inside the surrogate pair"}},
		{"beyond the line", docURI, 2, []any{map[string]any{"range": rng(1, 3, 1, 12), "text": "x"}},
			[]string{"end of range 1:3-1:12", "beyond the end of line 1"}},
		{"range backwards", docURI, 2, []any{map[string]any{"range": rng(1, 4, 1, 2), "text": "x"}},
			[]string{"starts after it ends"}},
		{"second change bad", docURI, 2, []any{map[string]any{"range": rng(0, 0, 0, 0), "text": "ok"}, map[string]any{"range": rng(9, 0, 9, 0), "text": "x"}},
			[]string{"change 2 of 2", "beyond the last line"}},
		{"same version", docURI, 1, []any{map[string]any{"text": "replaced"}},
			[]string{"version 1 of " + docURI + " is not after the current version 1"}},
		{"older version", docURI, 0, []any{map[string]any{"text": "replaced"}},
			[]string{"version 0", "not after the current version 1"}},
		{"unknown document", "file:///nowhere.txt", 5, []any{map[string]any{"text": "x"}},
			[]string{"file:///nowhere.txt", "is not open"}},
		{"wrong type", docURI, 2, []any{map[string]any{"range": "all", "text": "x"}},
			[]string{"textDocument/didChange", `field \"contentChanges.range\"`}},
	}
	for _, b := range bad {
		c.notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": b.uri, "version": b.version}, "contentChanges": b.changes})
		c.expectMessage(b.want...)
		c.sameLines(docURI, text)
	}
	c.notify("textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": "file:///nowhere.txt"}})
	c.expectMessage("didClose", "file:///nowhere.txt", "not open")
	c.sameDocument(docURI, text)

	// Good changes after the bad ones: in order, several at once.
	c.change(docURI, 2, rng(0, 1, 0, 3), "é")
	text = "aéb\r\nline two\rthird\n"
	c.notify("textDocument/didChange", map[string]any{"textDocument": map[string]any{"uri": docURI, "version": 5}, "contentChanges": []any{
		map[string]any{"range": rng(1, 5, 1, 8), "text": "2\r\nnew"},
		map[string]any{"range": rng(3, 0, 3, 0), "text": "🌍 "},
	}})
	text = "aéb\r\nline 2\r\nnew\r🌍 third\n"
	c.sameDocument(docURI, text)

	// Text that is not UTF-8 (a Latin-1 é, a lone surrogate escape): read
	// as U+FFFD per bad byte or escape, as Go's JSON decoder does, with a
	// warning; positions count the U+FFFD.
	raw := `{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///latin1.txt","languageId":"plaintext","version":1,"text":"caf` + "\xe9" + ` ok\nx\ud800y"}}}`
	if _, err := io.WriteString(c.stdin, frame(raw)); err != nil {
		t.Fatal(err)
	}
	c.expectMessage("not valid UTF-8", "U+FFFD")
	latin := "caf\uFFFD ok\nx\uFFFDy"
	c.sameDocument("file:///latin1.txt", latin)
	c.change("file:///latin1.txt", 2, rng(0, 3, 0, 4), "é")
	c.sameDocument("file:///latin1.txt", "café ok\nx\uFFFDy")

	// An empty document: completion works, the only position is 0:0,
	// an empty selection offers nothing and cannot be rewritten.
	c.open("file:///empty.txt", "", 1)
	c.sameLines("file:///empty.txt", "")
	var g generated
	c.mustCall("nib/complete", map[string]any{"textDocument": map[string]any{"uri": "file:///empty.txt"}, "position": pos(0, 0)}, &g)
	var inline struct{ Items []any }
	c.mustCall("textDocument/inlineCompletion", map[string]any{"textDocument": map[string]any{"uri": "file:///empty.txt"}, "position": pos(0, 0), "context": map[string]any{"triggerKind": 1}}, &inline)
	var actions []any
	c.mustCall("textDocument/codeAction", map[string]any{"textDocument": map[string]any{"uri": "file:///empty.txt"}, "range": rng(0, 0, 0, 0), "context": map[string]any{"diagnostics": []any{}}}, &actions)
	if len(actions) != 0 {
		t.Errorf("code actions on an empty document: %v", actions)
	}
	err := c.call("nib/rewrite", map[string]any{"textDocument": map[string]any{"uri": "file:///empty.txt"}, "range": rng(0, 0, 0, 0), "instruction": "Fix"}, nil)
	if rpcCode(err) != -32602 || !strings.Contains(err.Error(), "selection is empty") {
		t.Errorf("rewrite of an empty selection: %v, want -32602", err)
	}
	c.change("file:///empty.txt", 2, rng(0, 0, 0, 0), "Now it has text.")
	c.sameDocument("file:///empty.txt", "Now it has text.")

	// A selection of the whole text: the edits of each rewrite turn the
	// client's copy into the rewrite; one unit beyond is refused.
	all := map[string]any{"start": pos(0, 0), "end": endPos(text)}
	var rw generated
	c.mustCall("nib/rewrite", map[string]any{"textDocument": map[string]any{"uri": docURI}, "range": all, "instruction": "Fix the grammar", "n": 2, "maxTokens": 8}, &rw)
	if len(rw.Items) == 0 {
		t.Fatalf("rewrite of the whole text gave nothing")
	}
	for _, it := range rw.Items {
		if got := applyEdits(t, text, it.Edits); got != it.Text {
			t.Errorf("edits %+v turn the text into %q, the rewrite is %q", it.Edits, got, it.Text)
		}
	}
	end := endPos(text)
	beyond := map[string]any{"start": pos(0, 0), "end": pos(end["line"].(int), end["character"].(int)+1)}
	if err := c.call("nib/rewrite", map[string]any{"textDocument": map[string]any{"uri": docURI}, "range": beyond, "instruction": "Fix"}, nil); rpcCode(err) != -32602 {
		t.Errorf("rewrite beyond the end: %v, want -32602", err)
	}

	// A 10 MB document: completion at its end and in its middle, an edit
	// in the middle, a rewrite of all of it refused as over the budget.
	var big strings.Builder
	for i := 0; big.Len() < 10<<20; i++ {
		fmt.Fprintf(&big, "Line %d of a long document, with 😀 and é in it.\n", i)
	}
	bigText := big.String()
	startBig := time.Now()
	c.open("file:///big.txt", bigText, 1)
	lines := lspLines(bigText)
	mid := len(lines) / 2
	c.mustCall("nib/complete", map[string]any{"textDocument": map[string]any{"uri": "file:///big.txt"}, "position": endPos(bigText)}, &g)
	c.mustCall("nib/complete", map[string]any{"textDocument": map[string]any{"uri": "file:///big.txt"}, "position": pos(mid, 5)}, &g)
	c.change("file:///big.txt", 2, rng(mid, 5, mid+2, 7), "EDITED")
	a := utf16Offset(bigText, mid, 5)
	b := utf16Offset(bigText, mid+2, 7)
	bigText = bigText[:a] + "EDITED" + bigText[b:]
	lines = lspLines(bigText)
	c.sameLines("file:///big.txt", bigText, 0, mid-1, mid, mid+1, len(lines)-2, len(lines)-1)
	window := strings.Join(lines[mid-3:mid+4], "\n")
	c.sameText("file:///big.txt", rng(mid-3, 0, mid+3, utf16Len(lines[mid+3])), window)
	err = c.call("nib/rewrite", map[string]any{"textDocument": map[string]any{"uri": "file:///big.txt"}, "range": map[string]any{"start": pos(0, 0), "end": endPos(bigText)}, "instruction": "Fix"}, nil)
	if rpcCode(err) != -32602 || !strings.Contains(err.Error(), "the budget is 512") {
		t.Errorf("rewrite of 10 MB: %v, want -32602 over the budget", err)
	}
	t.Logf("10 MB document: open, two completions, an edit, checks and a refused rewrite in %v", time.Since(startBig).Round(time.Millisecond))

	// A line of a million characters, with surrogate pairs.
	long := strings.Repeat("abcdefghi😀", 100_000)
	startLong := time.Now()
	c.open("file:///long.txt", long, 1)
	n := utf16Len(long)
	c.mustCall("nib/complete", map[string]any{"textDocument": map[string]any{"uri": "file:///long.txt"}, "position": pos(0, n)}, &g)
	if err := c.call("nib/complete", map[string]any{"textDocument": map[string]any{"uri": "file:///long.txt"}, "position": pos(0, n-1)}, nil); rpcCode(err) != -32602 || !strings.Contains(err.Error(), "surrogate pair") {
		t.Errorf("position inside the last surrogate pair: %v", err)
	}
	c.change("file:///long.txt", 2, rng(0, 550_000, 0, 550_011), "[mid]")
	a = utf16Offset(long, 0, 550_000)
	b = utf16Offset(long, 0, 550_011)
	long = long[:a] + "[mid]" + long[b:]
	c.sameLines("file:///long.txt", long)
	c.sameText("file:///long.txt", rng(0, 549_989, 0, 550_016), long[utf16Offset(long, 0, 549_989):utf16Offset(long, 0, 550_016)])
	t.Logf("million-character line: open, completions, an edit and checks in %v", time.Since(startLong).Round(time.Millisecond))

	// A URI naming a file on disk: the text is what the client sent.
	path := filepath.Join(t.TempDir(), "on-disk.txt")
	if err := os.WriteFile(path, []byte("The file on disk is much longer than the text sent."), 0o644); err != nil {
		t.Fatal(err)
	}
	c.open("file://"+filepath.ToSlash(path), "Short.", 1)
	c.sameDocument("file://"+filepath.ToSlash(path), "Short.")

	// The daemon still answers and the first document is intact.
	c.sameDocument(docURI, text)
	c.shutdown()
}

// applyEdits applies LSP text edits (UTF-16 positions) to text.
func applyEdits(t *testing.T, text string, edits []struct {
	Range   json.RawMessage `json:"range"`
	NewText string          `json:"newText"`
}) string {
	t.Helper()
	for i := len(edits) - 1; i >= 0; i-- {
		var r struct{ Start, End struct{ Line, Character int } }
		if err := json.Unmarshal(edits[i].Range, &r); err != nil {
			t.Fatal(err)
		}
		a := utf16Offset(text, r.Start.Line, r.Start.Character)
		b := utf16Offset(text, r.End.Line, r.End.Character)
		text = text[:a] + edits[i].NewText + text[b:]
	}
	return text
}
