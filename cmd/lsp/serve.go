package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sourcegraph/jsonrpc2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// version is nib's version, reported in serverInfo.
const version = "0.1.0"

const serveUsage = `usage: nib [--model M] [--stdio] [--adapter A] [--log-file F] [--log-level L]

Serves the Language Server Protocol on stdin and stdout for an editor, with
the model M (a folder or a Hugging Face hub id such as google/flan-t5-base)
resident on the GPU. Settings from the client (initializationOptions,
workspace/didChangeConfiguration) override these flags; PROTOCOL.md lists
them. Logs go to stderr, or to --log-file.

flags:
`

// errExit carries the daemon's exit status.
type errExit struct{ code int }

func (e errExit) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// serveCommand runs the daemon until the client sends exit, closes stdin,
// or the process is told to stop.
func serveCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("nib", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelFlag := fs.String("model", "", "model folder or Hugging Face hub id")
	fs.Bool("stdio", true, "serve on stdin and stdout (the only transport; editors pass it)")
	adapter := fs.String("adapter", "", "GPU adapter: index or name substring (default $NIB_ADAPTER, else the best)")
	logFile := fs.String("log-file", "", "write logs to this file instead of stderr")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	maxMsg := fs.Int64("max-message-bytes", 64<<20, "largest message accepted from the client")
	fs.Usage = func() {
		fmt.Fprint(stderr, serveUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	level, err := zapcore.ParseLevel(*logLevel)
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logOut := stderr
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("--log-file: %w", err)
		}
		defer f.Close()
		logOut = f
	}
	log := newLogger(logOut, level)
	defer log.Sync()

	opts := serverOptions{model: *modelFlag, adapter: *adapter, maxMessageBytes: *maxMsg, version: version,
		testHooks: os.Getenv(testHooksEnv) == "1"}
	if opts.testHooks {
		log.Warn("fault-injection test hooks are on (" + testHooksEnv + "=1)")
	}
	code := serve(ctx, log, opts, stdin, stdout)
	if code != 0 {
		return errExit{code}
	}
	return nil
}

// newLogger logs at level and above to w.
func newLogger(w io.Writer, level zapcore.Level) *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(w), level)
	return zap.New(core)
}

// serve runs one LSP connection over in and out and returns the exit
// status: 0 after shutdown and exit, 1 otherwise (LSP).
func serve(ctx context.Context, log *zap.Logger, opts serverOptions, in io.Reader, out io.Writer) int {
	ignoreSIGPIPE() // a client gone is noticed on stdin, not killed for on stdout
	eng := newEngine(log)
	srv := newServer(log, opts, eng)
	closeIn := func() error {
		if c, ok := in.(io.Closer); ok {
			return c.Close()
		}
		return nil
	}
	stream := newFrameStream(in, out, closeIn, opts.maxMessageBytes, log)
	stream.warn = func(msg string) { srv.showMessage(2, msg) }
	conn := jsonrpc2.NewConn(ctx, newIDStream(stream), srv, jsonrpc2.SetLogger(zap.NewStdLog(log)))
	reason := ""
	select {
	case <-srv.exited:
		reason = "exit"
	case <-conn.DisconnectNotify():
		reason = "client disconnected"
	case <-ctx.Done():
		reason = "signal"
	}
	log.Info("stopping", zap.String("reason", reason))
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
	conn.Close()
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
