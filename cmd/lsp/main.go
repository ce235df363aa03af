// Command nib is the nib daemon and its tools. Subcommands:
//
//	nib [--model M] [--stdio]             the daemon: LSP on stdin/stdout
//	nib complete [--model M] TEXT         continue TEXT, streaming to stdout
//	nib rewrite --instruction I TEXT      rewrite TEXT, streaming to stdout
//	nib adapters [--json]                 list the GPU adapters WebGPU offers
//	nib forward --model M --reference F   check the GPU forward pass against
//	                                      a reference file
//	nib pull <hub id>                     download a model into the Hugging
//	                                      Face cache
//	nib tokenize --model M                T5 token ids of JSON strings on stdin
//
// Logs go to stderr; stdout carries only a subcommand's output (and, for
// the daemon, protocol frames).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"

	"github.com/nib-editor/nib/cmd/lsp/internal/adapters"
	"github.com/nib-editor/nib/cmd/lsp/internal/bench"
	"github.com/nib-editor/nib/cmd/lsp/internal/forward"
	"github.com/nib-editor/nib/cmd/lsp/internal/oneshot"
	"github.com/nib-editor/nib/cmd/lsp/internal/pull"
	"github.com/nib-editor/nib/cmd/lsp/internal/tokenize"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	var exit errExit
	switch {
	case errors.Is(err, flag.ErrHelp):
		// --help printed the usage, as asked: not a failure.
	case errors.As(err, &exit):
		os.Exit(exit.code)
	case err != nil:
		fmt.Fprintln(os.Stderr, "nib:", err)
		os.Exit(1)
	}
}

const usage = `usage: nib [--model M] [--stdio]    serve LSP on stdin/stdout (the daemon)
       nib <command> [flags]            (nib <command> --help for its flags)
       nib --version

commands:
  complete   continue a text (argument or stdin), streaming to stdout
  rewrite    rewrite a text by --instruction, streaming to stdout
  adapters   list GPU adapters (choose one with --adapter or NIB_ADAPTER)
  forward    run a reference file's cases on the GPU and compare
  pull       download a model from the Hugging Face hub into its cache
  tokenize   print T5 token ids for JSON strings read from stdin
  bench      measure decode speed, latency and memory; print one JSON object
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && !slices.Contains([]string{"-h", "--help", "-version", "--version"}, args[0]) {
		return serveCommand(ctx, args, stdin, stdout, stderr)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "adapters":
		return adapters.Run(ctx, rest, stdout)
	case "complete":
		return oneshot.Complete(ctx, rest, stdin, stdout, stderr)
	case "rewrite":
		return oneshot.Rewrite(ctx, rest, stdin, stdout, stderr)
	case "forward":
		return forward.Run(ctx, rest, stdout, stderr)
	case "pull":
		return pull.Run(ctx, rest, stdout, stderr)
	case "tokenize":
		return tokenize.Run(ctx, rest, stdin, stdout, stderr)
	case "bench":
		return bench.Run(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "version", "-version", "--version":
		_, err := fmt.Fprintf(stdout, "nib %s\n", version)
		return err
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
