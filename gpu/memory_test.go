//go:build linux

package gpu_test

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/nib-editor/nib/gpu"
)

// rss returns the process's resident memory, which counts the native
// memory of wgpu-native and the driver (on lavapipe, buffers live in the
// C heap).
func rss(t *testing.T) int64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	t.Fatal("/proc/self/status has no VmRSS line")
	return 0
}

// uploadMB is what each round writes: large enough that keeping it (or
// its staging copy) stands far out of the allocator's noise.
const uploadMB = 32

// growth runs round n times after two rounds of warm-up and returns the
// resident memory it gained per round.
func growth(t *testing.T, n int, round func()) float64 {
	t.Helper()
	round()
	round()
	before := rss(t)
	for range n {
		round()
	}
	return float64(rss(t)-before) / float64(n) / (1 << 20)
}

// TestCloseFreesDevice opens a device, writes a tensor that no batch ever
// uses and closes it, again and again. Before Close submitted the queued
// writes, wgpu-native kept them, and through them the whole device with
// the tensor and its staging copy, for the life of the process: twice
// uploadMB per round.
func TestCloseFreesDevice(t *testing.T) {
	data := make([]float32, uploadMB<<20/4)
	per := growth(t, 12, func() {
		d, err := gpu.Open(gpu.Options{})
		if err != nil {
			t.Fatal(err)
		}
		w, err := d.UploadF32(data, gpu.F32, len(data))
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("resident memory %+.2f MiB per device open with a %d MiB write", per, uploadMB)
	// A device open on lavapipe leaves about 1 MiB of allocator and
	// driver state behind (thread arenas, pages pinned by a live
	// neighbour); a kept write is uploadMB or more.
	if per > uploadMB/8 {
		t.Errorf("resident memory grew %.1f MiB per device open and close; at most %d", per, uploadMB/8)
	}
}

// TestSyncFreesWrites writes and closes a tensor on the shared device,
// then syncs, again and again, with no batch in between: Sync must hand
// the queued write to a submission so that its staging copy is freed,
// rather than keep every one until some later batch.
func TestSyncFreesWrites(t *testing.T) {
	data := make([]float32, uploadMB<<20/4)
	per := growth(t, 12, func() {
		w, err := dev.UploadF32(data, gpu.F32, len(data))
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		if err := dev.Sync(); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("resident memory %+.2f MiB per write, close and sync of %d MiB", per, uploadMB)
	if per > uploadMB/8 {
		t.Errorf("resident memory grew %.1f MiB per write and sync; at most %d", per, uploadMB/8)
	}
}
