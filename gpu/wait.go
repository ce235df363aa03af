package gpu

import "time"

// The pause between polls while waiting on the GPU doubles from firstPause
// to maxPause: a short wait (a decode step) costs little latency, a long
// one (a large dispatch on a software adapter) little CPU.
const (
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
	for {
		if err := d.Err(); err != nil {
			return err
		}
		if done(d.dev.Poll(false, nil)) {
			return nil
		}
		time.Sleep(pause)
		pause = min(2*pause, maxPause)
	}
}
