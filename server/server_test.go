package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// testConn is a client of an in-process server (serve over pipes): it
// writes raw frames and records every message the server writes. It
// needs no GPU as long as no model is loaded.
type testConn struct {
	t    *testing.T
	in   *io.PipeWriter
	logs *observer.ObservedLogs

	mu   sync.Mutex
	msgs []json.RawMessage
	got  chan struct{}
	code chan int

	polls int // nib/stats polls sent by waitReadyModel
}

// startTestServer serves one connection in process with opts.
func startTestServer(t *testing.T, opts serverOptions) *testConn {
	t.Helper()
	if opts.maxMessageBytes == 0 {
		opts.maxMessageBytes = 64 << 20
	}
	core, logs := observer.New(zap.DebugLevel)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	c := &testConn{t: t, in: inW, logs: logs, got: make(chan struct{}, 1), code: make(chan int, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		code := serve(ctx, zap.New(core), opts, inR, outW)
		outW.Close()
		c.code <- code
	}()
	go c.read(outR)
	t.Cleanup(func() {
		cancel()
		inW.Close()
		select {
		case <-c.code:
		case <-time.After(10 * time.Second):
			t.Errorf("the server did not stop within 10 s of its context's end")
		}
	})
	return c
}

func (c *testConn) read(out io.Reader) {
	r := bufio.NewReader(out)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "Content-Length:")))
		if err != nil {
			c.t.Errorf("bad header from the server: %q", line)
			return
		}
		if blank, err := r.ReadString('\n'); err != nil || blank != "\r\n" {
			c.t.Errorf("header block not ended by a blank line: %q", blank)
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		c.mu.Lock()
		c.msgs = append(c.msgs, body)
		c.mu.Unlock()
		select {
		case c.got <- struct{}{}:
		default:
		}
	}
}

// send writes body as one frame.
func (c *testConn) send(body string) {
	c.t.Helper()
	if _, err := io.WriteString(c.in, fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body)); err != nil {
		c.t.Fatalf("write to the server: %v", err)
	}
}

// msg is one message from the server, its members raw.
type msg map[string]json.RawMessage

// errorCode is the error code of a response, 0 if it is no error.
func (m msg) errorCode() int64 {
	var e struct{ Code int64 }
	json.Unmarshal(m["error"], &e)
	return e.Code
}

func (m msg) errorMessage() string {
	var e struct{ Message string }
	json.Unmarshal(m["error"], &e)
	return e.Message
}

// wait returns the first message from the server, in order, that match
// accepts, failing the test after 10 s.
func (c *testConn) wait(what string, match func(msg) bool) msg {
	c.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		for _, b := range c.msgs {
			var m msg
			if err := json.Unmarshal(b, &m); err != nil {
				c.mu.Unlock()
				c.t.Fatalf("server wrote %q: %v", b, err)
			}
			if match(m) {
				c.mu.Unlock()
				return m
			}
		}
		c.mu.Unlock()
		select {
		case <-c.got:
		case <-deadline:
			c.t.Fatalf("no %s from the server within 10 s; it wrote %s", what, c.dump())
		}
	}
}

// reply waits for the response whose id is, byte for byte, id.
func (c *testConn) reply(id string) msg {
	c.t.Helper()
	return c.wait("reply to "+id, func(m msg) bool { return m["method"] == nil && string(m["id"]) == id })
}

// count is how many messages so far match.
func (c *testConn) count(match func(msg) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, b := range c.msgs {
		var m msg
		if json.Unmarshal(b, &m) == nil && match(m) {
			n++
		}
	}
	return n
}

func (c *testConn) dump() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, m := range c.msgs {
		b.Write(m)
		b.WriteByte('\n')
	}
	return b.String()
}

// initialize runs the handshake with capabilities caps (JSON).
func (c *testConn) initialize(caps string) {
	c.t.Helper()
	c.send(`{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"processId":null,"capabilities":` + caps + `}}`)
	if m := c.reply(`"init"`); m["error"] != nil {
		c.t.Fatalf("initialize: %s", m["error"])
	}
	c.send(`{"jsonrpc":"2.0","method":"initialized","params":{}}`)
}

// sendAll writes the bodies as frames in one write, as a client that
// sends on each keystroke may.
func (c *testConn) sendAll(bodies ...string) {
	c.t.Helper()
	var b strings.Builder
	for _, body := range bodies {
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	}
	if _, err := io.WriteString(c.in, b.String()); err != nil {
		c.t.Fatalf("write to the server: %v", err)
	}
}

// waitReady polls nib/stats until the model is ready.
func (c *testConn) waitReady() {
	c.t.Helper()
	c.waitReadyModel("")
}

// sendID sends body and returns id, for c.reply(sendID(...)).
func sendID(c *testConn, body, id string) string {
	c.t.Helper()
	c.send(body)
	return id
}

// waitReadyModel polls nib/stats until the model whose name holds name
// is ready.
func (c *testConn) waitReadyModel(name string) {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		// Ids never repeat on a connection: reply finds the first answer.
		c.polls++
		id := fmt.Sprintf(`"ready-%d"`, c.polls)
		c.send(`{"jsonrpc":"2.0","id":` + id + `,"method":"nib/stats"}`)
		var st struct {
			Model struct{ Name, State, Error string }
		}
		json.Unmarshal(c.reply(id)["result"], &st)
		if st.Model.State == "ready" && strings.Contains(st.Model.Name, name) {
			return
		}
		if st.Model.State == "failed" {
			c.t.Fatalf("the model failed to load: %s", st.Model.Error)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("the model %s is not ready after 60 s", name)
}
