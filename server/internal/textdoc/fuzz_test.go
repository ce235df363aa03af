package textdoc_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nib-editor/nib/server/internal/textdoc"
)

var encodings = []textdoc.Encoding{textdoc.UTF8, textdoc.UTF16, textdoc.UTF32}

// seedTexts cover each kind of character and terminator; the fuzz targets
// start from them.
var seedTexts = []string{
	"",
	"hello\nworld",
	"a\r\nb\r\n",
	"a\rb\r",
	"\r\r\n\n\r",
	"中文\n字",
	"a😀b\n😁😂",
	"e\u0301\u0302x",
	"a\xffb\xe4\xb8",
	"\xed\xa0\x80\xf0\x9f\x98",
	"中\x80\r\n\x80",
	"\uFFFD\r\n\U0010FFFF",
	"mixed 中 😀 é\r\n\rlast line",
}

// FuzzOffsetRoundTrip checks, on any text, that every valid position and
// offset (as the reference model lists them) convert to each other in all
// three encodings, and that everything else is refused with ErrPosition.
func FuzzOffsetRoundTrip(f *testing.F) {
	for _, s := range seedTexts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 256 {
			text = text[:256]
		}
		s := textdoc.NewSnapshot("file:///f", 1, text)
		checkIndex(t, s)
		lines := refLines(text)
		if s.LineCount() != len(lines) {
			t.Fatalf("LineCount = %d, want %d", s.LineCount(), len(lines))
		}
		for _, enc := range encodings {
			pts := refPoints(text, enc)
			validOff := make([]bool, len(text)+1)
			// Each line's valid characters, from 0 to its length.
			valid := make([][]bool, len(lines))
			for i, pt := range pts {
				validOff[pt.off] = true
				if i+1 == len(pts) || pts[i+1].pos.Line != pt.pos.Line {
					valid[pt.pos.Line] = make([]bool, pt.pos.Character+1)
				}
			}
			for _, pt := range pts {
				valid[pt.pos.Line][pt.pos.Character] = true
				off, err := s.Offset(pt.pos, enc)
				if err != nil || off != pt.off {
					t.Fatalf("%s: Offset(%v) = %d, %v; want %d", enc, pt.pos, off, err, pt.off)
				}
				p, err := s.PositionAt(pt.off, enc)
				if err != nil || p != pt.pos {
					t.Fatalf("%s: PositionAt(%d) = %v, %v; want %v", enc, pt.off, p, err, pt.pos)
				}
			}
			for off := -1; off <= len(text)+1; off++ {
				if off >= 0 && off <= len(text) && validOff[off] {
					continue
				}
				if p, err := s.PositionAt(off, enc); !errors.Is(err, textdoc.ErrPosition) {
					t.Fatalf("%s: PositionAt(%d) = %v, %v; want ErrPosition", enc, off, p, err)
				}
			}
			for l := range lines {
				for c := 0; c <= len(valid[l]); c++ { // one beyond the line's end
					if c < len(valid[l]) && valid[l][c] {
						continue
					}
					if off, err := s.Offset(pos(l, c), enc); !errors.Is(err, textdoc.ErrPosition) {
						t.Fatalf("%s: Offset(%v) = %d, %v; want ErrPosition", enc, pos(l, c), off, err)
					}
				}
			}
			if off, err := s.Offset(pos(len(lines), 0), enc); !errors.Is(err, textdoc.ErrPosition) {
				t.Fatalf("%s: Offset beyond the last line = %d, %v; want ErrPosition", enc, off, err)
			}
		}
	})
}

// script hands out the bytes of a fuzz input as choices, 0 once used up.
type script []byte

func (s *script) next() int {
	if len(*s) == 0 {
		return 0
	}
	b := (*s)[0]
	*s = (*s)[1:]
	return int(b)
}

