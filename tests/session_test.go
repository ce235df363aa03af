//go:build !js

package tests

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/sourcegraph/jsonrpc2"
)

const docURI = "file:///notes/draft.txt"

// draft has text before the cursor in three scripts, an emoji (a UTF-16
// surrogate pair), a combining accent and a CRLF line break.
const draft = "Grüße aus Köln 🌍, dear friends.\r\n日本語の文章です。 The cafe\u0301 opens at"

// utf16Len is the length of s in UTF-16 code units, as LSP positions
// count by default.
func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }

// endOf returns the UTF-16 position of the end of text.
func endOf(text string) map[string]any {
	lines := strings.Split(text, "\r\n")
	last := lines[len(lines)-1]
	return pos(len(lines)-1, utf16Len(last))
}

type generated struct {
	Items []struct {
		Text   string `json:"text"`
		Tokens int    `json:"tokens"`
		Finish string `json:"finish"`
		Edits  []struct {
			Range   json.RawMessage `json:"range"`
			NewText string          `json:"newText"`
		} `json:"edits"`
	} `json:"items"`
	Cached string `json:"cached"`
}

type stats struct {
	Model struct {
		State string `json:"state"`
	} `json:"model"`
	Caches map[string]struct {
		Hits    uint64 `json:"hits"`
		Misses  uint64 `json:"misses"`
		Entries int    `json:"entries"`
	} `json:"caches"`
	Requests struct {
		Served    uint64 `json:"served"`
		Cancelled uint64 `json:"cancelled"`
	} `json:"requests"`
}

