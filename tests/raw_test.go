//go:build !js

package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawClient drives nib over its stdin and stdout byte by byte, for the
// inputs jsonrpc2's client cannot produce (bad frames, invalid UTF-8,
// duplicate ids): it writes what it is told and records every message nib
// writes, checking that each is a well-formed frame.
type rawClient struct {
	*process
	t *testing.T

	mu      sync.Mutex
	msgs    []rawMsg
	readErr error // what ended stdout: io.EOF when nib closed it cleanly
	got     chan struct{}
}

// rawMsg is one message nib wrote.
type rawMsg struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int64  `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// isResponse reports whether m answers the request id ("null" for the
// answers to messages whose id could not be read).
func (m rawMsg) isResponse(id string) bool {
	return m.Method == "" && string(m.ID) == id
}

// startRaw runs nib with args and the extra environment env.
func startRaw(t *testing.T, env []string, args ...string) *rawClient {
	t.Helper()
	c := &rawClient{t: t, got: make(chan struct{}, 1)}
	// nib is waited for once the reader has seen the end of stdout.
	readDone := make(chan struct{})
	var stdout io.Reader
	c.process, stdout = startProcess(t, env, readDone, args...)
	go func() {
		c.read(stdout)
		close(readDone)
	}()
	return c
}

// read parses stdout strictly: "Content-Length: N\r\n\r\n" and N bytes of
// a JSON-RPC 2.0 message, nothing else.
func (c *rawClient) read(stdout io.Reader) {
	r := bufio.NewReader(stdout)
	fail := func(err error) {
		c.mu.Lock()
		c.readErr = err
		c.mu.Unlock()
		c.signal()
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if err == io.EOF && line == "" {
				fail(io.EOF)
			} else {
				fail(fmt.Errorf("stdout ends inside a header: %q: %v", line, err))
			}
			return
		}
		num, ok := strings.CutPrefix(line, "Content-Length: ")
		n, err := strconv.Atoi(strings.TrimSuffix(num, "\r\n"))
		if !ok || err != nil || !strings.HasSuffix(num, "\r\n") {
			fail(fmt.Errorf("stdout has %q where a Content-Length header belongs", line))
			return
		}
		if blank, err := r.ReadString('\n'); err != nil || blank != "\r\n" {
			fail(fmt.Errorf("no blank line after the header: %q", blank))
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			fail(fmt.Errorf("stdout ends inside a body: %v", err))
			return
		}
		var m rawMsg
		var check struct {
			JSONRPC string `json:"jsonrpc"`
		}
		if err := json.Unmarshal(body, &m); err != nil || json.Unmarshal(body, &check) != nil || check.JSONRPC != "2.0" {
			fail(fmt.Errorf("stdout has a frame that is no JSON-RPC 2.0 message: %s", body))
			return
		}
		c.mu.Lock()
		c.msgs = append(c.msgs, m)
		c.mu.Unlock()
		c.signal()
	}
}

func (c *rawClient) signal() {
	select {
	case c.got <- struct{}{}:
	default:
	}
}

// write sends bytes as they are.
func (c *rawClient) write(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.stdin, s); err != nil {
		c.t.Fatalf("write to nib: %v", err)
	}
}

// send frames and sends a message.
func (c *rawClient) send(body string) { c.write(frame(body)) }

// frame frames a body as LSP does.
func frame(body string) string { return fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body) }

// req is the body of a request.
func req(id any, method string, params any) string {
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// note is the body of a notification.
func note(method string, params any) string {
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// wait waits until pred holds for a message and returns it; stdout ending
// or a malformed frame fails the test.
func (c *rawClient) wait(what string, pred func(rawMsg) bool) rawMsg {
	c.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		c.mu.Lock()
		msgs, readErr := c.msgs, c.readErr
		c.mu.Unlock()
		for _, m := range msgs {
			if pred(m) {
				return m
			}
		}
		if readErr != nil {
			c.t.Fatalf("waiting for %s: stdout ended: %v", what, readErr)
		}
		select {
		case <-c.got:
		case <-deadline:
			c.t.Fatalf("no %s within 60 s", what)
		}
	}
}

// response waits for the answer to request id (a JSON value: 7, "a").
func (c *rawClient) response(id string) rawMsg {
	c.t.Helper()
	return c.wait("response "+id, func(m rawMsg) bool { return m.isResponse(id) })
}

// expectError waits for the answer to id and checks that it is an error
// with code whose message has each of want.
func (c *rawClient) expectError(id string, code int64, want ...string) rawMsg {
	c.t.Helper()
	m := c.response(id)
	if m.Error == nil {
		c.t.Errorf("response %s: result %s, want error %d", id, m.Result, code)
		return m
	}
	if m.Error.Code != code {
		c.t.Errorf("response %s: error %d %q, want code %d", id, m.Error.Code, m.Error.Message, code)
	}
	for _, w := range want {
		if !strings.Contains(m.Error.Message, w) {
			c.t.Errorf("response %s: error %q does not mention %q", id, m.Error.Message, w)
		}
	}
	return m
}

// expectResult waits for the answer to id, which must be a result, and
// decodes it into v (if not nil).
func (c *rawClient) expectResult(id string, v any) {
	c.t.Helper()
	m := c.response(id)
	if m.Error != nil {
		c.t.Fatalf("response %s: error %d %q, want a result", id, m.Error.Code, m.Error.Message)
	}
	if v != nil {
		if err := json.Unmarshal(m.Result, v); err != nil {
			c.t.Fatalf("response %s: %v in %s", id, err, m.Result)
		}
	}
}

// count returns how many messages satisfy pred.
func (c *rawClient) count(pred func(rawMsg) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.msgs {
		if pred(m) {
			n++
		}
	}
	return n
}

// nullErrors returns the messages of the error answers with a null id.
func (c *rawClient) nullErrors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		if m.isResponse("null") && m.Error != nil {
			out = append(out, m.Error.Message)
		}
	}
	return out
}

// waitExit waits at most limit for nib to exit and returns its status.
func (c *rawClient) waitExit(limit time.Duration) int {
	c.t.Helper()
	select {
	case <-c.exited:
	case <-time.After(limit):
		c.t.Fatalf("nib still running %v after it was told to stop", limit)
	}
	if ee, ok := c.exitErr.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if c.exitErr != nil {
		c.t.Fatalf("nib: %v", c.exitErr)
	}
	return 0
}

// lines returns stderr's lines that contain s.
func (c *rawClient) logLinesWith(s string) []string {
	var out []string
	for _, l := range strings.Split(c.stderr.String(), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// stopLimit is how long nib may take to exit when told to: a second, or
// more under the race detector, whose exit takes seconds.
func stopLimit() time.Duration {
	if os.Getenv("NIB_E2E_RACE") == "1" {
		return 20 * time.Second
	}
	return time.Second
}