// piece picks an inserted text: a terminator, a character that is more than
// one unit somewhere, or a run of the pool.
func (s *script) piece(pool []rune) string {
	switch b := s.next(); b % 8 {
	case 0:
		return ""
	case 1:
		return "\n"
	case 2:
		return "\r"
	case 3:
		return "\r\n"
	case 4:
		return "😀"
	case 5:
		return "é\u0301中"
	}
	if len(pool) == 0 {
		return "x"
	}
	i := s.next() % len(pool)
	j := min(len(pool), i+s.next()%12)
	return string(pool[i:j])
}

// change picks one change against the reference text doc: mostly a range
// between two valid positions, sometimes a full replacement, sometimes a
// range with a position the reference refuses.
func (s *script) change(doc refDoc, enc textdoc.Encoding, pool []rune) textdoc.Change {
	kind := s.next() % 16
	if kind == 0 {
		return textdoc.Change{Text: s.piece(pool)}
	}
	ps := doc.positions(enc)
	i, j := s.next()%len(ps), s.next()%len(ps)
	if i > j {
		i, j = j, i
	}
	r := textdoc.Range{Start: ps[i], End: ps[j]}
	switch kind {
	case 1: // beyond the end of a line, or the last line
		r.End.Character++
	case 2:
		r.Start.Line = len(doc.lines())
	case 3: // start after end (valid only when they are equal)
		r.Start, r.End = r.End, r.Start
	case 4: // one unit further: inside a pair or sequence, or a valid point
		r.Start.Character++
	}
	return textdoc.Change{Range: &r, Text: s.piece(pool)}
}

