package textdoc_test

import (
	"unicode/utf16"
	"unicode/utf8"

	"github.com/nib-editor/nib/server/internal/textdoc"
)

// The reference model: the LSP rules written out naively, byte by byte and
// rune by rune, for the tests and fuzz targets to compare against.

// refLine is one line of a text: its content is text[start:end], its
// terminator text[end:next].
type refLine struct{ start, end int }

// refLines splits text into lines at "\n", "\r\n" and "\r".
func refLines(text string) []refLine {
	var lines []refLine
	start := 0
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '\n':
			lines = append(lines, refLine{start, i})
			start = i + 1
		case '\r':
			lines = append(lines, refLine{start, i})
			if i+1 < len(text) && text[i+1] == '\n' {
				i++
			}
			start = i + 1
		}
	}
	return append(lines, refLine{start, len(text)})
}

// refStarts returns the line starts of text.
func refStarts(text string) []int {
	var starts []int
	for _, l := range refLines(text) {
		starts = append(starts, l.start)
	}
	return starts
}

// refWidth is the width of rune r, taking size bytes in the text, in enc.
// Invalid bytes come as utf8.RuneError of size 1 and count as one unit.
func refWidth(r rune, size int, enc textdoc.Encoding) int {
	switch enc {
	case textdoc.UTF8:
		return size
	case textdoc.UTF16:
		return utf16.RuneLen(r)
	}
	return 1
}

// refPoint is a valid position and the byte offset it addresses.
type refPoint struct {
	pos textdoc.Position
	off int
}

// refPoints lists every valid position of text in enc, in order.
func refPoints(text string, enc textdoc.Encoding) []refPoint {
	var pts []refPoint
	for l, line := range refLines(text) {
		c := 0
		content := text[line.start:line.end]
		for i, r := range content {
			pts = append(pts, refPoint{textdoc.Position{Line: l, Character: c}, line.start + i})
			size := len(content) - i
			if _, s := utf8.DecodeRuneInString(content[i:]); s < size {
				size = s
			}
			c += refWidth(r, size, enc)
		}
		pts = append(pts, refPoint{textdoc.Position{Line: l, Character: c}, line.end})
	}
	return pts
}

// refDoc is a document as runes, edited with plain slice operations.
type refDoc []rune

// lines returns the [start, end) rune indices of each line's content.
func (d refDoc) lines() [][2]int {
	var lines [][2]int
	start := 0
	for i := 0; i < len(d); i++ {
		switch d[i] {
		case '\n':
			lines = append(lines, [2]int{start, i})
			start = i + 1
		case '\r':
			lines = append(lines, [2]int{start, i})
			if i+1 < len(d) && d[i+1] == '\n' {
				i++
			}
			start = i + 1
		}
	}
	return append(lines, [2]int{start, len(d)})
}

// index returns the rune index of p, or false when p addresses nothing.
func (d refDoc) index(p textdoc.Position, enc textdoc.Encoding) (int, bool) {
	lines := d.lines()
	if p.Line < 0 || p.Line >= len(lines) || p.Character < 0 {
		return 0, false
	}
	c := 0
	for i := lines[p.Line][0]; ; i++ {
		if c == p.Character {
			return i, true
		}
		if c > p.Character || i == lines[p.Line][1] {
			return 0, false
		}
		c += refWidth(d[i], utf8.RuneLen(d[i]), enc)
	}
}

// positions lists every valid position of d in enc.
func (d refDoc) positions(enc textdoc.Encoding) []textdoc.Position {
	var ps []textdoc.Position
	for l, line := range d.lines() {
		c := 0
		for i := line[0]; ; i++ {
			ps = append(ps, textdoc.Position{Line: l, Character: c})
			if i == line[1] {
				break
			}
			c += refWidth(d[i], utf8.RuneLen(d[i]), enc)
		}
	}
	return ps
}

// apply applies one change, or reports false when its range is invalid.
func (d refDoc) apply(c textdoc.Change, enc textdoc.Encoding) (refDoc, bool) {
	if c.Range == nil {
		return refDoc(c.Text), true
	}
	a, ok1 := d.index(c.Range.Start, enc)
	b, ok2 := d.index(c.Range.End, enc)
	if !ok1 || !ok2 || a > b {
		return d, false
	}
	out := make(refDoc, 0, len(d)+len(c.Text))
	out = append(out, d[:a]...)
	out = append(out, []rune(c.Text)...)
	return append(out, d[b:]...), true
}
