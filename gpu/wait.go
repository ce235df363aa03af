//go:build !js

package gpu

import (
	"runtime"
	"time"
)

// A wait polls without pausing (yielding to other goroutines) for spinFor,
// then with a pause that doubles from firstPause to maxPause: a short wait
// (a decode step's readback) costs no timer latency, a long one (a large
// dispatch on a software adapter) little CPU. Measured on the H200
// (flan-t5-base, 2026-12-04): with pauses from the first poll, time to the
// first token rose from 3.8-4.6 ms to 4.4-4.7 ms (Go's sleeps last tens
// of microseconds at least); spinning the first millisecond brought it
// back to 3.9-4.1 ms, decode speed unchanged.
const (
	spinFor    = time.Millisecond
	firstPause = 5 * time.Microsecond
	maxPause   = 200 * time.Microsecond
)

// waitFor polls the device until done, given whether the queue is empty,
// returns true, or the device fails.
//
// It never blocks inside wgpu. The bundled wgpu-native's blocking poll
// (wgpuDevicePoll with wait set) gives up after 5 s and then treats the
// submission as finished (gfx-rs/wgpu#3601, fixed upstream long after this
// release): it maps readbacks whose copies have not run and frees command
// buffers the driver is still executing. One large dispatch on lavapipe
// takes longer than that, and the process then died with SIGSEGV inside
// the driver. A non-blocking poll reads the fence as it stands, so nothing
// is released early.
func (d *Device) waitFor(done func(queueEmpty bool) bool) error {
	pause := firstPause
	spinUntil := time.Now().Add(spinFor)
	for {
		if err := d.Err(); err != nil {
			return err
		}
		if done(d.dev.Poll(false, nil)) {
			return nil
		}
		if time.Now().Before(spinUntil) {
			runtime.Gosched()
			continue
		}
		time.Sleep(pause)
		pause = min(2*pause, maxPause)
	}
}

// waitIdle waits until all work submitted so far has finished.
func (d *Device) waitIdle() error { return d.waitFor(func(queueEmpty bool) bool { return queueEmpty }) }

// waitMapped waits until done reports that a buffer mapping has settled.
func (d *Device) waitMapped(done func() bool) error {
	return d.waitFor(func(bool) bool { return done() })
}
