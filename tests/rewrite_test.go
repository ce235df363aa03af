//go:build !js

package tests

import (
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// progressValues returns the $/progress values sent with token, in order.
func progressValues(c *client, token string) []json.RawMessage {
	var out []json.RawMessage
	for _, n := range c.notifications("$/progress") {
		var p struct {
			Token any             `json:"token"`
			Value json.RawMessage `json:"value"`
		}
		if json.Unmarshal(n, &p) == nil && p.Token == token {
			out = append(out, p.Value)
		}
	}
	return out
}

// nearKey mirrors PROTOCOL.md's near-identical rule: the words, lower-cased,
// without punctuation or spacing.
func nearKey(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	}), " ")
}

// tokenCount is the number of T5 tokens of text (its </s> included), from
// `nib tokenize`.
func tokenCount(t *testing.T, model, text string) int {
	t.Helper()
	line, err := json.Marshal(text)
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runNib(t, nil, string(line)+"\n", "tokenize", "--model", model)
	var ids []int
	if code != 0 || json.Unmarshal([]byte(out), &ids) != nil {
		t.Fatalf("nib tokenize: exit %d, %q, %q", code, out, errOut)
	}
	return len(ids)
}

// TestRewriteStreams: a diverse rewrite streams its first (greedy)
// alternative token by token, then each further alternative whole, in the
// order and with the text of the final answer, whose alternatives all
// differ in substance.
func TestRewriteStreams(t *testing.T) {
	const text = "me and him goes to the market yesterday and buyed apples"
	c := start(t, "--model", filepath.Join(fixtures, "t5-tiny-gated"))
	c.initialize(nil)
	c.waitReady()
	c.open(docURI, text, 1)
	var rw generated
	c.mustCall("nib/rewrite", map[string]any{
		"textDocument": map[string]any{"uri": docURI, "version": 1}, "range": rng(0, 0, 0, len(text)),
		"instruction": "Fix the grammar", "n": 3, "partialResultToken": "rw-1",
	}, &rw)
	if len(rw.Items) < 2 {
		t.Fatalf("%d alternatives: want several distinct ones from the fixture's random weights", len(rw.Items))
	}
	keys := map[string]bool{}
	for _, it := range rw.Items {
		if keys[nearKey(it.Text)] {
			t.Errorf("near-identical alternatives kept: %q", it.Text)
		}
		keys[nearKey(it.Text)] = true
	}
	streamed := map[int]string{}
	var order []int
	zeroDeltas := 0
	for _, v := range progressValues(c, "rw-1") {
		var d struct {
			Index int     `json:"index"`
			Delta string  `json:"delta"`
			Reset *string `json:"reset"`
		}
		if err := json.Unmarshal(v, &d); err != nil || d.Reset != nil {
			t.Fatalf("stream value %s: want deltas only (the greedy answer never changes)", v)
		}
		if d.Index > 0 {
			if _, again := streamed[d.Index]; again {
				t.Errorf("alternative %d streamed in pieces; want it whole, once", d.Index)
			}
			if streamed[0] != rw.Items[0].Text {
				t.Errorf("alternative %d came before alternative 0 was complete", d.Index)
			}
		} else {
			zeroDeltas++
		}
		if len(order) == 0 || order[len(order)-1] != d.Index {
			order = append(order, d.Index)
		}
		streamed[d.Index] += d.Delta
	}
	if zeroDeltas < 2 {
		t.Errorf("alternative 0 came in %d deltas; want it token by token", zeroDeltas)
	}
	for i, it := range rw.Items {
		if streamed[i] != it.Text {
			t.Errorf("alternative %d streamed as %q, answered as %q", i, streamed[i], it.Text)
		}
	}
	if want := []int{0, 1, 2}[:len(rw.Items)]; !slices.Equal(order, want) {
		t.Errorf("stream order %v, want %v", order, want)
	}
	c.shutdown()
}

// TestRewriteLength: a rewrite's budget follows its selection (1.5 times its
// tokens plus 8 by default), the settings change or lift the rule, and a
// maxTokens in the request is the budget as given.
func TestRewriteLength(t *testing.T) {
	model := filepath.Join(fixtures, "t5-tiny-gated")
	const text = "The cat sat on the mat."
	selTokens := tokenCount(t, model, text)
	c := start(t, "--model", model)
	c.initialize(map[string]any{"rewrite": map[string]any{"maxTokens": 60}})
	c.waitReady()
	c.open(docURI, text, 1)
	// The fixture's random weights rarely say </s>: alternatives run to
	// their budget, which is what is checked.
	check := func(what string, params map[string]any, budget int) {
		t.Helper()
		p := map[string]any{"textDocument": map[string]any{"uri": docURI, "version": 1}, "range": rng(0, 0, 0, len(text)),
			"instruction": "Fix the grammar", "n": 2}
		for k, v := range params {
			p[k] = v
		}
		var rw generated
		c.mustCall("nib/rewrite", p, &rw)
		atBudget := 0
		for _, it := range rw.Items {
			if it.Tokens > budget || it.Finish == "length" && it.Tokens != budget {
				t.Errorf("%s: an alternative of %d tokens ended by %q; the budget is %d", what, it.Tokens, it.Finish, budget)
			}
			if it.Tokens == budget {
				atBudget++
			}
		}
		if atBudget == 0 {
			t.Errorf("%s: no alternative reached the budget of %d (%+v): the check proves nothing", what, budget, rw.Items)
		}
	}
	check("default rule", nil, int(math.Ceil(1.5*float64(selTokens)))+8)
	check("maxTokens in the request", map[string]any{"maxTokens": 5}, 5)
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"nib": map[string]any{
		"rewrite": map[string]any{"maxTokens": 60, "lengthRatio": 3, "lengthMargin": 1},
	}}})
	check("lengthRatio 3, lengthMargin 1", nil, 3*selTokens+1)
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"nib": map[string]any{
		"rewrite": map[string]any{"maxTokens": 40, "lengthRatio": 0},
	}}})
	check("lengthRatio 0 (off)", nil, 40)
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"nib": map[string]any{
		"rewrite": map[string]any{"lengthRatio": -1},
	}}})
	c.waitNotification("window/showMessage", func(p json.RawMessage) bool { return strings.Contains(string(p), "rewrite.lengthRatio") })
	c.shutdown()
}

