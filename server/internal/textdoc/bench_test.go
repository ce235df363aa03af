package textdoc_test

import (
	"strings"
	"testing"

	"github.com/nib-editor/nib/server/internal/textdoc"
)

// Benchmarks on the sizes that must stay in milliseconds: a 10 MB document
// of short lines, and one line of a million characters (a tenth of them
// surrogate pairs in UTF-16). Each reports ns per operation; the cost of
// a position on the long line is a walk along it.

func bigDoc() string {
	const line = "The quick brown fox jumps over the lazy dog 中文 😀, again and again.\r\n"
	return strings.Repeat(line, 10<<20/len(line))
}

func longLine() string { return strings.Repeat("abcdefghi😀", 100_000) }

func BenchmarkNewSnapshot10MB(b *testing.B) {
	text := bigDoc()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		textdoc.NewSnapshot("file:///big", 1, text)
	}
}

func BenchmarkOffset10MB(b *testing.B) {
	s := textdoc.NewSnapshot("file:///big", 1, bigDoc())
	p := pos(s.LineCount()-2, 60)
	for _, enc := range encodings {
		b.Run(string(enc), func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Offset(p, enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPositionAt10MB(b *testing.B) {
	text := bigDoc()
	s := textdoc.NewSnapshot("file:///big", 1, text)
	off := len(text) - 20
	for b.Loop() {
		if _, err := s.PositionAt(off, textdoc.UTF16); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOffsetLongLine(b *testing.B) {
	s := textdoc.NewSnapshot("file:///long", 1, longLine())
	for _, enc := range encodings {
		end, err := s.PositionAt(len(s.Text()), enc)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(enc), func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Offset(end, enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPositionAtLongLine(b *testing.B) {
	s := textdoc.NewSnapshot("file:///long", 1, longLine())
	for b.Loop() {
		if _, err := s.PositionAt(len(s.Text()), textdoc.UTF16); err != nil {
			b.Fatal(err)
		}
	}
}

// benchApply types and deletes one character at pos, alternately, so that
// the document keeps its size.
func benchApply(b *testing.B, text string, p textdoc.Position) {
	d := textdoc.NewDocument("file:///big", 1, text)
	ins := []textdoc.Change{edit(textdoc.Range{Start: p, End: p}, "x")}
	del := []textdoc.Change{edit(textdoc.Range{Start: p, End: textdoc.Position{Line: p.Line, Character: p.Character + 1}}, "")}
	v := int32(1)
	for b.Loop() {
		v++
		changes := ins
		if v%2 == 1 {
			changes = del
		}
		if err := d.Apply(v, changes, textdoc.UTF16); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApply10MB(b *testing.B) {
	text := bigDoc()
	benchApply(b, text, pos(strings.Count(text, "\n")/2, 30))
}

func BenchmarkApplyLongLine(b *testing.B) {
	benchApply(b, longLine(), pos(0, 1_000_000))
}

func BenchmarkMinimalEdit10MB(b *testing.B) {
	old := bigDoc()
	mid := len(old) / 2
	new := old[:mid] + "a rewritten sentence" + old[mid+10:]
	for b.Loop() {
		textdoc.MinimalEdit(old, new)
	}
}
