package textdoc

import (
	"fmt"
	"sort"
	"unicode/utf8"
)

// Snapshot is one version of an open document: its URI, version and text
// with an index of its line starts. A Snapshot is immutable, safe for
// concurrent use, and stays valid however the document changes later. The
// zero Snapshot is an empty text of one empty line, at version 0.
type Snapshot struct {
	uri     string
	version int32
	text    string
	// starts holds the byte offset of each line's start, 0 first; nil
	// stands for {0}. It is never modified once a Snapshot holds it.
	starts []int
}

// zeroStarts are the line starts of the empty text.
var zeroStarts = []int{0}

// NewSnapshot returns the snapshot of text as version of uri, indexing its
// lines (one pass over text).
func NewSnapshot(uri string, version int32, text string) Snapshot {
	return Snapshot{uri: uri, version: version, text: text, starts: lineStarts(text)}
}

// URI returns the document's URI.
func (s Snapshot) URI() string { return s.uri }

// Version returns the document's version.
func (s Snapshot) Version() int32 { return s.version }

// Text returns the document's text.
func (s Snapshot) Text() string { return s.text }

// LineCount returns the number of lines: one more than the number of line
// terminators.
func (s Snapshot) LineCount() int { return len(s.lineStarts()) }

func (s Snapshot) lineStarts() []int {
	if len(s.starts) == 0 {
		return zeroStarts
	}
	return s.starts
}

// line returns the byte offsets of the start and the end of line l's
// content (before its terminator). l must be a valid line.
func (s Snapshot) line(l int) (start, end int) {
	starts := s.lineStarts()
	start = starts[l]
	if l+1 == len(starts) {
		return start, len(s.text)
	}
	end = starts[l+1] - 1
	if s.text[end] == '\n' && end > start && s.text[end-1] == '\r' {
		end--
	}
	return start, end
}

// Offset returns the byte offset in the text of position p, whose character
// counts units of enc. It fails, with an error wrapping ErrPosition that
// names p, when p is negative, beyond the last line or the end of its line,
// inside a surrogate pair (UTF16) or inside a UTF-8 sequence (UTF8). The
// cost is a walk along p's line up to p (none for UTF8).
func (s Snapshot) Offset(p Position, enc Encoding) (int, error) {
	enc, err := enc.resolve()
	if err != nil {
		return 0, err
	}
	return s.offset(p, enc)
}

func (s Snapshot) offset(p Position, enc Encoding) (int, error) {
	if p.Line < 0 || p.Character < 0 {
		return 0, posError("position %v is negative", p)
	}
	if n := s.LineCount(); p.Line >= n {
		lines := "lines"
		if n == 1 {
			lines = "line"
		}
		return 0, posError("position %v is beyond the last line, %d (the document has %d %s)", p, n-1, n, lines)
	}
	start, end := s.line(p.Line)
	if enc == UTF8 {
		if p.Character > end-start {
			return 0, s.beyondLine(p, enc, start, end)
		}
		off := start + p.Character
		if r, at, inside := inSequence(s.text, start, off); inside {
			return 0, posError("position %v is inside the UTF-8 sequence of %U at %d:%d", p, r, p.Line, at-start)
		}
		return off, nil
	}
	off, units, split := advance(s.text, start, end, p.Character, enc)
	if split {
		r, _ := utf8.DecodeRuneInString(s.text[off:])
		return 0, posError("position %v is inside the surrogate pair of %U at %d:%d", p, r, p.Line, units)
	}
	if units < p.Character {
		return 0, s.beyondLine(p, enc, start, end)
	}
	return off, nil
}

func (s Snapshot) beyondLine(p Position, enc Encoding, start, end int) error {
	return posError("position %v is beyond the end of line %d (%d %s)", p, p.Line, count(s.text, start, end, enc), enc.unitName())
}

// PositionAt returns the position of byte offset off, its character
// counted in units of enc. It fails, with an error wrapping ErrPosition
// that names off, when off is outside [0, len(text)], inside a UTF-8
// sequence, or between the '\r' and '\n' of a line terminator: points no
// position addresses. The cost is a binary search over the lines and a
// walk along the line up to off (none for UTF8).
func (s Snapshot) PositionAt(off int, enc Encoding) (Position, error) {
	enc, err := enc.resolve()
	if err != nil {
		return Position{}, err
	}
	if off < 0 || off > len(s.text) {
		return Position{}, posError("offset %d is outside the text (%d bytes)", off, len(s.text))
	}
	starts := s.lineStarts()
	l := sort.Search(len(starts), func(i int) bool { return starts[i] > off }) - 1
	start, end := s.line(l)
	if off > end {
		return Position{}, posError("offset %d is between the \\r and \\n that end line %d", off, l)
	}
	if r, at, inside := inSequence(s.text, start, off); inside {
		return Position{}, posError("offset %d is inside the UTF-8 sequence of %U at offset %d", off, r, at)
	}
	return Position{Line: l, Character: count(s.text, start, off, enc)}, nil
}

// Slice returns the text in r. It fails as Offset does for either end, and
// with an error wrapping ErrPosition when r starts after it ends.
func (s Snapshot) Slice(r Range, enc Encoding) (string, error) {
	enc, err := enc.resolve()
	if err != nil {
		return "", err
	}
	a, b, err := s.offsets(r, enc)
	if err != nil {
		return "", err
	}
	return s.text[a:b], nil
}

// offsets converts both ends of r, enc already resolved.
func (s Snapshot) offsets(r Range, enc Encoding) (a, b int, err error) {
	if a, err = s.offset(r.Start, enc); err != nil {
		return 0, 0, within(err, "start of range "+r.String())
	}
	if b, err = s.offset(r.End, enc); err != nil {
		return 0, 0, within(err, "end of range "+r.String())
	}
	if r.End.before(r.Start) {
		return 0, 0, posError("range %v starts after it ends", r)
	}
	return a, b, nil
}

// apply returns the snapshot that changes make of s as version, enc
// already resolved; see Document.Apply.
func (s Snapshot) apply(version int32, changes []Change, enc Encoding) (Snapshot, error) {
	if version <= s.version {
		return s, &docError{kind: ErrVersion, msg: fmt.Sprintf("version %d of %s is not after the current version %d", version, s.uri, s.version)}
	}
	cur := s
	for i, c := range changes {
		if c.Range == nil {
			cur.text, cur.starts = c.Text, lineStarts(c.Text)
			continue
		}
		a, b, err := cur.offsets(*c.Range, enc)
		if err != nil {
			return s, within(err, fmt.Sprintf("version %d of %s, change %d of %d", version, s.uri, i+1, len(changes)))
		}
		cur.text, cur.starts = splice(cur.text, cur.lineStarts(), a, b, c.Text)
	}
	cur.version = version
	return cur, nil
}

func posError(format string, args ...any) error {
	return &docError{kind: ErrPosition, msg: fmt.Sprintf(format, args...)}
}
