//go:build !js

package tests

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sourcegraph/jsonrpc2"
)

// hooks turns on the daemon's fault-injection methods (server/hooks.go).
var hooks = []string{"NIB_TEST_HOOKS=1"}

// startLong sends a generation that runs until cancelled or failed and
// waits for its first streamed token, so that it is decoding on the GPU.
func (c *client) startLong(id uint64, token string) jsonrpc2.Waiter {
	c.t.Helper()
	w, err := c.conn.DispatchCall(context.Background(), "nib/complete", map[string]any{
		"textDocument": map[string]any{"uri": docURI}, "position": endOf(draft),
		"maxTokens": 1024, "stopAtSentenceEnd": false, "partialResultToken": token,
	}, jsonrpc2.PickID(jsonrpc2.ID{Num: id}))
	if err != nil {
		c.t.Fatal(err)
	}
	c.waitNotification("$/progress", func(p json.RawMessage) bool { return strings.Contains(string(p), `"token":"`+token+`"`) })
	return w
}

// waitErr waits for a dispatched call's answer, which must be an error.
func waitErr(t *testing.T, w jsonrpc2.Waiter) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var res json.RawMessage
	err := w.Wait(ctx, &res)
	if err == nil {
		t.Fatalf("the long generation finished (%s) before the fault it was meant to meet", res)
	}
	return err
}

type faultStats struct {
	Model struct {
		State string `json:"state"`
	} `json:"model"`
	Caches map[string]struct {
		BudgetBytes int64 `json:"budgetBytes"`
	} `json:"caches"`
	Requests struct {
		BatchLimit  int `json:"batchLimit"`
		OutOfMemory int `json:"outOfMemory"`
	} `json:"requests"`
}

