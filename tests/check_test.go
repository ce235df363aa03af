//go:build !js

package tests

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// The fixture's random weights "correct" every sentence into gibberish,
// which the default rule refuses as too big a change (completion's tests
// check the rule both ways on a model built to prefer one word). These
// tests relax the rule so that every sentence is reported, and check the
// machinery: diagnostics, quick fixes, what is re-checked, ignoring, and
// that checking does not slow completion.
var relaxedCheck = map[string]any{"enabled": true, "maxChangedWords": 1 << 20, "maxChangedChars": 1 << 30, "minGain": -1e6, "debounceMs": 50}

type diag struct {
	Range struct {
		Start lspPos `json:"start"`
		End   lspPos `json:"end"`
	} `json:"range"`
	Severity int    `json:"severity"`
	Code     string `json:"code"`
	Source   string `json:"source"`
	Message  string `json:"message"`
	Data     struct {
		Sentence   string `json:"sentence"`
		Correction string `json:"correction"`
		Old        string `json:"old"`
		New        string `json:"new"`
	} `json:"data"`
}

type lspPos struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

type published struct {
	URI         string `json:"uri"`
	Version     int    `json:"version"`
	Diagnostics []diag `json:"diagnostics"`
}

type checkCounts struct {
	Checked, Cached, Reported, Ignored uint64
	Pending                            int
}

func (c *client) checkStats() checkCounts {
	c.t.Helper()
	var st struct {
		Check checkCounts `json:"check"`
	}
	c.mustCall("nib/stats", nil, &st)
	return st.Check
}

