// Command nib is the nib daemon and its tools. Subcommands:
//
//	nib adapters [--json]   list the GPU adapters WebGPU offers, with the
//	                        limits and features nib uses
//
// Logs go to stderr; stdout carries only a subcommand's output (and, for
// the daemon, protocol frames).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "nib:", err)
		os.Exit(1)
	}
}

const usage = `usage: nib <command> [flags]

commands:
  adapters   list GPU adapters (choose one with --adapter or NIB_ADAPTER)
`

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("no command given")
	}
	switch args[0] {
	case "adapters":
		return adapters(ctx, args[1:], os.Stdout)
	case "help", "-h", "--help":
		fmt.Fprint(os.Stdout, usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
