package server

import (
	"fmt"
	"strings"
	"testing"
)

// TestSupersessionFollowsTheWire: of two completions for one document
// sent back to back, the later on the wire always wins, however the
// request goroutines are scheduled; the earlier is answered -32800
// superseded (or with its result, had it finished first).
func TestSupersessionFollowsTheWire(t *testing.T) {
	c := startTestServer(t, serverOptions{model: fixtureModel})
	c.initialize(`{}`)
	c.send(`{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///s.txt","languageId":"plaintext","version":1,"text":"The meeting on Friday is"}}}`)
	c.waitReady()
	req := func(id string) string {
		return `{"jsonrpc":"2.0","id":"` + id + `","method":"nib/complete","params":{"textDocument":{"uri":"file:///s.txt"},"position":{"line":0,"character":24},"maxTokens":8}}`
	}
	superseded := 0
	for i := 0; i < 30; i++ {
		older, newer := fmt.Sprintf("old-%d", i), fmt.Sprintf("new-%d", i)
		c.sendAll(req(older), req(newer))
		if m := c.reply(`"` + newer + `"`); m["result"] == nil {
			t.Errorf("round %d: the later request got %s", i, m["error"])
		}
		switch m := c.reply(`"` + older + `"`); {
		case m["result"] != nil:
		case m.errorCode() == codeRequestCancelled && strings.Contains(m.errorMessage(), "superseded"):
			superseded++
		default:
			t.Errorf("round %d: the earlier request got %s", i, m["error"])
		}
	}
	t.Logf("%d of 30 earlier requests superseded", superseded)
	if superseded == 0 {
		t.Errorf("no earlier request was superseded: the test did not race them")
	}
}