// FuzzApply applies random incremental edits, in all three encodings, to a
// Document and to the reference model (runes and plain slicing), and
// checks that they agree on the text and on which edits are refused, that
// refused edits change nothing, and that the line index stays equal to one
// built from scratch. The reference works on runes, so the text and pool
// are made valid UTF-8 first; a second phase edits the raw text by byte
// offsets found with PositionAt.
func FuzzApply(f *testing.F) {
	for i, s := range seedTexts {
		f.Add(s, []byte{byte(i), 3, 5, 7, 2, 250, 1, 9, 4, 0, 8, 16, 2, 2, 6, 1, 3, 33, 255, 17, 4, 12, 5}, "pool 中😀\r\n")
		// Longer scripts from a fixed generator, for many edits per seed.
		choices := make([]byte, 400)
		x := uint32(i + 1)
		for j := range choices {
			x = x*1664525 + 1013904223
			choices[j] = byte(x >> 24)
		}
		f.Add(s, choices, "Some pool text: 中文, 😀, e\u0301.\r\nNext\rline\n")
	}
	f.Add("a\rX\nb", []byte{0, 2, 5, 5, 6, 0}, "")
	f.Add("line\r\n", []byte{1, 2, 4, 5, 1, 2, 2, 7, 7, 2, 1}, "\r\n\r")
	f.Fuzz(func(t *testing.T, raw string, choices []byte, rawPool string) {
		runes := []rune(raw) // each invalid byte becomes U+FFFD
		if len(runes) > 300 {
			runes = runes[:300]
		}
		text := string(runes)
		pool := []rune(rawPool)
		s := script(choices)
		d := textdoc.NewDocument("file:///f", 1, text)
		ref := refDoc(text)
		for step := 0; step < 64 && len(s) > 0; step++ {
			b := s.next()
			enc := encodings[b%3]
			version := d.Version() + 1
			if b >= 240 {
				version = d.Version() - int32(b%2)
			}
			var changes []textdoc.Change
			work, ok := ref, true
			for range 1 + (b/3)%3 {
				c := s.change(work, enc, pool)
				changes = append(changes, c)
				if next, valid := work.apply(c, enc); !valid {
					ok = false
				} else {
					work = next
				}
			}
			before := d.Snapshot()
			err := d.Apply(version, changes, enc)
			switch {
			case version <= before.Version():
				if !errors.Is(err, textdoc.ErrVersion) {
					t.Fatalf("step %d: Apply at version %d after %d: %v, want ErrVersion", step, version, before.Version(), err)
				}
			case !ok:
				if !errors.Is(err, textdoc.ErrPosition) {
					t.Fatalf("step %d: Apply(%s, %+v) to %q: %v, want ErrPosition", step, enc, changes, before.Text(), err)
				}
			default:
				if err != nil {
					t.Fatalf("step %d: Apply(%s, %+v) to %q: %v", step, enc, changes, before.Text(), err)
				}
				if d.Text() != string(work) || d.Version() != version {
					t.Fatalf("step %d: Apply(%s, %+v) to %q gave %q v%d, want %q v%d", step, enc, changes, before.Text(), d.Text(), d.Version(), string(work), version)
				}
				ref = work
			}
			if err != nil && (d.Text() != before.Text() || d.Version() != before.Version()) {
				t.Fatalf("step %d: refused Apply changed the document to %q v%d", step, d.Text(), d.Version())
			}
			checkIndex(t, d.Snapshot())
		}

		// Raw text, invalid UTF-8 and all: edits between addressable byte
		// offsets splice bytes.
		if len(raw) > 2000 {
			raw = raw[:2000]
		}
		d = textdoc.NewDocument("file:///raw", 1, raw)
		s = script(choices)
		for step := 0; step < 16 && len(s) > 0; step++ {
			enc := encodings[s.next()%3]
			cur := d.Text()
			var offs []int
			for off := 0; off <= len(cur); off++ {
				if _, err := d.PositionAt(off, enc); err == nil {
					offs = append(offs, off)
				}
			}
			a, b := offs[s.next()%len(offs)], offs[s.next()%len(offs)]
			if a > b {
				a, b = b, a
			}
			pa, _ := d.PositionAt(a, enc)
			pb, _ := d.PositionAt(b, enc)
			ins := rawPool[min(len(rawPool), s.next()):]
			ins = ins[:min(len(ins), s.next()%16)]
			err := d.Apply(d.Version()+1, []textdoc.Change{{Range: &textdoc.Range{Start: pa, End: pb}, Text: ins}}, enc)
			if err != nil {
				t.Fatalf("raw step %d: replacing %v-%v (%d-%d) of %q: %v", step, pa, pb, a, b, cur, err)
			}
			if want := cur[:a] + ins + cur[b:]; d.Text() != want {
				t.Fatalf("raw step %d: replacing %d-%d of %q by %q gave %q, want %q", step, a, b, cur, ins, d.Text(), want)
			}
			checkIndex(t, d.Snapshot())
		}
	})
}

// FuzzMinimalEdit checks that MinimalEdit's replacement turns old into
// new, that its ends are addressable in every encoding, and that its
// prefix and suffix are the longest allowed, as found by a naive search.
func FuzzMinimalEdit(f *testing.F) {
	for _, s := range seedTexts {
		f.Add(s, s)
		f.Add(s, s+"x")
		f.Add(s, "x"+s)
		f.Add(s, strings.ReplaceAll(s, "\r\n", "\n"))
	}
	f.Add("a中b", "a丮b")
	f.Add("x😀", "x😁")
	f.Add("aé", "aĩ")
	f.Add("a\r\nb", "a\rb")
	f.Add("x\r\n", "y\n")
	f.Add("\xe4\xb8", "\xe4\xb8\xad")
	f.Fuzz(func(t *testing.T, old, new string) {
		if len(old) > 300 {
			old = old[:300]
		}
		if len(new) > 300 {
			new = new[:300]
		}
		start, end, text := textdoc.MinimalEdit(old, new)
		if start < 0 || start > end || end > len(old) {
			t.Fatalf("MinimalEdit(%q, %q) = %d, %d: not a range of old", old, new, start, end)
		}
		if got := old[:start] + text + old[end:]; got != new {
			t.Fatalf("MinimalEdit(%q, %q) = %d, %d, %q, which gives %q", old, new, start, end, text, got)
		}
		s := textdoc.NewSnapshot("file:///f", 1, old)
		for _, enc := range encodings {
			if _, err := s.PositionAt(start, enc); err != nil {
				t.Fatalf("MinimalEdit(%q, %q): start: %v", old, new, err)
			}
			if _, err := s.PositionAt(end, enc); err != nil {
				t.Fatalf("MinimalEdit(%q, %q): end: %v", old, new, err)
			}
		}
		wantStart, wantSuffix := refMinimal(old, new)
		if start != wantStart || len(old)-end != wantSuffix {
			t.Fatalf("MinimalEdit(%q, %q) keeps prefix %d and suffix %d bytes, want %d and %d", old, new, start, len(old)-end, wantStart, wantSuffix)
		}
	})
}

