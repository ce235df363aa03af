package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCheckPublishesCoalesce: the results of a document's sentences are
// published together, not one publish per sentence (each publish rebuilds
// the whole document's list), and the run's last result is published
// before nib/stats stops counting the document as pending. With a gathering
// time longer than the test, a run publishes exactly twice: at its start
// and at its last result.
func TestCheckPublishesCoalesce(t *testing.T) {
	c := startTestServer(t, serverOptions{model: fixtureModel, checkPublishEvery: time.Hour})
	// The fixture's random weights "correct" every sentence; a relaxed rule
	// reports each of them.
	c.send(`{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"processId":null,"capabilities":{},
		"initializationOptions":{"check":{"enabled":true,"maxChangedWords":1000000,"maxChangedChars":1000000000,"minGain":-1e6,"debounceMs":10}}}}`)
	if m := c.reply(`"init"`); m["error"] != nil {
		t.Fatalf("initialize: %s", m["error"])
	}
	c.send(`{"jsonrpc":"2.0","method":"initialized","params":{}}`)
	c.waitReady()
	const n = 12
	var sentences []string
	for i := range n {
		sentences = append(sentences, fmt.Sprintf("Sentence number %d are here.", i+1))
	}
	open, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": map[string]any{
		"textDocument": map[string]any{"uri": "file:///many.txt", "languageId": "plaintext", "version": 1, "text": strings.Join(sentences, " ")}}})
	c.send(string(open))

	var st struct {
		Check checkStats `json:"check"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for poll := 0; ; poll++ {
		id := fmt.Sprintf(`"stats-%d"`, poll)
		c.send(`{"jsonrpc":"2.0","id":` + id + `,"method":"nib/stats"}`)
		if err := json.Unmarshal(c.reply(id)["result"], &st); err != nil {
			t.Fatal(err)
		}
		if st.Check.Checked == n && st.Check.Pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("checking did not finish: %+v", st.Check)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var pubs []publishDiagnosticsParams
	c.count(func(m msg) bool {
		var p publishDiagnosticsParams
		if string(m["method"]) == `"textDocument/publishDiagnostics"` && json.Unmarshal(m["params"], &p) == nil {
			pubs = append(pubs, p)
		}
		return false
	})
	if len(pubs) != 2 {
		t.Fatalf("%d publishes for one run over %d sentences, want 2 (its start, its last result)", len(pubs), n)
	}
	flagged := map[string]bool{}
	for _, d := range pubs[1].Diagnostics {
		flagged[d.Data.Sentence] = true
	}
	if len(pubs[0].Diagnostics) != 0 || len(flagged) != n || st.Check.Reported != n {
		t.Errorf("publishes carry %d then %d diagnostics over %d sentences (stats %+v); want 0, then all %d sentences",
			len(pubs[0].Diagnostics), len(pubs[1].Diagnostics), len(flagged), st.Check, n)
	}
}