// settle waits until no sentence waits for the model, and returns the
// last diagnostics published for uri at version.
func (c *client) settle(uri string, version int) []diag {
	c.t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	last := func() *published {
		var last *published
		for _, n := range c.notifications("textDocument/publishDiagnostics") {
			var p published
			if json.Unmarshal(n, &p) == nil && p.URI == uri && p.Version == version {
				last = &p
			}
		}
		return last
	}
	for {
		// A publish for the version first, then the stats: a run marks its
		// sentences pending before it publishes the cached ones, so stats
		// read after that publish count them (read before it, they could
		// predate the run). The run's last publish comes before nothing is
		// pending, so it is read again then.
		if last() != nil && c.checkStats().Pending == 0 {
			return last().Diagnostics
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("checking %s version %d did not settle: %+v", uri, version, c.checkStats())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sentenceOf returns which of sentences (by their start offsets in text)
// a diagnostic's start falls in.
func sentenceOf(text string, starts []int, d diag) int {
	off := utf16Offset(text, d.Range.Start.Line, d.Range.Start.Character)
	i := sort.SearchInts(starts, off+1) - 1
	return i
}

func TestChecking(t *testing.T) {
	const uri = "file:///notes/check.txt"
	sentences := []string{"me and him goes to the market.", "She dont like apples.", "They has three cat."}
	text := strings.Join(sentences, " ")
	starts := []int{0, len(sentences[0]) + 1, len(sentences[0]) + len(sentences[1]) + 2}
	c := start(t, "--model", filepath.Join(fixtures, "t5-tiny-gated"))
	c.initialize(map[string]any{"check": relaxedCheck})
	c.waitReady()
	c.open(uri, text, 1)

	diags := c.settle(uri, 1)
	flagged := map[int]bool{}
	for _, d := range diags {
		got := text[utf16Offset(text, d.Range.Start.Line, d.Range.Start.Character):utf16Offset(text, d.Range.End.Line, d.Range.End.Character)]
		if d.Source != "nib" || d.Code != "grammar" || d.Severity != 3 || got != d.Data.Old || d.Message == "" {
			t.Errorf("diagnostic %+v: its range holds %q", d, got)
		}
		i := sentenceOf(text, starts, d)
		if i < 0 || d.Data.Sentence != sentences[i] {
			t.Errorf("diagnostic %+v is not in its sentence %q", d, d.Data.Sentence)
		}
		flagged[i] = true
	}
	if len(flagged) != 3 {
		t.Fatalf("sentences flagged: %v; the relaxed rule reports all three", flagged)
	}
	st := c.checkStats()
	if st.Checked != 3 || st.Cached != 0 || st.Reported != 3 {
		t.Errorf("stats after the first check: %+v, want 3 checked, 3 reported", st)
	}

	// An edit inside the third sentence re-checks that sentence alone.
	third := starts[2]
	edited := text[:third] + "They have three cat."
	c.change(uri, 2, map[string]any{"start": pos(0, third), "end": pos(0, len(text))}, "They have three cat.")
	c.settle(uri, 2)
	after := c.checkStats()
	if after.Checked != st.Checked+1 || after.Cached != st.Cached+2 {
		t.Errorf("one sentence edited: stats went from %+v to %+v; want 1 more checked and the other 2 from the cache", st, after)
	}

	// A quick fix for the first diagnostic of the second sentence: its
	// edit, applied by the client and sent back as a change, leaves the
	// daemon's document equal to the client's copy.
	var target diag
	for _, d := range diags {
		if sentenceOf(text, starts, d) == 1 {
			target = d
			break
		}
	}
	var actions []struct {
		Title       string `json:"title"`
		Kind        string `json:"kind"`
		IsPreferred bool   `json:"isPreferred"`
		Edit        *struct {
			DocumentChanges []struct {
				Edits []struct {
					Range   json.RawMessage `json:"range"`
					NewText string          `json:"newText"`
				} `json:"edits"`
			} `json:"documentChanges"`
		} `json:"edit"`
		Command *struct {
			Command   string            `json:"command"`
			Arguments []json.RawMessage `json:"arguments"`
		} `json:"command"`
	}
	c.mustCall("textDocument/codeAction", map[string]any{"textDocument": map[string]any{"uri": uri},
		"range": target.Range, "context": map[string]any{"diagnostics": []any{target}}}, &actions)
	var commands []string
	var fix []struct {
		Range   json.RawMessage `json:"range"`
		NewText string          `json:"newText"`
	}
	for _, a := range actions {
		switch {
		case a.Edit != nil && a.IsPreferred && a.Kind == "quickfix":
			fix = a.Edit.DocumentChanges[0].Edits
		case a.Command != nil:
			commands = append(commands, a.Command.Command)
		}
	}
	if len(fix) != 1 || !slices.Contains(commands, "nib.ignoreSentence") || !slices.Contains(commands, "nib.ignoreInDocument") {
		t.Fatalf("code actions %+v: want a preferred quick fix and both ignore commands", actions)
	}
	fixed := applyEdits(t, edited, fix)
	if want := sentences[0] + " " + strings.Replace(sentences[1], target.Data.Old, target.Data.New, 1) + " They have three cat."; fixed != want {
		t.Errorf("the quick fix gives %q, want %q", fixed, want)
	}
	var r map[string]any
	if err := json.Unmarshal(fix[0].Range, &r); err != nil {
		t.Fatal(err)
	}
	c.change(uri, 3, r, fix[0].NewText)
	c.sameDocument(uri, fixed)
	edited = fixed

	// Ignoring the first sentence removes its diagnostics, and they stay
	// away through later edits.
	c.mustCall("workspace/executeCommand", map[string]any{"command": "nib.ignoreSentence",
		"arguments": []any{map[string]any{"sentence": sentences[0]}}}, nil)
	c.change(uri, 4, map[string]any{"start": endPos(edited), "end": endPos(edited)}, " More.")
	edited += " More."
	left := c.settle(uri, 4)
	for _, d := range left {
		if d.Data.Sentence == sentences[0] {
			t.Errorf("an ignored sentence is flagged again: %+v", d)
		}
	}
	if len(left) == 0 {
		t.Fatal("nothing left flagged to ignore in the document")
	}
	// Ignoring a change in this document removes every diagnostic of it.
	gone := left[0]
	c.mustCall("workspace/executeCommand", map[string]any{"command": "nib.ignoreInDocument",
		"arguments": []any{map[string]any{"textDocument": map[string]any{"uri": uri}, "old": gone.Data.Old, "new": gone.Data.New}}}, nil)
	for _, d := range c.settle(uri, 4) {
		if d.Data.Old == gone.Data.Old && d.Data.New == gone.Data.New {
			t.Errorf("a change ignored in the document is still flagged: %+v", d)
		}
	}
	if st := c.checkStats(); st.Ignored != 2 {
		t.Errorf("stats %+v: want 2 ignored", st)
	}
	c.sameDocument(uri, edited)
	// Closing the document clears its diagnostics in the client.
	before := len(c.notifications("textDocument/publishDiagnostics"))
	c.notify("textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": uri}})
	for deadline := time.Now().Add(30 * time.Second); ; {
		cleared := false
		for _, p := range c.notifications("textDocument/publishDiagnostics")[before:] {
			var pd published
			cleared = cleared || json.Unmarshal(p, &pd) == nil && pd.URI == uri && len(pd.Diagnostics) == 0
		}
		if cleared {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("closing the document did not clear its diagnostics")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.shutdown()
}

// TestCheckingDoesNotSlowCompletion: a completion asked while a document
// of many sentences is being checked is answered within twice the time of
// the same kind of request with checking off, plus 250 ms: checks run only
// when nothing else waits, and one running gives way at its next decode
// step (their chunks of up to 8 steps of the fixture take tens of ms on
// lavapipe).
func TestCheckingDoesNotSlowCompletion(t *testing.T) {
	c := start(t, "--model", filepath.Join(fixtures, "t5-tiny-gated"))
	c.initialize(map[string]any{"check": map[string]any{"enabled": false}, "completion": map[string]any{"maxTokens": 16, "stopAtSentenceEnd": false}})
	c.waitReady()
	var many []string
	for i := range 24 {
		many = append(many, "Sentence number "+strings.Repeat("very ", i%5)+"long goes here.")
	}
	timeComplete := func(uri, text string) time.Duration {
		c.open(uri, text, 1)
		t0 := time.Now()
		var g generated
		c.mustCall("nib/complete", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": endPos(text)}, &g)
		return time.Since(t0)
	}
	var off, on []time.Duration
	for i := range 3 {
		off = append(off, timeComplete("file:///off/"+string(rune('a'+i)), "Dear team, the plan for week "+string(rune('A'+i))+" is"))
	}
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"nib": map[string]any{"check": relaxedCheck}}})
	for i := range 3 {
		doc := "file:///on/" + string(rune('a'+i))
		c.open(doc+"-long", strings.Join(many, " "), 1)
		// Checking has started: sentences wait for the model.
		deadline := time.Now().Add(30 * time.Second)
		for c.checkStats().Pending == 0 {
			if time.Now().After(deadline) {
				t.Fatal("checking never started")
			}
			time.Sleep(5 * time.Millisecond)
		}
		on = append(on, timeComplete(doc, "Dear team, the plan for month "+string(rune('A'+i))+" is"))
	}
	median := func(d []time.Duration) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[len(s)/2]
	}
	t.Logf("completion alone %v (median of %v), during checking %v (median of %v)", median(off), off, median(on), on)
	if limit := 2*median(off) + 250*time.Millisecond; median(on) > limit {
		t.Errorf("completion during checking took %v, over %v (twice the %v alone, plus 250 ms)", median(on), limit, median(off))
	}
	c.shutdown()
}