// refMinimal searches for the longest allowed common prefix, then suffix:
// ends on character boundaries of both texts, not between '\r' and '\n'
// of old.
func refMinimal(old, new string) (prefix, suffix int) {
	bo, bn := refBoundaries(old), refBoundaries(new)
	crlf := func(i int) bool { return i > 0 && i < len(old) && old[i-1] == '\r' && old[i] == '\n' }
	for p := min(len(old), len(new)); p >= 0; p-- {
		if old[:p] == new[:p] && bo[p] && bn[p] && !crlf(p) {
			prefix = p
			break
		}
	}
	for s := min(len(old), len(new)) - prefix; s >= 0; s-- {
		o, n := len(old)-s, len(new)-s
		if old[o:] == new[n:] && bo[o] && bn[n] && !crlf(o) {
			return prefix, s
		}
	}
	panic("unreachable: an empty suffix is always allowed")
}

// refBoundaries marks the offsets of text where a character starts or the
// text ends, splitting as Go's range loop does.
func refBoundaries(text string) map[int]bool {
	b := map[int]bool{len(text): true}
	for i := range text {
		b[i] = true
	}
	return b
}

// FuzzSlice checks Slice on any text and any range, in all three
// encodings: the bytes between the two offsets the reference model gives,
// when both ends are valid positions in order, and ErrPosition otherwise
// (an end beyond a line, inside a character or a "\r\n", or before the
// start).
func FuzzSlice(f *testing.F) {
	for _, s := range seedTexts {
		f.Add(s, 0, 0, 1, 2)
		f.Add(s, 0, 1, 0, 0)
		f.Add(s, 1, 0, 2, 5)
	}
	f.Add("a😀b", 0, 1, 0, 3) // inside the surrogate pair in UTF-16
	f.Add("a😀b", 0, 2, 0, 4)
	f.Add("a\r\nb", 0, 1, 1, 0)
	f.Add("x", -1, 0, 0, 1)
	f.Fuzz(func(t *testing.T, text string, l1, c1, l2, c2 int) {
		if len(text) > 256 {
			text = text[:256]
		}
		s := textdoc.NewSnapshot("file:///f", 1, text)
		r := textdoc.Range{Start: pos(l1, c1), End: pos(l2, c2)}
		for _, enc := range encodings {
			offs := map[textdoc.Position]int{}
			for _, pt := range refPoints(text, enc) {
				offs[pt.pos] = pt.off
			}
			a, okA := offs[r.Start]
			b, okB := offs[r.End]
			got, err := s.Slice(r, enc)
			if okA && okB && a <= b {
				if err != nil || got != text[a:b] {
					t.Fatalf("%s: Slice(%v) of %q = %q, %v; want %q", enc, r, text, got, err, text[a:b])
				}
				continue
			}
			if !errors.Is(err, textdoc.ErrPosition) {
				t.Fatalf("%s: Slice(%v) of %q = %q, %v; want ErrPosition", enc, r, text, got, err)
			}
		}
	})
}
