//go:build unix

package main

import (
	"os/signal"
	"syscall"
)

// ignoreSIGPIPE makes writes to a closed stdout fail with EPIPE instead of
// killing the process. It is the command's business, not the server
// package's: a process-wide setting that a program embedding the server
// chooses for itself.
func ignoreSIGPIPE() { signal.Ignore(syscall.SIGPIPE) }
