package textdoc_test

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/nib-editor/nib/server/internal/textdoc"
)

const (
	u8  = textdoc.UTF8
	u16 = textdoc.UTF16
	u32 = textdoc.UTF32
)

func pos(line, char int) textdoc.Position { return textdoc.Position{Line: line, Character: char} }

func rng(l1, c1, l2, c2 int) textdoc.Range {
	return textdoc.Range{Start: pos(l1, c1), End: pos(l2, c2)}
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		client []string
		want   textdoc.Encoding
	}{
		{nil, u16},
		{[]string{}, u16},
		{[]string{"utf-8"}, u8},
		{[]string{"utf-32", "utf-8"}, u32},
		{[]string{"utf-7", "UTF-8", "utf-8", "utf-16"}, u8},
		{[]string{"latin1"}, u16},
		{[]string{"utf-16", "utf-8"}, u16},
	}
	for _, tt := range tests {
		if got := textdoc.Negotiate(tt.client); got != tt.want {
			t.Errorf("Negotiate(%q) = %q, want %q", tt.client, got, tt.want)
		}
	}
}

// convTests are positions and the offsets they address, or the error they
// get. Every valid one is checked both ways.
var convTests = []struct {
	name string
	text string
	enc  textdoc.Encoding
	pos  textdoc.Position
	off  int
	err  string // the whole message, when the position is invalid
}{
	{"ascii start", "hello\nworld", u16, pos(0, 0), 0, ""},
	{"ascii line end", "hello\nworld", u16, pos(0, 5), 5, ""},
	{"ascii second line", "hello\nworld", u16, pos(1, 2), 8, ""},
	{"ascii document end", "hello\nworld", u16, pos(1, 5), 11, ""},
	{"ascii beyond line", "hello\nworld", u16, pos(0, 6), 0, "textdoc: position 0:6 is beyond the end of line 0 (5 UTF-16 code units)"},
	{"ascii beyond line utf-8", "hello\nworld", u8, pos(1, 9), 0, "textdoc: position 1:9 is beyond the end of line 1 (5 UTF-8 code units)"},
	{"ascii beyond last line", "hello\nworld", u16, pos(2, 0), 0, "textdoc: position 2:0 is beyond the last line, 1 (the document has 2 lines)"},
	{"huge character", "hello", u8, pos(0, math.MaxInt), 0, "textdoc: position 0:9223372036854775807 is beyond the end of line 0 (5 UTF-8 code units)"},
	{"huge character utf-16", "hello", u16, pos(0, math.MaxInt), 0, "textdoc: position 0:9223372036854775807 is beyond the end of line 0 (5 UTF-16 code units)"},
	{"negative line", "hello", u16, pos(-1, 0), 0, "textdoc: position -1:0 is negative"},
	{"negative character", "hello", u8, pos(0, -1), 0, "textdoc: position 0:-1 is negative"},
	{"trailing newline", "hello\n", u16, pos(1, 0), 6, ""},
	{"trailing newline beyond", "hello\n", u16, pos(1, 1), 0, "textdoc: position 1:1 is beyond the end of line 1 (0 UTF-16 code units)"},

	{"empty", "", u16, pos(0, 0), 0, ""},
	{"empty utf-8", "", u8, pos(0, 0), 0, ""},
	{"empty beyond line", "", u32, pos(0, 1), 0, "textdoc: position 0:1 is beyond the end of line 0 (0 UTF-32 code units)"},
	{"empty beyond last line", "", u16, pos(1, 0), 0, "textdoc: position 1:0 is beyond the last line, 0 (the document has 1 line)"},

	{"cjk utf-16", "中文\nx", u16, pos(0, 1), 3, ""},
	{"cjk utf-16 end", "中文\nx", u16, pos(0, 2), 6, ""},
	{"cjk utf-16 beyond", "中文\nx", u16, pos(0, 3), 0, "textdoc: position 0:3 is beyond the end of line 0 (2 UTF-16 code units)"},
	{"cjk utf-32", "中文\nx", u32, pos(0, 1), 3, ""},
	{"cjk utf-8", "中文\nx", u8, pos(0, 3), 3, ""},
	{"cjk utf-8 end", "中文\nx", u8, pos(0, 6), 6, ""},
	{"cjk utf-8 next line", "中文\nx", u8, pos(1, 1), 8, ""},
	{"cjk utf-8 inside", "中文\nx", u8, pos(0, 1), 0, "textdoc: position 0:1 is inside the UTF-8 sequence of U+4E2D at 0:0"},
	{"cjk utf-8 inside second", "中文\nx", u8, pos(0, 5), 0, "textdoc: position 0:5 is inside the UTF-8 sequence of U+6587 at 0:3"},
	{"cjk utf-8 beyond", "中文\nx", u8, pos(0, 7), 0, "textdoc: position 0:7 is beyond the end of line 0 (6 UTF-8 code units)"},

	{"emoji utf-16 before", "a😀b", u16, pos(0, 1), 1, ""},
	{"emoji utf-16 inside pair", "a😀b", u16, pos(0, 2), 0, "textdoc: position 0:2 is inside the surrogate pair of U+1F600 at 0:1"},
	{"emoji utf-16 after", "a😀b", u16, pos(0, 3), 5, ""},
	{"emoji utf-16 end", "a😀b", u16, pos(0, 4), 6, ""},
	{"emoji utf-16 beyond", "a😀b", u16, pos(0, 5), 0, "textdoc: position 0:5 is beyond the end of line 0 (4 UTF-16 code units)"},
	{"emoji pair at line end", "😀", u16, pos(0, 1), 0, "textdoc: position 0:1 is inside the surrogate pair of U+1F600 at 0:0"},
	{"two emoji", "😀😁", u16, pos(0, 3), 0, "textdoc: position 0:3 is inside the surrogate pair of U+1F601 at 0:2"},
	{"two emoji end", "😀😁", u16, pos(0, 4), 8, ""},
	{"emoji utf-32", "a😀b", u32, pos(0, 2), 5, ""},
	{"emoji utf-32 end", "a😀b", u32, pos(0, 3), 6, ""},
	{"emoji utf-32 beyond", "a😀b", u32, pos(0, 4), 0, "textdoc: position 0:4 is beyond the end of line 0 (3 UTF-32 code units)"},
	{"emoji utf-8", "a😀b", u8, pos(0, 5), 5, ""},
	{"emoji utf-8 inside", "a😀b", u8, pos(0, 4), 0, "textdoc: position 0:4 is inside the UTF-8 sequence of U+1F600 at 0:1"},

	// e + U+0301 COMBINING ACUTE ACCENT: two code points, one on screen.
	{"combining utf-16", "e\u0301x", u16, pos(0, 1), 1, ""},
	{"combining utf-16 after mark", "e\u0301x", u16, pos(0, 2), 3, ""},
	{"combining utf-32 after mark", "e\u0301x", u32, pos(0, 2), 3, ""},
	{"combining utf-8 inside mark", "e\u0301x", u8, pos(0, 2), 0, "textdoc: position 0:2 is inside the UTF-8 sequence of U+0301 at 0:1"},
	{"combining utf-8 after mark", "e\u0301x", u8, pos(0, 3), 3, ""},

	{"crlf line end", "a\r\nb\r\n", u16, pos(0, 1), 1, ""},
	{"crlf beyond line", "a\r\nb\r\n", u16, pos(0, 2), 0, "textdoc: position 0:2 is beyond the end of line 0 (1 UTF-16 code units)"},
	{"crlf beyond line utf-8", "a\r\nb\r\n", u8, pos(0, 2), 0, "textdoc: position 0:2 is beyond the end of line 0 (1 UTF-8 code units)"},
	{"crlf second line", "a\r\nb\r\n", u16, pos(1, 0), 3, ""},
	{"crlf second line end", "a\r\nb\r\n", u16, pos(1, 1), 4, ""},
	{"crlf last line", "a\r\nb\r\n", u16, pos(2, 0), 6, ""},
	{"crlf beyond last line", "a\r\nb\r\n", u16, pos(3, 0), 0, "textdoc: position 3:0 is beyond the last line, 2 (the document has 3 lines)"},
	{"lone cr", "a\rb\r", u16, pos(1, 0), 2, ""},
	{"lone cr end of line", "a\rb\r", u8, pos(1, 1), 3, ""},
	{"lone cr last line", "a\rb\r", u16, pos(2, 0), 4, ""},
	{"lone cr beyond", "a\rb\r", u16, pos(0, 2), 0, "textdoc: position 0:2 is beyond the end of line 0 (1 UTF-16 code units)"},
	{"cr crlf lf", "\r\r\n\n", u16, pos(2, 0), 3, ""},
	{"cr crlf lf end", "\r\r\n\n", u16, pos(3, 0), 4, ""},
	{"cr crlf lf beyond", "\r\r\n\n", u16, pos(4, 0), 0, "textdoc: position 4:0 is beyond the last line, 3 (the document has 4 lines)"},
	{"lf cr", "\n\r", u8, pos(2, 0), 2, ""},

	// Each invalid byte is one unit in every encoding.
	{"invalid utf-16", "a\xffb\xe4\xb8", u16, pos(0, 2), 2, ""},
	{"invalid utf-16 end", "a\xffb\xe4\xb8", u16, pos(0, 5), 5, ""},
	{"invalid utf-16 beyond", "a\xffb\xe4\xb8", u16, pos(0, 6), 0, "textdoc: position 0:6 is beyond the end of line 0 (5 UTF-16 code units)"},
	{"invalid utf-8 truncated sequence", "a\xffb\xe4\xb8", u8, pos(0, 4), 4, ""},
	{"invalid utf-32", "a\xffb\xe4\xb8", u32, pos(0, 4), 4, ""},
	{"encoded surrogate", "\xed\xa0\x80x", u16, pos(0, 3), 3, ""},
	{"stray continuation after cjk", "中\x80", u8, pos(0, 3), 3, ""},
	{"stray continuation after cjk end", "中\x80", u16, pos(0, 2), 4, ""},
	{"utf-8 encoded U+FFFD is one character", "\uFFFDx", u16, pos(0, 1), 3, ""},

	{"zero encoding is utf-16", "a😀b", "", pos(0, 3), 5, ""},
	{"unknown encoding", "a", "utf-7", pos(0, 0), 0, `textdoc: unsupported position encoding "utf-7" (want "utf-8", "utf-16" or "utf-32")`},
}

