//go:build !js

package main

import (
	"context"
	"io"
	"os"
	"syscall"

	"go.uber.org/zap"

	"github.com/nib-editor/nib/model"
	"github.com/nib-editor/nib/model/hub"
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
	checkModel(log, opts.Model)
	return server.Serve(ctx, log, opts, stdin, stdout)
}

// checkModel opens the --model given on the command line (its config and
// weight headers, not the weights, in about a millisecond) and logs at once
// what is wrong with it. The tokenizer is left to the load that initialize
// starts: parsing it takes some 170 ms, which start-up would pay twice.
// The daemon serves anyway: the editor hears the reason over LSP when it
// asks for text, and may name another model in its settings.
func checkModel(log *zap.Logger, ref string) {
	if ref == "" {
		return
	}
	err := func() error {
		dir, err := hub.Resolve(ref)
		if err != nil {
			return err
		}
		ck, err := model.OpenCheckpoint(dir)
		if err != nil {
			return err
		}
		return ck.Close()
	}()
	if err != nil {
		log.Error("--model cannot be loaded; serving anyway, and requests will say why until the client's settings name a model that loads",
			zap.String("model", ref), zap.Error(err))
	}
}