// TestEditorSession drives nib as an editor would, from initialize to
// exit, with the tiny fixture model (its words are gibberish: the test
// asserts structure, ranges and determinism, not wording).
func TestEditorSession(t *testing.T) {
	c := start(t, "--model", filepath.Join(fixtures, "t5-tiny-gated"), "--stdio")

	// Before initialize, requests are refused with -32002.
	err := c.call("nib/stats", nil, nil)
	if rpcCode(err) != -32002 {
		t.Fatalf("request before initialize: %v, want -32002", err)
	}

	init := c.initialize(nil)
	caps := init["capabilities"].(map[string]any)
	if caps["positionEncoding"] != "utf-16" || caps["inlineCompletionProvider"] != true {
		t.Errorf("capabilities %v", caps)
	}
	if info := init["serverInfo"].(map[string]any); info["name"] != "nib" {
		t.Errorf("serverInfo %v", info)
	}
	c.waitReady()
	begin := c.waitNotification("$/progress", func(p json.RawMessage) bool { return strings.Contains(string(p), `"begin"`) })
	if !strings.Contains(string(begin), "loading model") {
		t.Errorf("progress begin %s has no title", begin)
	}

	c.open(docURI, draft, 1)
	cursor := endOf(draft)

	// Ghost text at the cursor: a list whose items sit at the cursor.
	var inline struct {
		Items []struct {
			InsertText string `json:"insertText"`
			Range      struct {
				Start, End map[string]int
			} `json:"range"`
		} `json:"items"`
	}
	c.mustCall("textDocument/inlineCompletion", map[string]any{
		"textDocument": map[string]any{"uri": docURI}, "position": cursor,
		"context": map[string]any{"triggerKind": 2},
	}, &inline)
	if len(inline.Items) != 1 || inline.Items[0].InsertText == "" {
		t.Fatalf("inline completion %+v: want one non-empty item", inline)
	}
	r := inline.Items[0].Range
	if r.Start["line"] != 1 || r.Start["character"] != cursor["character"] || r.End["character"] != cursor["character"] {
		t.Errorf("inline item range %v, want the cursor %v", r, cursor)
	}

	// The same question again is answered from the encoder cache, with
	// the same answer, and compiles no shader.
	var before stats
	c.mustCall("nib/stats", nil, &before)
	var again generated
	c.mustCall("nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": cursor}, &again)
	if len(again.Items) != 1 || again.Items[0].Text != inline.Items[0].InsertText {
		t.Errorf("nib/complete %+v differs from the inline completion %q", again, inline.Items[0].InsertText)
	}
	if again.Cached != "encoder" {
		t.Errorf("second identical request: cached %q, want encoder", again.Cached)
	}
	var after stats
	c.mustCall("nib/stats", nil, &after)
	if after.Caches["pipelines"].Misses != before.Caches["pipelines"].Misses {
		t.Errorf("a repeated request compiled %d pipelines", after.Caches["pipelines"].Misses-before.Caches["pipelines"].Misses)
	}
	if after.Caches["encoder"].Hits <= before.Caches["encoder"].Hits {
		t.Errorf("encoder cache hits did not grow: %+v", after.Caches["encoder"])
	}

	// Sampling with a seed, streamed: the stream adds up to the result,
	// and the same seed gives the same texts.
	sample := func(token string) generated {
		var g generated
		c.mustCall("nib/complete", map[string]any{
			"textDocument": map[string]any{"uri": docURI}, "position": cursor,
			"n": 2, "strategy": "sample", "seed": 7, "temperature": 0.9, "maxTokens": 12,
			"stopAtSentenceEnd": false, "partialResultToken": token,
		}, &g)
		return g
	}
	s1 := sample("stream-1")
	if len(s1.Items) != 2 {
		t.Fatalf("sampling n=2 gave %d items", len(s1.Items))
	}
	streamed := map[int]string{}
	for _, p := range c.notifications("$/progress") {
		var n struct {
			Token string `json:"token"`
			Value struct {
				Index int     `json:"index"`
				Delta string  `json:"delta"`
				Reset *string `json:"reset"`
			} `json:"value"`
		}
		json.Unmarshal(p, &n)
		if n.Token != "stream-1" {
			continue
		}
		if n.Value.Reset != nil {
			streamed[n.Value.Index] = *n.Value.Reset
		} else {
			streamed[n.Value.Index] += n.Value.Delta
		}
	}
	for i, it := range s1.Items {
		if it.Tokens > 12 {
			t.Errorf("item %d has %d tokens, over maxTokens 12", i, it.Tokens)
		}
		if streamed[i] != it.Text {
			t.Errorf("item %d: streamed %q, result %q", i, streamed[i], it.Text)
		}
	}
	s2 := sample("stream-2")
	for i := range s1.Items {
		if s1.Items[i].Text != s2.Items[i].Text {
			t.Errorf("same seed, item %d: %q then %q", i, s1.Items[i].Text, s2.Items[i].Text)
		}
	}

	// Rewrite through a code action: the offered command, executed,
	// comes back as a minimal edit inside the selection, for version 1.
	sel := rng(0, 0, 0, utf16Len("Grüße aus Köln 🌍, dear friends."))
	var actions []struct {
		Title   string `json:"title"`
		Kind    string `json:"kind"`
		Command struct {
			Command   string            `json:"command"`
			Arguments []json.RawMessage `json:"arguments"`
		} `json:"command"`
	}
	c.mustCall("textDocument/codeAction", map[string]any{
		"textDocument": map[string]any{"uri": docURI}, "range": sel, "context": map[string]any{"diagnostics": []any{}},
	}, &actions)
	if len(actions) < 4 {
		t.Fatalf("%d code actions on a selection, want the 4 default rewrites", len(actions))
	}
	for _, a := range actions {
		if a.Kind != "refactor.rewrite" || a.Command.Command != "nib.rewrite" || len(a.Command.Arguments) != 1 {
			t.Errorf("code action %+v", a)
		}
	}
	var none []any
	c.mustCall("textDocument/codeAction", map[string]any{
		"textDocument": map[string]any{"uri": docURI}, "range": rng(0, 3, 0, 3), "context": map[string]any{"diagnostics": []any{}},
	}, &none)
	if len(none) != 0 {
		t.Errorf("code actions on an empty selection: %v", none)
	}
	var res struct {
		Applied bool   `json:"applied"`
		Text    string `json:"text"`
	}
	c.mustCall("workspace/executeCommand", map[string]any{"command": "nib.rewrite", "arguments": actions[0].Command.Arguments}, &res)
	if !res.Applied {
		t.Fatalf("rewrite not applied: %+v", res)
	}
	c.mu.Lock()
	edits := c.edits
	c.mu.Unlock()
	if len(edits) != 1 {
		t.Fatalf("%d workspace/applyEdit requests, want 1", len(edits))
	}
	var apply struct {
		Edit struct {
			DocumentChanges []struct {
				TextDocument struct {
					URI     string `json:"uri"`
					Version int    `json:"version"`
				} `json:"textDocument"`
				Edits []struct {
					Range struct {
						// Tagged: the range is sent back to nib, which
						// reads names case-sensitively.
						Start, End struct {
							Line      int `json:"line"`
							Character int `json:"character"`
						}
					} `json:"range"`
					NewText string `json:"newText"`
				} `json:"edits"`
			} `json:"documentChanges"`
		} `json:"edit"`
	}
	if err := json.Unmarshal(edits[0], &apply); err != nil {
		t.Fatal(err)
	}
	dc := apply.Edit.DocumentChanges
	if len(dc) != 1 || dc[0].TextDocument.URI != docURI || dc[0].TextDocument.Version != 1 || len(dc[0].Edits) != 1 {
		t.Fatalf("applyEdit %s", edits[0])
	}
	e := dc[0].Edits[0]
	selLen := utf16Len("Grüße aus Köln 🌍, dear friends.")
	if e.Range.Start.Line != 0 || e.Range.End.Line != 0 || e.Range.End.Character > selLen || e.Range.Start.Character > e.Range.End.Character {
		t.Fatalf("edit range %+v outside the selection [0, %d)", e.Range, selLen)
	}
	// Applying the edit to the client's copy gives the rewrite in place
	// of the selection.
	line0 := utf16.Encode([]rune("Grüße aus Köln 🌍, dear friends."))
	edited := string(utf16.Decode(line0[:e.Range.Start.Character])) + e.NewText + string(utf16.Decode(line0[e.Range.End.Character:]))
	if edited != res.Text {
		t.Errorf("the edit turns the selection into %q, the rewrite is %q", edited, res.Text)
	}
	c.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": docURI, "version": 2},
		"contentChanges": []any{map[string]any{"range": map[string]any{"start": e.Range.Start, "end": e.Range.End}, "text": e.NewText}},
	})
	newDraft := strings.Replace(draft, "Grüße aus Köln 🌍, dear friends.", edited, 1)

	// A command for the old version is refused: the document changed.
	err = c.call("workspace/executeCommand", map[string]any{"command": "nib.rewrite", "arguments": actions[0].Command.Arguments}, nil)
	if rpcCode(err) != -32801 {
		t.Errorf("rewrite of a stale version: %v, want -32801", err)
	}

	// nib/rewrite returns alternatives, each with edits inside the range.
	var rw generated
	c.mustCall("nib/rewrite", map[string]any{
		"textDocument": map[string]any{"uri": docURI, "version": 2},
		"range":        rng(1, 0, 1, utf16Len("日本語の文章です。")),
		"instruction":  "Translate to English", "n": 2, "strategy": "beam", "maxTokens": 10,
	}, &rw)
	if len(rw.Items) == 0 || len(rw.Items) > 2 {
		t.Errorf("nib/rewrite n=2 gave %d items", len(rw.Items))
	}

	// Cancelling a long generation answers -32800.
	id := jsonrpc2.ID{Num: 9001}
	w, err := c.conn.DispatchCall(context.Background(), "nib/complete", map[string]any{
		"textDocument": map[string]any{"uri": docURI}, "position": endOf(newDraft),
		"maxTokens": 1024, "stopAtSentenceEnd": false, "strategy": "beam", "n": 4,
	}, jsonrpc2.PickID(id))
	if err != nil {
		t.Fatal(err)
	}
	c.notify("$/cancelRequest", map[string]any{"id": 9001})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = w.Wait(ctx, nil)
	if rpcCode(err) != -32800 {
		t.Errorf("cancelled request: %v, want -32800", err)
	}

	// Settings change: fewer tokens per completion.
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"nib": map[string]any{
		"completion": map[string]any{"maxTokens": 2, "stopAtSentenceEnd": false},
	}}})
	var short generated
	c.mustCall("nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": endOf(newDraft)}, &short)
	if len(short.Items) != 1 || short.Items[0].Tokens > 2 {
		t.Errorf("after maxTokens 2: %+v", short)
	}
	// A wrong type is refused with a message naming the field; the
	// previous settings stay.
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"nib": map[string]any{
		"completion": map[string]any{"maxTokens": "many"},
	}}})
	c.waitNotification("window/showMessage", func(p json.RawMessage) bool { return strings.Contains(string(p), "completion.maxTokens") })
	c.mustCall("nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": endOf(newDraft)}, &short)
	if short.Items[0].Tokens > 2 {
		t.Errorf("a refused setting changed maxTokens: %+v", short)
	}

	var end stats
	c.mustCall("nib/stats", nil, &end)
	if end.Model.State != "ready" || end.Requests.Cancelled < 1 || end.Requests.Served < 5 {
		t.Errorf("stats %+v", end)
	}
	c.shutdown()
}