func TestOffset(t *testing.T) {
	for _, tt := range convTests {
		t.Run(tt.name, func(t *testing.T) {
			s := textdoc.NewSnapshot("file:///t", 1, tt.text)
			off, err := s.Offset(tt.pos, tt.enc)
			if tt.err != "" {
				if err == nil {
					t.Fatalf("Offset(%v, %s) = %d, want error %q", tt.pos, tt.enc, off, tt.err)
				}
				if err.Error() != tt.err {
					t.Fatalf("Offset(%v, %s) error\n got %q\nwant %q", tt.pos, tt.enc, err, tt.err)
				}
				want := textdoc.ErrPosition
				if tt.enc == "utf-7" {
					want = textdoc.ErrEncoding
				}
				if !errors.Is(err, want) {
					t.Fatalf("error %q does not wrap %v", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Offset(%v, %s): %v", tt.pos, tt.enc, err)
			}
			if off != tt.off {
				t.Fatalf("Offset(%v, %s) = %d, want %d", tt.pos, tt.enc, off, tt.off)
			}
			p, err := s.PositionAt(off, tt.enc)
			if err != nil {
				t.Fatalf("PositionAt(%d, %s): %v", off, tt.enc, err)
			}
			if p != tt.pos {
				t.Fatalf("PositionAt(%d, %s) = %v, want %v", off, tt.enc, p, tt.pos)
			}
		})
	}
}

func TestPositionAtErrors(t *testing.T) {
	tests := []struct {
		text string
		off  int
		enc  textdoc.Encoding
		err  string
	}{
		{"a\r\nb", 2, u16, `textdoc: offset 2 is between the \r and \n that end line 0`},
		{"x\ny\r\n", 4, u8, `textdoc: offset 4 is between the \r and \n that end line 1`},
		{"中", 1, u16, "textdoc: offset 1 is inside the UTF-8 sequence of U+4E2D at offset 0"},
		{"a😀", 4, u32, "textdoc: offset 4 is inside the UTF-8 sequence of U+1F600 at offset 1"},
		{"abcd", -1, u16, "textdoc: offset -1 is outside the text (4 bytes)"},
		{"abcd", 5, u8, "textdoc: offset 5 is outside the text (4 bytes)"},
		{"", 1, u8, "textdoc: offset 1 is outside the text (0 bytes)"},
		{"abcd", 0, "utf-7", `textdoc: unsupported position encoding "utf-7" (want "utf-8", "utf-16" or "utf-32")`},
	}
	for _, tt := range tests {
		s := textdoc.NewSnapshot("file:///t", 1, tt.text)
		p, err := s.PositionAt(tt.off, tt.enc)
		if err == nil {
			t.Errorf("PositionAt(%q, %d) = %v, want error %q", tt.text, tt.off, p, tt.err)
			continue
		}
		if err.Error() != tt.err {
			t.Errorf("PositionAt(%q, %d) error\n got %q\nwant %q", tt.text, tt.off, err, tt.err)
		}
		if !errors.Is(err, textdoc.ErrPosition) && !errors.Is(err, textdoc.ErrEncoding) {
			t.Errorf("error %q wraps neither ErrPosition nor ErrEncoding", err)
		}
	}
}

func TestPositionAtLines(t *testing.T) {
	// Every byte offset of a text with each kind of terminator, in UTF-16.
	text := "ab\r\n\rc\n\nd"
	want := map[int]textdoc.Position{
		0: pos(0, 0), 1: pos(0, 1), 2: pos(0, 2), // 3 is inside "\r\n"
		4: pos(1, 0), 5: pos(2, 0), 6: pos(2, 1), 7: pos(3, 0), 8: pos(4, 0), 9: pos(4, 1),
	}
	s := textdoc.NewSnapshot("file:///t", 1, text)
	if n := s.LineCount(); n != 5 {
		t.Fatalf("LineCount = %d, want 5", n)
	}
	for off := 0; off <= len(text); off++ {
		p, err := s.PositionAt(off, u16)
		w, ok := want[off]
		switch {
		case !ok && err == nil:
			t.Errorf("PositionAt(%d) = %v, want an error", off, p)
		case ok && err != nil:
			t.Errorf("PositionAt(%d): %v", off, err)
		case ok && p != w:
			t.Errorf("PositionAt(%d) = %v, want %v", off, p, w)
		}
	}
}

func TestSlice(t *testing.T) {
	text := "héllo\r\nwörld 😀!\rlast"
	tests := []struct {
		r    textdoc.Range
		enc  textdoc.Encoding
		want string
		err  string
	}{
		{rng(0, 0, 0, 5), u16, "héllo", ""},
		{rng(0, 1, 0, 3), u8, "é", ""},
		{rng(0, 5, 1, 0), u16, "\r\n", ""},
		{rng(0, 2, 2, 2), u32, "llo\r\nwörld 😀!\rla", ""},
		{rng(1, 6, 1, 8), u16, "😀", ""},
		{rng(1, 6, 1, 7), u32, "😀", ""},
		{rng(1, 3, 1, 3), u16, "", ""},
		{rng(2, 4, 2, 4), u16, "", ""},
		{rng(0, 0, 2, 4), u8, text, ""},
		{rng(1, 0, 0, 3), u16, "", "textdoc: range 1:0-0:3 starts after it ends"},
		{rng(0, 4, 0, 3), u16, "", "textdoc: range 0:4-0:3 starts after it ends"},
		{rng(0, 9, 1, 0), u16, "", "textdoc: start of range 0:9-1:0: position 0:9 is beyond the end of line 0 (5 UTF-16 code units)"},
		{rng(1, 0, 1, 7), u16, "", "textdoc: end of range 1:0-1:7: position 1:7 is inside the surrogate pair of U+1F600 at 1:6"},
		{rng(0, 0, 3, 0), u8, "", "textdoc: end of range 0:0-3:0: position 3:0 is beyond the last line, 2 (the document has 3 lines)"},
		{rng(0, 2, 0, 6), u8, "", "textdoc: start of range 0:2-0:6: position 0:2 is inside the UTF-8 sequence of U+00E9 at 0:1"},
	}
	d := textdoc.NewDocument("file:///t", 1, text)
	for _, tt := range tests {
		got, err := d.Slice(tt.r, tt.enc)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("Slice(%v, %s) = %q, %v; want error %q", tt.r, tt.enc, got, err, tt.err)
			} else if !errors.Is(err, textdoc.ErrPosition) {
				t.Errorf("Slice(%v) error %q does not wrap ErrPosition", tt.r, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Slice(%v, %s) = %q, %v; want %q", tt.r, tt.enc, got, err, tt.want)
		}
	}
}

func TestLineStarts(t *testing.T) {
	tests := []struct {
		text string
		want []int
	}{
		{"", []int{0}},
		{"abc", []int{0}},
		{"\n", []int{0, 1}},
		{"\r", []int{0, 1}},
		{"\r\n", []int{0, 2}},
		{"\n\r", []int{0, 1, 2}},
		{"\r\r\n\n", []int{0, 1, 3, 4}},
		{"a\nb\r\nc\rd", []int{0, 2, 5, 7}},
		{"a\r\r\r", []int{0, 2, 3, 4}},
		{"中\r\n😀\n", []int{0, 5, 10}},
	}
	for _, tt := range tests {
		if got := textdoc.LineStarts(tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("lineStarts(%q) = %v, want %v", tt.text, got, tt.want)
		}
		if got := textdoc.NewSnapshot("u", 0, tt.text).LineCount(); got != len(tt.want) {
			t.Errorf("LineCount(%q) = %d, want %d", tt.text, got, len(tt.want))
		}
		if ref := refStarts(tt.text); !slices.Equal(ref, tt.want) {
			t.Errorf("reference starts of %q = %v, want %v", tt.text, ref, tt.want)
		}
	}
}

func TestZeroValues(t *testing.T) {
	var s textdoc.Snapshot
	if s.LineCount() != 1 || s.Text() != "" || s.Version() != 0 || s.URI() != "" {
		t.Fatalf("zero Snapshot: %d lines, text %q, version %d, uri %q", s.LineCount(), s.Text(), s.Version(), s.URI())
	}
	if off, err := s.Offset(pos(0, 0), u16); err != nil || off != 0 {
		t.Fatalf("zero Snapshot Offset(0:0) = %d, %v", off, err)
	}
	if _, err := s.Offset(pos(1, 0), u16); !errors.Is(err, textdoc.ErrPosition) {
		t.Fatalf("zero Snapshot Offset(1:0) error %v, want ErrPosition", err)
	}
	var d textdoc.Document
	if err := d.Apply(1, []textdoc.Change{{Range: &textdoc.Range{}, Text: "x\n"}}, u16); err != nil {
		t.Fatal(err)
	}
	if d.Text() != "x\n" || d.LineCount() != 2 {
		t.Fatalf("zero Document after insert: %q, %d lines", d.Text(), d.LineCount())
	}
}

func TestPositionString(t *testing.T) {
	if got := rng(1, 2, 30, 4).String(); got != "1:2-30:4" {
		t.Fatalf("Range.String = %q", got)
	}
	if pos(3, 17).String() != "3:17" {
		t.Fatalf("Position.String = %q", pos(3, 17).String())
	}
}
