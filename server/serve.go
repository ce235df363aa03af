package server

import (
	"context"
	"io"
	"time"

	"github.com/sourcegraph/jsonrpc2"
	"go.uber.org/zap"
)

// serve runs one LSP connection over in and out and returns the exit
// status: 0 after shutdown and exit, 1 otherwise (LSP).
func serve(ctx context.Context, log *zap.Logger, opts serverOptions, in io.Reader, out io.Writer) int {
	closeIn := func() error {
		if c, ok := in.(io.Closer); ok {
			return c.Close()
		}
		return nil
	}
	stream := newFrameStream(in, out, closeIn, opts.maxMessageBytes, log)
	return serveBodies(ctx, log, opts, stream, func(warn func(string)) { stream.warn = warn })
}

// serveBodies runs one LSP connection over conn; setWarn hands conn the
// way to tell the user about problems no request can be answered with.
func serveBodies(ctx context.Context, log *zap.Logger, opts serverOptions, conn bodies, setWarn func(func(string))) int {
	eng := newEngine(log)
	srv := newServer(log, opts, eng)
	warn := func(msg string) { srv.showMessage(2, msg) }
	setWarn(warn)
	rpc := jsonrpc2.NewConn(ctx, newIDStream(conn, log, warn), srv, jsonrpc2.SetLogger(zap.NewStdLog(log)))
	reason := ""
	select {
	case <-srv.exited:
		reason = "exit"
	case <-rpc.DisconnectNotify():
		reason = "client disconnected"
	case <-ctx.Done():
		reason = "signal"
	}
	log.Info("stopping", zap.String("reason", reason))
	srv.check.stopAll()
	srv.mu.Lock()
	for _, cancel := range srv.inflight {
		cancel(nil)
	}
	code := srv.exitCode
	if reason == "client disconnected" && srv.state == stateShutdown || reason == "signal" {
		code = 0 // a stop asked for, not a crash
	}
	srv.mu.Unlock()
	// Requests stop within a decode step; give their replies a moment to go
	// out and the GPU a moment to be released, but never hold the exit
	// past stopBudget: what is left the operating system reclaims.
	start := time.Now()
	stopCtx, cancel := context.WithTimeout(context.Background(), stopBudget)
	defer cancel()
	done := make(chan struct{})
	go func() { srv.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-stopCtx.Done():
		log.Warn("requests still running at exit")
	}
	rpc.Close()
	closed := make(chan struct{})
	go func() { eng.close(); close(closed) }()
	select {
	case <-closed:
	case <-stopCtx.Done():
		log.Warn("exiting before the model and the GPU device were released")
	}
	log.Info("stopped", zap.String("reason", reason), zap.Duration("took", time.Since(start)))
	return code
}

// stopBudget bounds the time from a reason to stop (exit, the client
// gone, a signal) to the daemon's return.
const stopBudget = 500 * time.Millisecond
