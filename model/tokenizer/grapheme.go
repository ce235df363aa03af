package tokenizer

import "unicode/utf8"

//go:generate python3 gengrapheme.py
//go:generate gofmt -w graphemetables.go

// graphemeProps packs a code point's Grapheme_Cluster_Break value (low four
// bits) with the Extended_Pictographic and Indic_Conjunct_Break flags that
// rules GB9c and GB11 of UAX #29 need.
type graphemeProps uint8

const (
	gcbOther graphemeProps = iota
	gcbCR
	gcbLF
	gcbControl
	gcbExtend
	gcbZWJ
	gcbRI
	gcbPrepend
	gcbSpacingMark
	gcbL
	gcbV
	gcbT
	gcbLV
	gcbLVT

	gcbMask graphemeProps = 0x0f

	propPictographic graphemeProps = 1 << 4
	propConsonant    graphemeProps = 1 << 5
	propLinker       graphemeProps = 1 << 6
)

// graphemeRange gives the properties of the code points lo..hi.
type graphemeRange struct {
	lo, hi rune
	props  graphemeProps
}

// propsOf looks r up in graphemeTable; Hangul syllables are computed.
func propsOf(r rune) graphemeProps {
	if r < 0x20 || r >= 0x7f && r < 0xa0 {
		switch r {
		case '\r':
			return gcbCR
		case '\n':
			return gcbLF
		}
		return gcbControl
	}
	if r < 0x7f {
		return gcbOther
	}
	if r >= 0xac00 && r <= 0xd7a3 {
		if (r-0xac00)%28 == 0 {
			return gcbLV
		}
		return gcbLVT
	}
	lo, hi := 0, len(graphemeTable)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch e := &graphemeTable[m]; {
		case r < e.lo:
			hi = m
		case r > e.hi:
			lo = m + 1
		default:
			return e.props
		}
	}
	return gcbOther
}

// graphemeEnd returns the end of the extended grapheme cluster that starts
// at s[start], following UAX #29 (Unicode 17) as the unicode-segmentation
// crate does. start must be a cluster boundary: the start of the text being
// normalised, or the end of the previous cluster. s must be valid UTF-8.
func graphemeEnd(s string, start int) int {
	r, n := utf8.DecodeRuneInString(s[start:])
	i := start + n
	// The common case, an ASCII character other than CR followed by ASCII,
	// is a cluster of one: no ASCII character extends a cluster.
	if r < utf8.RuneSelf && r != '\r' && (i == len(s) || s[i] < utf8.RuneSelf) {
		return i
	}
	prev := propsOf(r)
	// State for GB9c: 1 after an InCB consonant (and extenders), 2 once a
	// linker follows it.
	conjunct := 0
	if prev&propConsonant != 0 {
		conjunct = 1
	}
	// State for GB11: 1 after an Extended_Pictographic (and Extend*),
	// 2 once a ZWJ follows that.
	emoji := 0
	if prev&propPictographic != 0 {
		emoji = 1
	}
	// GB12/13: regional indicators pair up from the cluster's start.
	ri := 0
	if prev&gcbMask == gcbRI {
		ri = 1
	}
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		cur := propsOf(r)
		if graphemeBreak(prev, cur, conjunct, emoji, ri) {
			return i
		}
		// Advance the rule states over the character just joined.
		p, c := prev&gcbMask, cur&gcbMask
		switch {
		case cur&propConsonant != 0:
			conjunct = 1
		case cur&propLinker != 0 && conjunct > 0:
			conjunct = 2
		case (c == gcbExtend || c == gcbZWJ) && r != 0x200c && conjunct > 0:
			// InCB=Extend (every Extend and ZWJ but the linkers and
			// ZWNJ) keeps the conjunct open.
		default:
			conjunct = 0
		}
		switch {
		case cur&propPictographic != 0:
			emoji = 1
		case c == gcbExtend && emoji == 1:
		case c == gcbZWJ && emoji == 1:
			emoji = 2
		default:
			emoji = 0
		}
		if c == gcbRI && p == gcbRI {
			ri++
		} else if c == gcbRI {
			ri = 1
		} else {
			ri = 0
		}
		prev = cur
		i += n
	}
	return i
}

// graphemeBreak reports whether UAX #29 puts a cluster boundary between a
// character with properties prev and the next one with cur.
func graphemeBreak(prev, cur graphemeProps, conjunct, emoji, ri int) bool {
	p, c := prev&gcbMask, cur&gcbMask
	switch {
	case p == gcbCR && c == gcbLF: // GB3
		return false
	case p == gcbCR || p == gcbLF || p == gcbControl: // GB4
		return true
	case c == gcbCR || c == gcbLF || c == gcbControl: // GB5
		return true
	case p == gcbL && (c == gcbL || c == gcbV || c == gcbLV || c == gcbLVT): // GB6
		return false
	case (p == gcbLV || p == gcbV) && (c == gcbV || c == gcbT): // GB7
		return false
	case (p == gcbLVT || p == gcbT) && c == gcbT: // GB8
		return false
	case c == gcbExtend || c == gcbZWJ: // GB9
		return false
	case c == gcbSpacingMark: // GB9a
		return false
	case p == gcbPrepend: // GB9b
		return false
	case conjunct == 2 && cur&propConsonant != 0: // GB9c
		return false
	case emoji == 2 && p == gcbZWJ && cur&propPictographic != 0: // GB11
		return false
	case p == gcbRI && c == gcbRI: // GB12, GB13
		return ri%2 == 0
	}
	return true // GB999
}

// GraphemeBoundary reports whether s may be cut at byte i without splitting
// an extended grapheme cluster (UAX #29, as graphemeEnd segments): what
// editors show as one character stays whole. The ends of s are boundaries.
// It looks only near i: back to the nearest place where the rules break
// whatever came before, which in ordinary text is the previous character.
func GraphemeBoundary(s string, i int) bool {
	if i <= 0 || i >= len(s) {
		return true
	}
	if !utf8.RuneStart(s[i]) {
		return false
	}
	if brk, known := breakKnown(s, i); known {
		return brk
	}
	// Rules GB9c, GB11 and GB12 depend on the characters before: segment
	// from a place that is a boundary whatever they are.
	j := i
	for j > 0 {
		_, n := utf8.DecodeLastRuneInString(s[:j])
		j -= n
		if brk, known := breakKnown(s, j); j == 0 || known && brk {
			break
		}
	}
	for j < i {
		j = graphemeEnd(s, j)
	}
	return j == i
}

// breakKnown reports whether UAX #29 breaks between the characters either
// side of s[i] (0 < i < len(s)), and whether that holds whatever the state
// of rules GB9c, GB11 and GB12, that is without looking further back.
func breakKnown(s string, i int) (brk, known bool) {
	if i <= 0 || i >= len(s) {
		return true, true
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	c, _ := utf8.DecodeRuneInString(s[i:])
	prev, cur := propsOf(r), propsOf(c)
	brk = graphemeBreak(prev, cur, 0, 0, 1)
	for conjunct := range 3 {
		for emoji := range 3 {
			for ri := 1; ri <= 2; ri++ {
				if graphemeBreak(prev, cur, conjunct, emoji, ri) != brk {
					return brk, false
				}
			}
		}
	}
	return brk, true
}