// TestRewriteRefine: a follow-up instruction rewrites the text given (the
// alternative chosen from the last preview), exactly as if the document
// held that text, and its edits still apply to the range's own text.
func TestRewriteRefine(t *testing.T) {
	const original = "Intro. me and him goes to the market. Outro."
	const chosen = "He and I went to the market."
	const other = "file:///notes/other.txt"
	c := start(t, "--model", filepath.Join(fixtures, "t5-tiny-relu-tied"))
	c.initialize(nil)
	c.waitReady()
	c.open(docURI, original, 1)
	c.open(other, chosen, 1)
	a := strings.Index(original, "me and")
	b := strings.Index(original, " Outro.")
	var refined, direct generated
	c.mustCall("nib/rewrite", map[string]any{
		"textDocument": map[string]any{"uri": docURI, "version": 1}, "range": rng(0, a, 0, b),
		"instruction": "Make it shorter", "n": 2, "text": chosen,
	}, &refined)
	c.mustCall("nib/rewrite", map[string]any{
		"textDocument": map[string]any{"uri": other, "version": 1}, "range": rng(0, 0, 0, len(chosen)),
		"instruction": "Make it shorter", "n": 2,
	}, &direct)
	if len(refined.Items) == 0 || len(refined.Items) != len(direct.Items) {
		t.Fatalf("refined %d alternatives, direct %d", len(refined.Items), len(direct.Items))
	}
	for i := range refined.Items {
		if refined.Items[i].Text != direct.Items[i].Text {
			t.Errorf("alternative %d: refining gave %q, rewriting the same text in a document %q", i, refined.Items[i].Text, direct.Items[i].Text)
		}
		got := applyEdits(t, original, refined.Items[i].Edits)
		if want := original[:a] + refined.Items[i].Text + original[b:]; got != want {
			t.Errorf("alternative %d: edits give %q, want %q", i, got, want)
		}
	}
	err := c.call("nib/rewrite", map[string]any{
		"textDocument": map[string]any{"uri": docURI, "version": 1}, "range": rng(0, a, 0, b),
		"instruction": "Make it shorter", "text": "  ",
	}, nil)
	if rpcCode(err) != -32602 || !strings.Contains(err.Error(), `"text"`) {
		t.Errorf("empty text: %v, want -32602 naming the field", err)
	}
	c.shutdown()
}

// TestRewriteCommandProgress: the nib.rewrite command reports the rewrite
// so far as work-done progress on the client's token, ending with the text
// it applies.
func TestRewriteCommandProgress(t *testing.T) {
	const text = "me and him goes to the market"
	c := start(t, "--model", filepath.Join(fixtures, "t5-tiny-gated"))
	c.initialize(nil)
	c.waitReady()
	c.open(docURI, text, 1)
	var res struct {
		Applied bool   `json:"applied"`
		Text    string `json:"text"`
	}
	c.mustCall("workspace/executeCommand", map[string]any{
		"command": "nib.rewrite", "workDoneToken": "wd-1",
		"arguments": []any{map[string]any{"textDocument": map[string]any{"uri": docURI, "version": 1}, "range": rng(0, 0, 0, len(text)), "instruction": "Fix the grammar"}},
	}, &res)
	c.waitNotification("$/progress", func(p json.RawMessage) bool {
		return strings.Contains(string(p), `"wd-1"`) && strings.Contains(string(p), `"end"`)
	})
	var kinds []string
	var reports []string
	var last string
	for _, v := range progressValues(c, "wd-1") {
		var p struct{ Kind, Message string }
		if err := json.Unmarshal(v, &p); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, p.Kind)
		if p.Kind == "report" {
			reports = append(reports, p.Message)
		}
		last = p.Message
	}
	if len(kinds) < 3 || kinds[0] != "begin" || kinds[len(kinds)-1] != "end" {
		t.Fatalf("progress kinds %v: want begin, reports, end", kinds)
	}
	if last != res.Text || res.Text == "" {
		t.Errorf("progress ended with %q, the command applied %q", last, res.Text)
	}
	for i := 1; i < len(reports); i++ {
		if !strings.HasPrefix(reports[i], reports[i-1]) {
			t.Errorf("report %q does not extend %q", reports[i], reports[i-1])
		}
	}
	c.shutdown()
}
