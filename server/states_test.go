package server

import (
	"strings"
	"testing"
	"time"
)

// exitCode waits for the status serve returns.
func (c *testConn) exitCode() int {
	c.t.Helper()
	select {
	case code := <-c.code:
		c.code <- code // for the cleanup
		return code
	case <-time.After(10 * time.Second):
		c.t.Fatal("the server did not stop within 10 s of exit")
	}
	return -1
}

// TestLifecycleStates walks a connection through new, initialized and
// shut down: what each state accepts and refuses, and the exit status
// after shutdown.
func TestLifecycleStates(t *testing.T) {
	c := startTestServer(t, serverOptions{version: "9.9.9"})
	// New: requests are refused by name, notifications dropped.
	if m := c.reply(sendID(c, `{"jsonrpc":"2.0","id":1,"method":"nib/stats"}`, "1")); m.errorCode() != codeNotInitialized || !strings.Contains(m.errorMessage(), "nib/stats before initialize") {
		t.Errorf("a request before initialize: %s, want -32002 naming it", m["error"])
	}
	badSettings := `{"jsonrpc":"2.0","method":"workspace/didChangeConfiguration","params":{"settings":{"maxInputTokens":"many"}}}`
	c.send(badSettings)

	// Initialized: a second initialize is refused.
	c.send(`{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"processId":null,"capabilities":{}}}`)
	m := c.reply("2")
	if !strings.Contains(string(m["result"]), `"version":"9.9.9"`) {
		t.Errorf("initialize result %s lacks the version", m["result"])
	}
	if c.logs.FilterMessage("notification before initialize dropped").Len() != 1 {
		t.Errorf("the notification before initialize was not dropped")
	}
	c.send(`{"jsonrpc":"2.0","method":"initialized","params":{}}`)
	// The same notification now is acted on, and only once in all.
	badReported := func(m msg) bool { return strings.Contains(string(m["params"]), "maxInputTokens") }
	c.send(badSettings)
	c.wait("the bad settings reported", badReported)
	if n := c.count(badReported); n != 1 {
		t.Errorf("bad settings reported %d times, want once (after initialize): %s", n, c.dump())
	}
	if m := c.reply(sendID(c, `{"jsonrpc":"2.0","id":3,"method":"initialize","params":{"processId":null,"capabilities":{}}}`, "3")); m.errorCode() != codeInvalidRequest || !strings.Contains(m.errorMessage(), "already initialized") {
		t.Errorf("a second initialize: %s, want -32600", m["error"])
	}
	if m := c.reply(sendID(c, `{"jsonrpc":"2.0","id":4,"method":"nib/stats"}`, "4")); m["error"] != nil {
		t.Errorf("nib/stats when initialized: %s", m["error"])
	}

	// Shut down: only exit is left; it ends with status 0.
	if m := c.reply(sendID(c, `{"jsonrpc":"2.0","id":5,"method":"shutdown"}`, "5")); m["error"] != nil || string(m["result"]) != "null" {
		t.Errorf("shutdown: %s %s, want a null result", m["error"], m["result"])
	}
	if m := c.reply(sendID(c, `{"jsonrpc":"2.0","id":6,"method":"nib/stats"}`, "6")); m.errorCode() != codeInvalidRequest || !strings.Contains(m.errorMessage(), "after shutdown") {
		t.Errorf("a request after shutdown: %s, want -32600", m["error"])
	}
	c.send(`{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///a.txt","languageId":"plaintext","version":1,"text":"x"}}}`)
	c.send(`{"jsonrpc":"2.0","method":"exit"}`)
	if code := c.exitCode(); code != 0 {
		t.Errorf("exit after shutdown: status %d, want 0", code)
	}
	if c.logs.FilterMessage("notification after shutdown dropped").Len() != 1 {
		t.Errorf("the notification after shutdown was not dropped")
	}
}

// TestExitWithoutShutdown: exit before shutdown is status 1, as LSP says,
// from either earlier state.
func TestExitWithoutShutdown(t *testing.T) {
	for _, initialize := range []bool{false, true} {
		c := startTestServer(t, serverOptions{})
		if initialize {
			c.initialize(`{}`)
		}
		c.send(`{"jsonrpc":"2.0","method":"exit"}`)
		if code := c.exitCode(); code != 1 {
			t.Errorf("exit without shutdown (initialized %v): status %d, want 1", initialize, code)
		}
	}
}

// TestServerStateNames: the states log by name.
func TestServerStateNames(t *testing.T) {
	for s, want := range map[serverState]string{stateNew: "new", stateInitialized: "initialized", stateShutdown: "shut down", 7: "serverState(7)"} {
		if got := s.String(); got != want {
			t.Errorf("%d: %q, want %q", int(s), got, want)
		}
	}
}