// TestCheckingPull: a client that pulls diagnostics is offered
// diagnosticProvider, gets nib's findings from textDocument/diagnostic
// ("unchanged" for a current resultId), is asked to refresh as results
// come, and is sent no publishDiagnostics.
func TestCheckingPull(t *testing.T) {
	const uri = "file:///notes/pull.txt"
	const text = "me and him goes to the market. She dont like apples."
	c := start(t, "--model", filepath.Join(fixtures, "t5-tiny-gated"))
	var res struct {
		Capabilities struct {
			DiagnosticProvider *struct {
				Identifier string `json:"identifier"`
			} `json:"diagnosticProvider"`
		} `json:"capabilities"`
	}
	c.mustCall("initialize", map[string]any{
		"capabilities": map[string]any{
			"textDocument": map[string]any{"diagnostic": map[string]any{"dynamicRegistration": false}},
			"workspace":    map[string]any{"diagnostics": map[string]any{"refreshSupport": true}},
		},
		"initializationOptions": map[string]any{"check": relaxedCheck},
	}, &res)
	c.notify("initialized", map[string]any{})
	if res.Capabilities.DiagnosticProvider == nil || res.Capabilities.DiagnosticProvider.Identifier != "nib" {
		t.Fatalf("capabilities %+v: want diagnosticProvider nib", res.Capabilities)
	}
	c.open(uri, text, 1)
	type report struct {
		Kind     string `json:"kind"`
		ResultID string `json:"resultId"`
		Items    []diag `json:"items"`
	}
	var full report
	deadline := time.Now().Add(120 * time.Second)
	for {
		c.mustCall("textDocument/diagnostic", map[string]any{"textDocument": map[string]any{"uri": uri}}, &full)
		if st := c.checkStats(); st.Pending == 0 && st.Checked == 2 && full.Kind == "full" && len(full.Items) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no diagnostics pulled: %+v, %+v", full, c.checkStats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.mustCall("textDocument/diagnostic", map[string]any{"textDocument": map[string]any{"uri": uri}}, &full)
	var again report
	c.mustCall("textDocument/diagnostic", map[string]any{"textDocument": map[string]any{"uri": uri}, "previousResultId": full.ResultID}, &again)
	if again.Kind != "unchanged" || again.ResultID != full.ResultID || len(again.Items) != 0 {
		t.Errorf("a pull with the current resultId got %+v, want unchanged", again)
	}
	c.mu.Lock()
	refreshes := c.refreshes
	c.mu.Unlock()
	if refreshes == 0 {
		t.Error("no workspace/diagnostic/refresh was sent as results came")
	}
	if n := len(c.notifications("textDocument/publishDiagnostics")); n != 0 {
		t.Errorf("%d publishDiagnostics sent to a client that pulls", n)
	}
	c.shutdown()
}
