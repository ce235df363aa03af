//go:build !js

package main

import (
	"context"
	"io"
	"os"
	"syscall"

	"go.uber.org/zap"

	"github.com/nib-editor/nib/server"
)

// stopSignals end the process in an orderly way. SIGHUP is the terminal
// going away: stop as orderly as for the others, not die where the
// default action would.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// serveTransport serves LSP over stdin and stdout with Content-Length
// framing, as editors expect of a language server.
func serveTransport(ctx context.Context, log *zap.Logger, opts server.Options, stdin io.Reader, stdout io.Writer) int {
	ignoreSIGPIPE() // a client gone is noticed on stdin, not killed for on stdout
	return server.Serve(ctx, log, opts, stdin, stdout)
}
