package textdoc_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/nib-editor/nib/server/internal/textdoc"
)

func edit(r textdoc.Range, text string) textdoc.Change { return textdoc.Change{Range: &r, Text: text} }

func full(text string) textdoc.Change { return textdoc.Change{Text: text} }

// checkIndex fails t unless the line index of s equals one built from
// scratch.
func checkIndex(t *testing.T, s textdoc.Snapshot) {
	t.Helper()
	if got, want := s.Starts(), refStarts(s.Text()); !slices.Equal(got, want) {
		t.Fatalf("line starts of %q = %v, want %v", s.Text(), got, want)
	}
}

func TestApply(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		enc     textdoc.Encoding
		changes []textdoc.Change
		want    string
		lines   int
	}{
		{"insert", "hello world", u16, []textdoc.Change{edit(rng(0, 5, 0, 5), ",")}, "hello, world", 1},
		{"delete", "hello world", u16, []textdoc.Change{edit(rng(0, 5, 0, 11), "")}, "hello", 1},
		{"replace across lines", "one\ntwo\nthree", u16, []textdoc.Change{edit(rng(0, 1, 2, 2), "NE\nT")}, "oNE\nTree", 2},
		{"insert at document end", "a\n", u16, []textdoc.Change{edit(rng(1, 0, 1, 0), "b")}, "a\nb", 2},
		{"insert into empty", "", u8, []textdoc.Change{edit(rng(0, 0, 0, 0), "x\r\ny")}, "x\r\ny", 2},
		{"delete everything", "a\nb\r\nc", u16, []textdoc.Change{edit(rng(0, 0, 2, 1), "")}, "", 1},
		{"delete a crlf", "a\r\nb", u16, []textdoc.Change{edit(rng(0, 1, 1, 0), "")}, "ab", 1},
		{"lf after lone cr makes crlf", "a\rb", u16, []textdoc.Change{edit(rng(1, 0, 1, 0), "\n")}, "a\r\nb", 2},
		{"cr before lf makes crlf", "a\nb", u16, []textdoc.Change{edit(rng(0, 1, 0, 1), "\r")}, "a\r\nb", 2},
		{"deletion joins cr and lf", "a\rX\nb", u16, []textdoc.Change{edit(rng(1, 0, 1, 1), "")}, "a\r\nb", 2},
		{"insertion splits crlf apart", "a\r\nb", u16, []textdoc.Change{edit(rng(0, 1, 0, 1), "\rz")}, "a\rz\r\nb", 3},
		{"insertion ending in cr before lf", "ab\ncd", u8, []textdoc.Change{edit(rng(0, 2, 0, 2), "x\r")}, "abx\r\ncd", 2},
		{"emoji utf-16", "a😀b", u16, []textdoc.Change{edit(rng(0, 1, 0, 3), "😁😂")}, "a😁😂b", 1},
		{"emoji utf-32", "a😀b", u32, []textdoc.Change{edit(rng(0, 1, 0, 2), "")}, "ab", 1},
		{"cjk utf-8", "中文", u8, []textdoc.Change{edit(rng(0, 3, 0, 6), "字")}, "中字", 1},
		{"combining mark", "e\u0301", u16, []textdoc.Change{edit(rng(0, 1, 0, 2), "\u0300")}, "e\u0300", 1},
		{"sequential ranges read the previous result", "abc", u16, []textdoc.Change{
			edit(rng(0, 0, 0, 0), "12\n"), // "12\nabc"
			edit(rng(1, 1, 1, 2), "B"),    // "12\naBc"
			edit(rng(0, 2, 1, 0), ""),     // "12aBc"
		}, "12aBc", 1},
		{"full replacement then range", "old", u16, []textdoc.Change{full("new\ntext"), edit(rng(1, 0, 1, 4), "TEXT")}, "new\nTEXT", 2},
		{"range then full replacement", "old", u16, []textdoc.Change{edit(rng(0, 0, 0, 3), "x"), full("y")}, "y", 1},
		{"invalid utf-8 kept byte for byte", "a\xffb", u16, []textdoc.Change{edit(rng(0, 1, 0, 2), "\xfe\xfd")}, "a\xfe\xfdb", 1},
		{"no changes", "same", u16, nil, "same", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := textdoc.NewDocument("file:///t", 1, tt.text)
			if err := d.Apply(2, tt.changes, tt.enc); err != nil {
				t.Fatal(err)
			}
			if d.Text() != tt.want || d.Version() != 2 || d.LineCount() != tt.lines {
				t.Fatalf("after Apply: %q version %d, %d lines; want %q version 2, %d lines", d.Text(), d.Version(), d.LineCount(), tt.want, tt.lines)
			}
			checkIndex(t, d.Snapshot())
		})
	}
}