// TestFaults injects what a client cannot cause: the GPU device lost in the
// middle of a generation, the GPU out of memory, handlers that panic. Each
// fails only the requests it touches, with an error that says what
// happened, and the daemon goes on to answer later requests as before.
func TestFaults(t *testing.T) {
	c := startEnv(t, hooks, "--model", filepath.Join(fixtures, "t5-tiny-gated"))
	c.initialize(map[string]any{"completion": map[string]any{"maxTokens": 6}})
	c.waitReady()
	c.open(docURI, draft, 1)
	complete := func() generated {
		t.Helper()
		var g generated
		c.mustCall("nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": endOf(draft)}, &g)
		return g
	}
	want := complete()

	// The device lost while a generation decodes: it fails, the user is
	// told, the model is reloaded on a new device, and the same request
	// gets the same answer.
	w := c.startLong(500, "long-1")
	var lost map[string]bool
	c.mustCall("$/nib/test/loseDevice", nil, &lost)
	err := waitErr(t, w)
	if rpcCode(err) != -32803 || !strings.Contains(err.Error(), "the GPU device was lost") || !strings.Contains(err.Error(), "gpu: device lost") {
		t.Errorf("generation on a lost device: %v, want -32803 saying the device was lost", err)
	}
	c.expectMessage("the GPU device was lost", "reloading the model")
	c.waitNotification("$/progress", func(json.RawMessage) bool { return countEnds(c) >= 2 })
	if last := lastEnd(c); !strings.Contains(last, `"ready"`) {
		t.Fatalf("reload after the device loss: %s", last)
	}
	if got := complete(); !sameItems(got, want) {
		t.Errorf("after the reload: %+v, before the loss %+v", got.Items, want.Items)
	}
	var st faultStats
	c.mustCall("nib/stats", nil, &st)
	if st.Model.State != "ready" {
		t.Errorf("model state %q after the reload", st.Model.State)
	}

	// Out of GPU memory for a single request: it fails saying what was
	// cut, the caches and the batches shrink, the next request is served;
	// a settings change restores the sizes.
	c.mustCall("$/nib/test/fault", map[string]any{"kind": "outOfMemory", "count": 1}, nil)
	err = c.call("nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": endOf(draft)}, nil)
	if rpcCode(err) != -32803 || !strings.Contains(err.Error(), "GPU out of memory") ||
		!strings.Contains(err.Error(), "caches cut to 128 MiB for encoder outputs and 128 MiB for decoder states, batches to 1 requests") {
		t.Errorf("out of memory: %v", err)
	}
	c.mustCall("nib/stats", nil, &st)
	if st.Caches["encoder"].BudgetBytes != 128<<20 || st.Caches["decoder"].BudgetBytes != 128<<20 || st.Requests.BatchLimit != 1 || st.Requests.OutOfMemory != 1 {
		t.Errorf("after running out of memory: %+v", st)
	}
	if got := complete(); !sameItems(got, want) {
		t.Errorf("after running out of memory: %+v, before %+v", got.Items, want.Items)
	}
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"queueSize": 16}})
	c.mustCall("nib/stats", nil, &st)
	if st.Caches["encoder"].BudgetBytes != 256<<20 || st.Requests.BatchLimit != 8 {
		t.Errorf("a settings change did not restore the sizes: %+v", st)
	}

	// Panics: in a request handler (either phase), in a notification
	// handler, while decoding a batch. Only that request fails.
	for _, in := range []string{"prepare", "run"} {
		err := c.call("$/nib/test/panic", map[string]any{"in": in}, nil)
		if rpcCode(err) != -32603 || !strings.Contains(err.Error(), "internal error in $/nib/test/panic: test hook") {
			t.Errorf("handler panic in %s: %v, want -32603", in, err)
		}
	}
	c.notify("$/nib/test/panic", nil)
	c.mustCall("$/nib/test/fault", map[string]any{"kind": "panic", "count": 1}, nil)
	err = c.call("nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": endOf(draft)}, nil)
	if rpcCode(err) != -32603 || !strings.Contains(err.Error(), "internal error") || !strings.Contains(err.Error(), "injected") {
		t.Errorf("panic while decoding: %v, want -32603", err)
	}
	if got := complete(); !sameItems(got, want) {
		t.Errorf("after the panics: %+v, before %+v", got.Items, want.Items)
	}
	if n := len(logWith(c, "notification handler panicked")); n != 1 {
		t.Errorf("%d log lines for the notification's panic, want 1", n)
	}

	// SIGTERM with a generation running: the daemon stops it and exits
	// within a second, with status 0.
	c.startLong(600, "long-2")
	begin := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.exited:
	case <-time.After(stopLimit()):
		t.Fatalf("nib still running %v after SIGTERM", stopLimit())
	}
	t.Logf("exited %v after SIGTERM", time.Since(begin).Round(time.Millisecond))
	if c.exitErr != nil || len(logWith(c, "stopping\t{\"reason\": \"signal\"}")) != 1 || len(logWith(c, "stopped\t{\"reason\": \"signal\"")) != 1 {
		t.Errorf("after SIGTERM: %v; log:\n%s", c.exitErr, c.stderr.String())
	}
}

func sameItems(a, b generated) bool {
	if len(a.Items) != len(b.Items) {
		return false
	}
	for i := range a.Items {
		if a.Items[i].Text != b.Items[i].Text {
			return false
		}
	}
	return true
}

func logWith(c *client, s string) []string {
	var out []string
	for _, l := range c.logLines() {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// TestSIGHUP: the terminal going away (SIGHUP) with a generation running
// stops the daemon as SIGTERM does: the generation is stopped, the stop is
// logged, and the exit status is 0, within a second.
func TestSIGHUP(t *testing.T) {
	c := start(t, "--model", filepath.Join(fixtures, "t5-tiny-gated"))
	c.initialize(nil)
	c.waitReady()
	c.open(docURI, draft, 1)
	c.startLong(601, "long-hup")
	begin := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.exited:
	case <-time.After(stopLimit()):
		t.Fatalf("nib still running %v after SIGHUP", stopLimit())
	}
	t.Logf("exited %v after SIGHUP", time.Since(begin).Round(time.Millisecond))
	if c.exitErr != nil || len(logWith(c, "stopping\t{\"reason\": \"signal\"}")) != 1 || len(logWith(c, "stopped\t{\"reason\": \"signal\"")) != 1 {
		t.Errorf("after SIGHUP: %v; log:\n%s", c.exitErr, c.stderr.String())
	}
}
