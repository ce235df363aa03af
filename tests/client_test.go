//go:build !js

package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sourcegraph/jsonrpc2"
)

// binary is the nib daemon built once for every test (TestMain).
var binary string

// fixtures is ../shared/fixtures, beside the checkout.
var fixtures = filepath.Join("..", "..", "shared", "fixtures")

func TestMain(m *testing.M) {
	if prebuilt := os.Getenv("NIB_E2E_BINARY"); prebuilt != "" {
		// A daemon built elsewhere, for a machine without Go (the GPU
		// machine; RELIABILITY.md says how).
		binary = prebuilt
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "nib-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "nib")
	args := []string{"build", "-o", binary}
	if os.Getenv("NIB_E2E_RACE") == "1" {
		args = append(args, "-race") // the daemon under the race detector
	}
	build := exec.Command("go", append(args, "../cmd/lsp")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build nib:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// client drives one nib process over its stdin and stdout, as an editor
// does: it answers the server's requests (progress creation, applyEdit)
// and keeps every notification it receives.
type client struct {
	*process
	t    *testing.T
	conn *jsonrpc2.Conn

	mu    sync.Mutex
	notes []notification
	edits []json.RawMessage // workspace/applyEdit params received
	// refreshes counts workspace/diagnostic/refresh requests.
	refreshes int
	applied   bool // what applyEdit answers
	noteCh    chan struct{}
	// answers counts the responses received per request id, so that a
	// test can check that each request was answered exactly once.
	answers map[jsonrpc2.ID]int
}

type notification struct {
	Method string
	Params json.RawMessage
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs nib with args and connects to it.
func start(t *testing.T, args ...string) *client {
	t.Helper()
	return startEnv(t, nil, args...)
}

// process is a nib process run by a test.
type process struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stderr  *lockedBuffer
	exited  chan struct{} // closed once nib has exited and exitErr is set
	exitErr error
}

// startProcess runs nib with args and the extra environment env, keeping
// what it writes to stderr, and returns it with its stdout. nib is waited
// for at once, or, when readDone is not nil, once readDone is closed: Wait
// closes stdout, and a reader that must see its end as EOF rather than
// "file already closed" has to finish first (os/exec: Wait after all
// reads). When the test ends, stdin is closed and nib given 5 s to exit
// before it is killed; the stderr of a failed test is logged.
func startProcess(t *testing.T, env []string, readDone <-chan struct{}, args ...string) (*process, io.Reader) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, stdin: stdin, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		if readDone != nil {
			<-readDone
		}
		p.exitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("nib stderr:\n%s", p.stderr.String())
		}
	})
	return p, stdout
}

// startEnv is start with extra environment variables.
func startEnv(t *testing.T, env []string, args ...string) *client {
	t.Helper()
	c := &client{t: t, applied: true, noteCh: make(chan struct{}, 1)}
	var stdout io.Reader
	c.process, stdout = startProcess(t, env, nil, args...)
	stream := jsonrpc2.NewBufferedStream(struct {
		io.Reader
		io.WriteCloser
	}{stdout, c.stdin}, jsonrpc2.VSCodeObjectCodec{})
	// Handled on the read loop, so notifications are recorded in the order
	// sent: a response is seen only after the notifications before it.
	c.answers = map[jsonrpc2.ID]int{}
	c.conn = jsonrpc2.NewConn(context.Background(), stream, c, jsonrpc2.OnRecv(func(_ *jsonrpc2.Request, resp *jsonrpc2.Response) {
		if resp != nil {
			c.mu.Lock()
			c.answers[resp.ID]++
			c.mu.Unlock()
		}
	}))
	// Runs before startProcess's cleanup, which then finds stdin closed.
	t.Cleanup(func() { c.conn.Close() })
	return c
}

