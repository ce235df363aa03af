//go:build js

package gpu

import (
	"time"

	"github.com/nib-editor/nib/gpu/internal/native"
)

// A browser has no Device.Poll: the GPU process settles mapAsync and
// onSubmittedWorkDone promises on the event loop, which runs only while
// every goroutine is blocked. Waits here therefore block on d.wake, which
// those callbacks close (as do device loss and uncaptured errors),
// instead of spinning, which would starve the event loop and never see
// the promise settle. recheck bounds a wait between looks at d.Err, as a
// safety net: every wake-up reaches every waiter (Device.woken).
const recheck = 50 * time.Millisecond

// waitIdle waits until all work submitted so far has finished.
func (d *Device) waitIdle() error {
	done := make(chan struct{})
	native.OnSubmittedWorkDone(d.queue, func() {
		close(done)
		d.wakeWaiters()
	})
	return d.waitUntil(func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	})
}

// waitMapped waits until done reports that a buffer mapping has settled.
func (d *Device) waitMapped(done func() bool) error { return d.waitUntil(done) }

// waitUntil blocks until done reports true or the device fails, looking
// again at every wake-up.
func (d *Device) waitUntil(done func() bool) error {
	t := time.NewTimer(recheck)
	defer t.Stop()
	for {
		woken := d.woken()
		if err := d.Err(); err != nil {
			return err
		}
		if done() {
			return nil
		}
		select {
		case <-woken:
		case <-t.C:
			t.Reset(recheck)
		}
	}
}

// woken returns a channel that the next wakeWaiters closes. Take it before
// looking at what the wait is for, so that no wake-up falls between.
func (d *Device) woken() <-chan struct{} {
	d.wakeMu.Lock()
	defer d.wakeMu.Unlock()
	if d.wake == nil {
		d.wake = make(chan struct{})
	}
	return d.wake
}
