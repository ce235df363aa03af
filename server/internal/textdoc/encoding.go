package textdoc

import (
	"fmt"
	"unicode/utf8"
)

// Encoding is a position encoding of LSP 3.17: the unit in which a
// Position's Character counts. Its values are the strings used on the wire.
// The zero value, "", stands for UTF16, the protocol's default.
type Encoding string

// The position encodings nib supports: all three that LSP 3.17 defines.
const (
	// UTF8 counts bytes.
	UTF8 Encoding = "utf-8"
	// UTF16 counts 16-bit code units: two for a character beyond U+FFFF (a
	// surrogate pair), one for any other. It is the LSP default.
	UTF16 Encoding = "utf-16"
	// UTF32 counts Unicode code points.
	UTF32 Encoding = "utf-32"
)

// Negotiate picks the position encoding for a connection from the client's
// general.positionEncodings, as LSP 3.17 describes: the first one listed
// that is supported, else UTF16 (also when the list is empty or absent).
func Negotiate(client []string) Encoding {
	for _, c := range client {
		switch e := Encoding(c); e {
		case UTF8, UTF16, UTF32:
			return e
		}
	}
	return UTF16
}

// resolve maps the zero value to UTF16 and refuses unknown encodings.
func (e Encoding) resolve() (Encoding, error) {
	switch e {
	case "":
		return UTF16, nil
	case UTF8, UTF16, UTF32:
		return e, nil
	}
	return "", &docError{kind: ErrEncoding, msg: fmt.Sprintf("unsupported position encoding %q (want %q, %q or %q)", string(e), UTF8, UTF16, UTF32)}
}

// unitName is the plural name of e's unit, for messages.
func (e Encoding) unitName() string {
	switch e {
	case UTF8:
		return "UTF-8 code units"
	case UTF32:
		return "UTF-32 code units"
	}
	return "UTF-16 code units"
}

// advance walks text from byte from towards byte end (a line's content, so
// that no UTF-8 sequence crosses end) until n units of e have been passed.
// It returns the byte offset reached and the units passed, which is less
// than n when end came first. When the next character is a surrogate pair
// of which only the first half fits into n, it stops before that character
// and reports split. Each invalid byte is one unit (see the package
// comment). e must not be UTF8, whose units are bytes.
func advance(text string, from, end, n int, e Encoding) (off, units int, split bool) {
	i := from
	for units < n && i < end {
		c := text[i]
		if c < utf8.RuneSelf {
			i++
			units++
			continue
		}
		_, size := utf8.DecodeRuneInString(text[i:end])
		w := 1
		if size == 4 && e == UTF16 {
			// Only U+10000..U+10FFFF take four bytes, and two UTF-16 units.
			w = 2
		}
		if units+w > n {
			return i, units, true
		}
		i += size
		units += w
	}
	return i, units, false
}

// count returns the units of e in text[from:to]. to must not be inside a
// UTF-8 sequence.
func count(text string, from, to int, e Encoding) int {
	switch e {
	case UTF8:
		return to - from
	case UTF32:
		// RuneCountInString counts each invalid byte as one rune.
		return utf8.RuneCountInString(text[from:to])
	}
	n := 0
	for i := from; i < to; {
		c := text[i]
		if c < utf8.RuneSelf {
			i++
			n++
			continue
		}
		_, size := utf8.DecodeRuneInString(text[i:to])
		if size == 4 {
			n += 2
		} else {
			n++
		}
		i += size
	}
	return n
}

// inSequence reports whether byte offset off of text falls strictly inside
// a valid multi-byte UTF-8 sequence, and if so which character it is and
// where that sequence starts. lo bounds the search backwards (a line start:
// sequences never cross one, since terminators are ASCII).
//
// Deciding this locally agrees with decoding from the start: a byte that is
// not a continuation byte always begins a new character, because no valid
// sequence contains one after its first byte.
func inSequence(text string, lo, off int) (r rune, at int, inside bool) {
	for at = off - 1; at >= lo && at >= off-(utf8.UTFMax-1); at-- {
		if utf8.RuneStart(text[at]) {
			r, size := utf8.DecodeRuneInString(text[at:])
			if size > off-at {
				return r, at, true
			}
			return 0, 0, false
		}
	}
	return 0, 0, false
}
