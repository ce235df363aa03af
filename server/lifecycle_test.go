package server

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const fixtureDoc = `{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///s.txt","languageId":"plaintext","version":1,"text":"The meeting on Friday is"}}}`

func completeAt(id string) string {
	return `{"jsonrpc":"2.0","id":` + id + `,"method":"nib/complete","params":{"textDocument":{"uri":"file:///s.txt"},"position":{"line":0,"character":24},"maxTokens":4}}`
}

// isRequest matches a request from the server with the method.
func isRequest(method string) func(msg) bool {
	return func(m msg) bool { return string(m["method"]) == `"`+method+`"` && m["id"] != nil }
}

// TestProgressNeverBlocksTheLoad: a client that advertises work-done
// progress and never answers window/workDoneProgress/create still gets
// its model loaded, and a model change after it too.
func TestProgressNeverBlocksTheLoad(t *testing.T) {
	c := startTestServer(t, serverOptions{model: fixtureModel})
	c.initialize(`{"window":{"workDoneProgress":true}}`)
	c.wait("a progress token request", isRequest("window/workDoneProgress/create"))
	c.send(fixtureDoc)
	c.waitReady()
	if m := c.reply(sendID(c, completeAt(`"c1"`), `"c1"`)); m["result"] == nil {
		t.Fatalf("completion with the create unanswered: %s", m["error"])
	}
	// A second model load, its create unanswered too.
	c.send(`{"jsonrpc":"2.0","method":"workspace/didChangeConfiguration","params":{"settings":{"model":"` + fixtures + `/t5-tiny-relu-tied"}}}`)
	c.waitReadyModel("t5-tiny-relu-tied")
	if m := c.reply(sendID(c, completeAt(`"c2"`), `"c2"`)); m["result"] == nil {
		t.Fatalf("completion after the model change: %s", m["error"])
	}
}

// TestProgressShown: a client that answers create gets begin, then
// reports, then end, in order, after the initialized notification.
func TestProgressShown(t *testing.T) {
	c := startTestServer(t, serverOptions{model: fixtureModel})
	c.initialize(`{"window":{"workDoneProgress":true}}`)
	create := c.wait("a progress token request", isRequest("window/workDoneProgress/create"))
	c.send(`{"jsonrpc":"2.0","id":` + string(create["id"]) + `,"result":null}`)
	kind := func(m msg) string {
		if string(m["method"]) != `"$/progress"` {
			return ""
		}
		var p struct{ Value struct{ Kind string } }
		json.Unmarshal(m["params"], &p)
		return p.Value.Kind
	}
	c.wait("the progress end", func(m msg) bool { return kind(m) == "end" })
	var kinds []string
	c.count(func(m msg) bool {
		if k := kind(m); k != "" {
			kinds = append(kinds, k)
		}
		return false
	})
	if kinds[0] != "begin" || kinds[len(kinds)-1] != "end" || strings.Count(strings.Join(kinds, " "), "begin") != 1 {
		t.Errorf("progress kinds %v, want begin, reports, end", kinds)
	}
}

// TestRequestsBeforeInitialized: a request sent between the initialize
// reply and the initialized notification waits for the model named at
// start, rather than being told no model is configured.
func TestRequestsBeforeInitialized(t *testing.T) {
	c := startTestServer(t, serverOptions{model: fixtureModel})
	c.send(`{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"processId":null,"capabilities":{}}}`)
	c.reply(`"init"`)
	c.send(fixtureDoc)
	if m := c.reply(sendID(c, completeAt(`"early"`), `"early"`)); m["result"] == nil {
		t.Errorf("completion before initialized: %s", m["error"])
	}
}

// TestApplyEditBounded: nib.rewrite's wait for workspace/applyEdit ends
// with -32800 when the request is cancelled, and with -32803 naming
// applyEdit when the client never answers within the bound.
func TestApplyEditBounded(t *testing.T) {
	c := startTestServer(t, serverOptions{model: fixtureModel, applyEditTimeout: 2 * time.Second})
	c.initialize(`{"workspace":{"applyEdit":true}}`)
	// Short rewrites: lavapipe is slow.
	c.send(`{"jsonrpc":"2.0","method":"workspace/didChangeConfiguration","params":{"settings":{"rewrite":{"maxTokens":4,"alternatives":1}}}}`)
	c.send(fixtureDoc)
	c.waitReady()
	cmd := func(id string) string {
		return `{"jsonrpc":"2.0","id":` + id + `,"method":"workspace/executeCommand","params":{"command":"nib.rewrite","arguments":[{"textDocument":{"uri":"file:///s.txt"},"range":{"start":{"line":0,"character":0},"end":{"line":0,"character":11}},"instruction":"Fix the grammar"}]}}`
	}
	c.send(cmd(`"x1"`))
	c.wait("an applyEdit request", isRequest("workspace/applyEdit"))
	c.send(`{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":"x1"}}`)
	if m := c.reply(`"x1"`); m.errorCode() != codeRequestCancelled {
		t.Errorf("cancelled while waiting for applyEdit: %s, want -32800", m["error"])
	}
	c.mu.Lock()
	c.msgs = nil
	c.mu.Unlock()
	start := time.Now()
	c.send(cmd(`"x2"`))

	c.wait("an applyEdit request", isRequest("workspace/applyEdit"))
	m := c.reply(`"x2"`)
	if m.errorCode() != codeRequestFailed || !strings.Contains(m.errorMessage(), "did not answer workspace/applyEdit within 2s") {
		t.Errorf("applyEdit never answered: %s, want -32803 naming it", m["error"])
	}
	t.Logf("answered %v after the command", time.Since(start).Round(time.Millisecond))
}
