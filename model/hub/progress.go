package hub

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// redrawEvery limits how often a progress line is redrawn.
const redrawEvery = 200 * time.Millisecond

// bar draws one file's progress as a line redrawn with carriage returns:
// name, bytes done of total, percentage and rate. A nil *bar draws
// nothing, which is what a nil PullOptions.Progress gives.
type bar struct {
	w           io.Writer
	name        string
	total, done int64
	base        int64 // bytes already present when the download began, left out of the rate
	began, last time.Time
	width       int // length of the last line drawn, to blank what a shorter one leaves
}

func newBar(w io.Writer, name string, total int64) *bar {
	if w == nil {
		return nil
	}
	return &bar{w: w, name: name, total: total}
}

// start sets the bytes present at the start of an attempt (after a resume,
// or 0 after a restart).
func (b *bar) start(have int64) {
	if b == nil {
		return
	}
	if b.began.IsZero() {
		b.began, b.base = time.Now(), have
	}
	b.base = min(b.base, have)
	b.done = have
	b.draw(true)
}

// add counts n more bytes.
func (b *bar) add(n int64) {
	if b == nil {
		return
	}
	b.done += n
	b.draw(false)
}

// finish draws the final state and ends the line.
func (b *bar) finish() {
	if b == nil {
		return
	}
	b.draw(true)
	fmt.Fprintln(b.w)
}

// cached reports a file the cache already holds.
func (b *bar) cached() {
	if b == nil {
		return
	}
	fmt.Fprintf(b.w, "%s  %s  cached\n", b.name, formatBytes(b.total))
}

func (b *bar) draw(force bool) {
	now := time.Now()
	if !force && now.Sub(b.last) < redrawEvery {
		return
	}
	b.last = now
	pct := int64(100)
	if b.total > 0 {
		pct = b.done * 100 / b.total
	}
	line := fmt.Sprintf("%s  %s / %s  %3d%%", b.name, formatBytes(b.done), formatBytes(b.total), pct)
	if secs := now.Sub(b.began).Seconds(); secs > 0.05 {
		line += fmt.Sprintf("  %s/s", formatBytes(int64(float64(b.done-b.base)/secs)))
	}
	pad := max(b.width-len(line), 0)
	b.width = len(line)
	fmt.Fprintf(b.w, "\r%s%s", line, strings.Repeat(" ", pad))
}

// formatBytes writes n in binary units with one decimal: 512 B, 1.5 KiB,
// 945.2 MiB.
func formatBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, unit := float64(n)/1024, 0
	for v >= 1024 && unit < 3 {
		v /= 1024
		unit++
	}
	return fmt.Sprintf("%.1f %s", v, [...]string{"KiB", "MiB", "GiB", "TiB"}[unit])
}
