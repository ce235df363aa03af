// Package server is nib's language server: it serves the Language Server
// Protocol, with nib's own methods (PROTOCOL.md), over one stream. It is a
// package, not a command, so that a program other than cmd/lsp (a test, a
// browser's web worker) can serve a connection of its own.
package server

// The settings and nib/stats types of editor-extension/src/protocol.ts are
// generated from this package's Go types (protocol_ts_test.go).
//go:generate go test -run ^TestProtocolTypeScript$ -update .

import (
	"context"
	"io"
	"time"

	"go.uber.org/zap"
)

// Options configure one connection: the settings a command line gives,
// which initializationOptions and workspace/didChangeConfiguration
// override.
type Options struct {
	// Model is the default model: a folder or a Hugging Face hub id.
	Model string
	// Adapter picks the GPU adapter: an index or a name substring.
	Adapter string
	// MaxMessageBytes bounds one incoming message; 0 means 64 MiB.
	MaxMessageBytes int64
	// Version is reported in serverInfo.
	Version string
	// TestHooks serves the fault-injection methods $/nib/test/* that the
	// end-to-end tests use; never on for an editor.
	TestHooks bool
	// ApplyEditTimeout bounds the wait for the client's answer to
	// workspace/applyEdit; 0 means a minute.
	ApplyEditTimeout time.Duration
}

// TestHooksEnv is the environment variable that, set to 1, asks the
// daemon to serve the fault-injection hooks (Options.TestHooks).
const TestHooksEnv = testHooksEnv

// Serve runs one LSP connection over in and out until the client sends
// exit, in ends, or ctx is done, and returns the exit status LSP asks
// for: 0 after shutdown and exit, 1 otherwise. A stop that ctx asks for
// returns 0. Logs go to log, never to out.
func Serve(ctx context.Context, log *zap.Logger, opts Options, in io.Reader, out io.Writer) int {
	return serve(ctx, log, opts.internal(), in, out)
}

// ServeMessages is Serve over a transport of whole messages, such as the
// MessagePort between a page and the web worker that runs nib: the same
// protocol and the same answers, without Content-Length framing.
func ServeMessages(ctx context.Context, log *zap.Logger, opts Options, conn MessageConn) int {
	o := opts.internal()
	ms := newMessageStream(conn, o.maxMessageBytes, log)
	return serveBodies(ctx, log, o, ms, func(warn func(string)) { ms.warn = warn })
}

// internal fills in the defaults.
func (opts Options) internal() serverOptions {
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = 64 << 20
	}
	return serverOptions{
		model:            opts.Model,
		adapter:          opts.Adapter,
		maxMessageBytes:  opts.MaxMessageBytes,
		version:          opts.Version,
		testHooks:        opts.TestHooks,
		applyEditTimeout: opts.ApplyEditTimeout,
	}
}