func TestApplyErrors(t *testing.T) {
	const text = "héllo\r\n😀 world"
	tests := []struct {
		name    string
		version int32
		enc     textdoc.Encoding
		changes []textdoc.Change
		kind    error
		err     string
	}{
		{"same version", 5, u16, []textdoc.Change{full("x")}, textdoc.ErrVersion,
			"textdoc: version 5 of file:///t is not after the current version 5"},
		{"older version", 4, u16, nil, textdoc.ErrVersion,
			"textdoc: version 4 of file:///t is not after the current version 5"},
		{"beyond line", 6, u16, []textdoc.Change{edit(rng(0, 6, 0, 6), "x")}, textdoc.ErrPosition,
			"textdoc: version 6 of file:///t, change 1 of 1: start of range 0:6-0:6: position 0:6 is beyond the end of line 0 (5 UTF-16 code units)"},
		{"second change fails", 6, u16, []textdoc.Change{edit(rng(0, 0, 0, 5), "hi"), edit(rng(0, 3, 0, 3), "x")}, textdoc.ErrPosition,
			"textdoc: version 6 of file:///t, change 2 of 2: start of range 0:3-0:3: position 0:3 is beyond the end of line 0 (2 UTF-16 code units)"},
		{"inside surrogate pair", 6, u16, []textdoc.Change{edit(rng(1, 0, 1, 1), "")}, textdoc.ErrPosition,
			"textdoc: version 6 of file:///t, change 1 of 1: end of range 1:0-1:1: position 1:1 is inside the surrogate pair of U+1F600 at 1:0"},
		{"inside utf-8 sequence", 6, u8, []textdoc.Change{edit(rng(0, 2, 0, 3), "")}, textdoc.ErrPosition,
			"textdoc: version 6 of file:///t, change 1 of 1: start of range 0:2-0:3: position 0:2 is inside the UTF-8 sequence of U+00E9 at 0:1"},
		{"beyond last line", 6, u32, []textdoc.Change{full("one line"), edit(rng(1, 0, 1, 0), "")}, textdoc.ErrPosition,
			"textdoc: version 6 of file:///t, change 2 of 2: start of range 1:0-1:0: position 1:0 is beyond the last line, 0 (the document has 1 line)"},
		{"start after end", 6, u16, []textdoc.Change{edit(rng(1, 2, 0, 1), "")}, textdoc.ErrPosition,
			"textdoc: version 6 of file:///t, change 1 of 1: range 1:2-0:1 starts after it ends"},
		{"unknown encoding", 6, "utf-7", []textdoc.Change{full("x")}, textdoc.ErrEncoding,
			`textdoc: unsupported position encoding "utf-7" (want "utf-8", "utf-16" or "utf-32")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := textdoc.NewDocument("file:///t", 5, text)
			before := d.Snapshot()
			err := d.Apply(tt.version, tt.changes, tt.enc)
			if err == nil {
				t.Fatalf("Apply succeeded: %q version %d", d.Text(), d.Version())
			}
			if err.Error() != tt.err {
				t.Fatalf("error\n got %q\nwant %q", err, tt.err)
			}
			if !errors.Is(err, tt.kind) {
				t.Fatalf("error %q does not wrap %v", err, tt.kind)
			}
			if d.Text() != text || d.Version() != 5 || !slices.Equal(d.Snapshot().Starts(), before.Starts()) {
				t.Fatalf("document changed by a failed Apply: %q version %d", d.Text(), d.Version())
			}
		})
	}
}

func TestSnapshotSurvivesApply(t *testing.T) {
	d := textdoc.NewDocument("file:///t", 1, "a\nb\nc")
	s := d.Snapshot()
	for v := int32(2); v < 20; v++ {
		if err := d.Apply(v, []textdoc.Change{edit(rng(0, 0, 0, 0), "x\r\n")}, u16); err != nil {
			t.Fatal(err)
		}
	}
	if s.Text() != "a\nb\nc" || s.Version() != 1 || !slices.Equal(s.Starts(), []int{0, 2, 4}) {
		t.Fatalf("old snapshot changed: %q version %d starts %v", s.Text(), s.Version(), s.Starts())
	}
	if got, err := s.Slice(rng(1, 0, 2, 1), u16); err != nil || got != "b\nc" {
		t.Fatalf("old snapshot Slice = %q, %v", got, err)
	}
	if d.LineCount() != 21 {
		t.Fatalf("LineCount = %d, want 21", d.LineCount())
	}
	checkIndex(t, d.Snapshot())
}
