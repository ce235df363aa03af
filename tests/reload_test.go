//go:build !js

package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rssBytes reads a process's resident memory from /proc/<pid>/status: the
// native memory of wgpu-native and the driver, which the Go heap of
// nib/stats does not see.
func rssBytes(t *testing.T, pid int) int64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read the daemon's memory: %v", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("/proc/%d/status: VmRSS %q: %v", pid, rest, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("/proc/%d/status has no VmRSS line", pid)
	return 0
}

// TestReloadMemory changes the settings that reload the model, many times
// over and with no request in between, as an adversarial client did: the
// model, the f16 storage, and the adapter, whose change opens a new
// device. Each reload must give back what the one before took: the
// daemon's resident memory after each series stays within a small bound
// of where it was before. Before the fix it grew by 5 to 8 MB per model
// change or f16 toggle and 45 MB per device open on lavapipe: writes
// never followed by a submission kept their staging copies, and writes
// still queued when a device closed kept the whole device alive.
func TestReloadMemory(t *testing.T) {
	const (
		modelChanges = 20
		f16Toggles   = 20
		deviceOpens  = 8
		// The bounds, on average per reload. A reload of these fixtures
		// on lavapipe moves 4 to 17 MB of weights, staging copies and
		// scratch through the C heap and compiles nothing new; measured
		// after the fix, RSS wanders by a few MB but gains well under
		// 0.5 MB per model change or toggle, and a device open (its
		// pipelines compiled anew, the driver's threads started) gains
		// nothing. A kept copy of the weights or staging (4 MB and more)
		// or a kept device (45 MB) is far beyond.
		perReload = 3 << 19 // 1.5 MiB
		perOpen   = 4 << 20
	)
	gated := filepath.Join(fixtures, "t5-tiny-gated")
	tied := filepath.Join(fixtures, "t5-tiny-relu-tied")
	c := startEnv(t, hooks, "--model", gated)
	c.initialize(map[string]any{"encoderCacheMB": 1, "decoderCacheMB": 1})
	c.waitReady()
	pid := c.cmd.Process.Pid

	loads := countEnds(c)
	// reload applies settings and waits for the load they start.
	reload := func(settings map[string]any) {
		t.Helper()
		c.notify("workspace/didChangeConfiguration", map[string]any{"settings": settings})
		loads++
		n := loads
		c.waitNotification("$/progress", func(json.RawMessage) bool { return countEnds(c) >= n })
		if last := lastEnd(c); !strings.Contains(last, `"ready"`) {
			t.Fatalf("reload with %v: %s", settings, last)
		}
	}
	// settle collects the Go heap, returning it to the system, and reads
	// the resident memory.
	settle := func() int64 {
		t.Helper()
		c.mustCall("$/nib/test/gc", nil, nil)
		return rssBytes(t, pid)
	}
	devicesOpened := func() int {
		n := 0
		for _, l := range c.logLines() {
			if strings.Contains(l, "gpu device open") {
				n++
			}
		}
		return n
	}
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	// series runs n reloads with the settings of step i and checks that
	// RSS gained at most bound per reload on average; the RSS after each
	// reload goes into the message, to tell a slope from a step.
	series := func(name string, n int, bound int64, step func(i int) map[string]any) {
		t.Helper()
		before := settle()
		samples := make([]string, n)
		var after int64
		for i := range n {
			reload(step(i))
			after = settle()
			samples[i] = fmt.Sprintf("%.1f", mib(after))
		}
		grow := after - before
		t.Logf("%d %s: RSS %.1f -> %.1f MiB (%+.2f each)", n, name, mib(before), mib(after), mib(grow)/float64(n))
		if grow > int64(n)*bound {
			t.Errorf("RSS grew %.1f MiB over %d %s (%.2f each); at most %.1f each. RSS after each, MiB: %s",
				mib(grow), n, name, mib(grow)/float64(n), mib(bound), strings.Join(samples, " "))
		}
	}

	// Every configuration once on the device the series start with: the
	// pipeline cache rightly grows with the kernels of each model and
	// dtype, and the buffer pool with their scratch. Adapters "0" and
	// "vulkan" are the same one on lavapipe (the first Vulkan adapter, or
	// the best, elsewhere), but a different choice opens a new device.
	reload(map[string]any{"adapter": "vulkan"})
	reload(map[string]any{"adapter": "0"})
	reload(map[string]any{"model": tied})
	reload(map[string]any{"model": gated})
	reload(map[string]any{"f16": false})
	reload(map[string]any{"f16": true})

	series("model changes", modelChanges, perReload, func(i int) map[string]any {
		return map[string]any{"model": []string{tied, gated}[i%2]}
	})
	series("f16 toggles", f16Toggles, perReload, func(i int) map[string]any {
		return map[string]any{"f16": i%2 == 1}
	})
	opened := devicesOpened()
	series("device opens", deviceOpens, perOpen, func(i int) map[string]any {
		return map[string]any{"adapter": []string{"vulkan", "0"}[i%2]}
	})
	if n := devicesOpened() - opened; n != deviceOpens {
		t.Errorf("%d adapter changes opened %d devices", deviceOpens, n)
	}

	// The model still works after all that.
	c.open(docURI, "Hello there.", 1)
	var g generated
	c.mustCall("nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": pos(0, 5)}, &g)
	if len(g.Items) == 0 || g.Items[0].Tokens == 0 {
		t.Errorf("completion after the reloads: %+v; want an item of at least one token", g)
	}
	c.shutdown()
}
