//go:build js

package main

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"syscall/js"

	"go.uber.org/zap"

	"github.com/nib-editor/nib/server"
)

// stopSignals: a browser has no signals; the page ends a worker by
// terminating it.
var stopSignals = []os.Signal{os.Interrupt}

// serveTransport serves LSP in a web worker over the MessagePort that the
// worker's loader (editor-extension/src/engine/nib-worker.js) puts in
// globalThis.nibPort: one JSON-RPC message per port message, as text.
func serveTransport(ctx context.Context, log *zap.Logger, opts server.Options, _ io.Reader, _ io.Writer) int {
	port := js.Global().Get("nibPort")
	if !port.Truthy() {
		log.Error("no globalThis.nibPort: nib serves LSP in a browser only through the worker loader's MessagePort")
		return 1
	}
	conn := newPortConn(port)
	defer conn.Close()
	return server.ServeMessages(ctx, log, opts, conn)
}

// portConn is a server.MessageConn over a MessagePort. Messages arrive on
// the event loop, which must never block, so they queue without bound
// until Read takes them.
type portConn struct {
	port    js.Value
	onMsg   js.Func
	mu      sync.Mutex
	queue   [][]byte
	closed  bool
	arrived chan struct{} // signalled when queue or closed changes
}

func newPortConn(port js.Value) *portConn {
	c := &portConn{port: port, arrived: make(chan struct{}, 1)}
	c.onMsg = js.FuncOf(func(_ js.Value, args []js.Value) any {
		data := args[0].Get("data")
		var msg []byte
		switch {
		case data.Type() == js.TypeString:
			msg = []byte(data.String())
		case data.InstanceOf(js.Global().Get("Uint8Array")):
			msg = make([]byte, data.Length())
			js.CopyBytesToGo(msg, data)
		default:
			// An object: the page posted a message without encoding it.
			msg = []byte(js.Global().Get("JSON").Call("stringify", data).String())
		}
		c.mu.Lock()
		c.queue = append(c.queue, msg)
		c.mu.Unlock()
		c.signal()
		return nil
	})
	port.Set("onmessage", c.onMsg)
	return c
}

func (c *portConn) signal() {
	select {
	case c.arrived <- struct{}{}:
	default:
	}
}

// Read returns the next message, waiting for one.
func (c *portConn) Read() ([]byte, error) {
	for {
		c.mu.Lock()
		if len(c.queue) > 0 {
			msg := c.queue[0]
			c.queue[0] = nil
			c.queue = c.queue[1:]
			c.mu.Unlock()
			return msg, nil
		}
		closed := c.closed
		c.mu.Unlock()
		if closed {
			return nil, io.EOF
		}
		<-c.arrived
	}
}

// Write posts msg to the page as text.
func (c *portConn) Write(msg []byte) error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return errors.New("message port closed")
	}
	c.port.Call("postMessage", string(msg))
	return nil
}

// Close stops taking messages; a Read in progress returns io.EOF.
func (c *portConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.port.Set("onmessage", js.Null())
	c.onMsg.Release()
	c.signal()
	return nil
}
