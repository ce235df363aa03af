package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/nib-editor/nib/server"
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

	opts := server.Options{Model: *modelFlag, Adapter: *adapter, MaxMessageBytes: *maxMsg, Version: version,
		TestHooks: os.Getenv(server.TestHooksEnv) == "1"}
	if opts.TestHooks {
		log.Warn("fault-injection test hooks are on (" + server.TestHooksEnv + "=1)")
	}
	code := serveTransport(ctx, log, opts, stdin, stdout)
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
