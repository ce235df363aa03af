package server

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

// chanConn is a MessageConn over channels, as a MessagePort is: whole
// messages each way.
type chanConn struct {
	in     chan []byte
	out    chan []byte
	closed chan struct{}
}

func (c *chanConn) Read() ([]byte, error) {
	select {
	case m, ok := <-c.in:
		if !ok {
			return nil, io.EOF
		}
		return m, nil
	case <-c.closed:
		return nil, io.EOF
	}
}

func (c *chanConn) Write(m []byte) error {
	select {
	case c.out <- append([]byte(nil), m...):
		return nil
	case <-c.closed:
		return io.ErrClosedPipe
	}
}

func (c *chanConn) Close() error {
	select {
	case <-c.closed:
	default:
		close(c.closed)
	}
	return nil
}

// TestServeMessages: over a transport of whole messages the server
// answers as over stdio: ids as sent, a message that is not JSON or is
// over the limit answered with an error, and the LSP exit status.
func TestServeMessages(t *testing.T) {
	c := &chanConn{in: make(chan []byte, 16), out: make(chan []byte, 64), closed: make(chan struct{})}
	code := make(chan int, 1)
	go func() {
		code <- ServeMessages(context.Background(), zap.NewNop(), Options{MaxMessageBytes: 4096}, c)
	}()
	next := func() map[string]json.RawMessage {
		t.Helper()
		for {
			select {
			case m := <-c.out:
				var v map[string]json.RawMessage
				if err := json.Unmarshal(m, &v); err != nil {
					t.Fatalf("the server sent %q: %v", m, err)
				}
				if v["method"] != nil {
					continue // notifications (showMessage about no model)
				}
				return v
			case <-time.After(10 * time.Second):
				t.Fatal("no reply within 10 s")
				return nil
			}
		}
	}
	c.in <- []byte(`{"jsonrpc":"2.0","id":-7,"method":"initialize","params":{"processId":null,"capabilities":{}}}`)
	if r := next(); string(r["id"]) != "-7" || r["result"] == nil {
		t.Fatalf("initialize: %v", r)
	}
	c.in <- []byte(`{"jsonrpc":"2.0","method":"initialized","params":{}}`)
	for _, tc := range []struct{ msg, id, want string }{
		{`{"jsonrpc":"2.0","id":3,"method":"nib/stats"`, "3", `"code":-32700`},
		{`{"jsonrpc":"2.0","id":4,"method":"nib/stats","params":{"pad":"` + strings.Repeat("x", 5000) + `"}}`, "4", `"code":-32600`},
		{`{"jsonrpc":"2.0","id":"\ud800","method":"nib/stats"}`, `"\ud800"`, `"result"`},
	} {
		c.in <- []byte(tc.msg)
		r := next()
		all, _ := json.Marshal(r)
		if string(r["id"]) != tc.id || !strings.Contains(string(all), tc.want) {
			t.Errorf("%.60s: reply %s, want id %s and %s", tc.msg, all, tc.id, tc.want)
		}
	}
	c.in <- []byte(`{"jsonrpc":"2.0","id":9,"method":"shutdown"}`)
	if r := next(); string(r["id"]) != "9" {
		t.Fatalf("shutdown: %v", r)
	}
	c.in <- []byte(`{"jsonrpc":"2.0","method":"exit"}`)
	select {
	case got := <-code:
		if got != 0 {
			t.Errorf("exit status %d after shutdown and exit, want 0", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeMessages did not return after exit")
	}
}
