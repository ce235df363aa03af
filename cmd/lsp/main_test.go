package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// TestHelpListsCommands checks that `nib help` names every command that
// run dispatches, so that none is reachable but undocumented.
func TestHelpListsCommands(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"help"}, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"complete", "rewrite", "adapters", "forward", "pull", "tokenize", "bench"} {
		if !strings.Contains(out.String(), "\n  "+cmd+" ") {
			t.Errorf("help does not list %s:\n%s", cmd, out.String())
		}
	}
}

// TestUnknownCommand checks that a command nib does not have is refused
// by name, with the usage on stderr.
func TestUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"frobnicate"}, nil, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), `"frobnicate"`) {
		t.Errorf("err = %v, want it to name the command", err)
	}
	if !strings.Contains(errOut.String(), "commands:") || out.Len() != 0 {
		t.Errorf("stdout %q, stderr %q: want the usage on stderr only", out.String(), errOut.String())
	}
}