// Handle answers the server's requests and records notifications.
func (c *client) Handle(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request) {
	var params json.RawMessage
	if req.Params != nil {
		params = *req.Params
	}
	if req.Notif {
		c.mu.Lock()
		c.notes = append(c.notes, notification{req.Method, params})
		c.mu.Unlock()
		select {
		case c.noteCh <- struct{}{}:
		default:
		}
		return
	}
	switch req.Method {
	case "window/workDoneProgress/create":
		conn.Reply(ctx, req.ID, nil)
	case "workspace/diagnostic/refresh":
		c.mu.Lock()
		c.refreshes++
		c.mu.Unlock()
		conn.Reply(ctx, req.ID, nil)
	case "workspace/applyEdit":
		c.mu.Lock()
		c.edits = append(c.edits, params)
		applied := c.applied
		c.mu.Unlock()
		conn.Reply(ctx, req.ID, map[string]any{"applied": applied})
	default:
		conn.ReplyWithError(ctx, req.ID, &jsonrpc2.Error{Code: -32601, Message: "client: unknown method " + req.Method})
	}
}

// call sends a request and decodes its result into result (if not nil).
func (c *client) call(method string, params, result any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return c.conn.Call(ctx, method, params, result)
}

// mustCall is call that fails the test on an error.
func (c *client) mustCall(method string, params, result any) {
	c.t.Helper()
	if err := c.call(method, params, result); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
}

func (c *client) notify(method string, params any) {
	c.t.Helper()
	if err := c.conn.Notify(context.Background(), method, params); err != nil {
		c.t.Fatalf("notify %s: %v", method, err)
	}
}

// rpcCode returns the JSON-RPC error code of err, or 0.
func rpcCode(err error) int64 {
	if e, ok := err.(*jsonrpc2.Error); ok {
		return e.Code
	}
	return 0
}

// notifications returns the notifications of a method received so far.
func (c *client) notifications(method string) []json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []json.RawMessage
	for _, n := range c.notes {
		if n.Method == method {
			out = append(out, n.Params)
		}
	}
	return out
}

// waitNotification waits until pred holds for some notification of method.
func (c *client) waitNotification(method string, pred func(json.RawMessage) bool) json.RawMessage {
	c.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		for _, p := range c.notifications(method) {
			if pred(p) {
				return p
			}
		}
		select {
		case <-c.noteCh:
		case <-deadline:
			c.t.Fatalf("no %s notification as expected; got %d", method, len(c.notifications(method)))
		}
	}
}

// initialize runs the handshake with the given initialization options and
// waits for the model to load.
func (c *client) initialize(opts map[string]any, encodings ...string) map[string]any {
	c.t.Helper()
	if len(encodings) == 0 {
		encodings = []string{"utf-16"}
	}
	var res map[string]any
	c.mustCall("initialize", map[string]any{
		"processId":  os.Getpid(),
		"clientInfo": map[string]any{"name": "nib-e2e"},
		"capabilities": map[string]any{
			"general":   map[string]any{"positionEncodings": encodings},
			"window":    map[string]any{"workDoneProgress": true},
			"workspace": map[string]any{"applyEdit": true, "workspaceEdit": map[string]any{"documentChanges": true}},
		},
		"initializationOptions": opts,
	}, &res)
	c.notify("initialized", map[string]any{})
	return res
}

// waitReady waits for the model load's progress to end.
func (c *client) waitReady() {
	c.t.Helper()
	p := c.waitNotification("$/progress", func(p json.RawMessage) bool {
		return strings.Contains(string(p), `"kind":"end"`)
	})
	if !strings.Contains(string(p), `"ready"`) {
		c.t.Fatalf("model load ended with %s", p)
	}
}

// shutdown ends the session properly and checks the exit status.
func (c *client) shutdown() {
	c.t.Helper()
	c.mustCall("shutdown", nil, nil)
	c.notify("exit", nil)
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
		c.t.Fatal("nib did not exit within 5 s of exit")
	}
	if c.exitErr != nil {
		c.t.Fatalf("nib exited with %v after shutdown and exit", c.exitErr)
	}
}

func (c *client) open(uri, text string, version int) {
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": uri, "languageId": "plaintext", "version": version, "text": text,
	}})
}

// lines reads stderr's lines, for log assertions.
func (c *client) logLines() []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(c.stderr.String()))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func pos(line, char int) map[string]any { return map[string]any{"line": line, "character": char} }

func rng(l1, c1, l2, c2 int) map[string]any {
	return map[string]any{"start": pos(l1, c1), "end": pos(l2, c2)}
}
