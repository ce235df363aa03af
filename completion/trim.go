package completion

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nib-editor/nib/model/tokenizer"
)

// side is the text on one side of the cursor, of which the part nearest
// the cursor is kept. Cuts are measured by the bytes they keep.
type side struct {
	text   string
	before bool // the cursor is at the end of text: a suffix is kept
}

// keep returns the n bytes nearest the cursor.
func (s side) keep(n int) string {
	if s.before {
		return s.text[len(s.text)-n:]
	}
	return s.text[:n]
}

// at returns the index in text of the cut that keeps n bytes.
func (s side) at(n int) int {
	if s.before {
		return len(s.text) - n
	}
	return n
}

// floor returns the largest cut that keeps at most n bytes.
func (s side) floor(n int) int {
	for n > 0 && !tokenizer.GraphemeBoundary(s.text, s.at(n)) {
		n--
	}
	return n
}

// ceil returns the smallest cut that keeps at least n bytes.
func (s side) ceil(n int) int {
	for n < len(s.text) && !tokenizer.GraphemeBoundary(s.text, s.at(n)) {
		n++
	}
	return n
}

// cutKind ranks cuts: a better kind is also each lesser one.
type cutKind int

const (
	cutGrapheme cutKind = iota
	cutWord
	cutSentence
	cutParagraph
)

// kind classifies the cut keeping n bytes, a grapheme boundary. Keeping
// all or nothing breaks no paragraph.
func (s side) kind(n int) cutKind {
	t, c := s.text, s.at(n)
	if n == 0 || n == len(t) {
		return cutParagraph
	}
	prev, _ := utf8.DecodeLastRuneInString(t[:c])
	next, _ := utf8.DecodeRuneInString(t[c:])
	// The kept text must start (before) or end (after) at a word, the
	// whitespace between the words on the dropped side.
	if s.before && !(unicode.IsSpace(prev) && !unicode.IsSpace(next)) ||
		!s.before && !(!unicode.IsSpace(prev) && unicode.IsSpace(next)) {
		// Scripts without spaces end sentences without them too: 。 then
		// the next sentence.
		if isTerminator(prev) && !unicode.IsSpace(next) && !isCloser(next) && !isTerminator(next) {
			return cutSentence
		}
		return cutGrapheme
	}
	// head is the text up to and including the whitespace at the cut.
	var head, space string
	if s.before {
		head = t[:c]
		space = head[len(strings.TrimRightFunc(head, unicode.IsSpace)):]
	} else {
		rest := strings.TrimLeftFunc(t[c:], unicode.IsSpace)
		head = t[:len(t)-len(rest)]
		space = t[c:len(head)]
	}
	lines := strings.Count(space, "\n")
	switch {
	case lines >= 2:
		return cutParagraph
	case !SentenceEnd(head):
		return cutWord
	case lines == 1:
		return cutParagraph
	}
	return cutSentence
}

// fit returns how many bytes nearest the cursor to keep so that their text
// has at most limit tokens by count, and their token count. It finds the
// most that fits between grapheme clusters, doubling from a guess and then
// bisecting, then prefers a better kind of cut (see prefer).
func (s side) fit(limit int, count func(string) int) (n, tokens int) {
	if limit <= 0 || s.text == "" {
		return 0, 0
	}
	lo, hi := 0, -1 // lo fits; hi, once found, does not
	for try := s.floor(min(len(s.text), 4*limit)); ; try = s.floor(min(len(s.text), 2*lo)) {
		if try <= lo {
			try = s.ceil(lo + 1)
		}
		if tk := count(s.keep(try)); tk > limit {
			hi = try
			break
		} else {
			lo, tokens = try, tk
		}
		if lo == len(s.text) {
			return lo, tokens
		}
	}
	for {
		mid := s.floor((lo + hi) / 2)
		if mid <= lo {
			mid = s.ceil(lo + 1)
		}
		if mid >= hi {
			break
		}
		if tk := count(s.keep(mid)); tk > limit {
			hi = mid
		} else {
			lo, tokens = mid, tk
		}
	}
	return s.prefer(lo, tokens, limit, count)
}

// prefer moves the cut keeping n bytes (tokens tokens, within limit) to the
// nearest paragraph boundary that keeps three quarters of them, else such a
// sentence boundary, else the nearest word boundary that keeps half: a
// partial word at the far end only misleads the model.
func (s side) prefer(n, tokens, limit int, count func(string) int) (int, int) {
	if n == 0 || n == len(s.text) {
		return n, tokens
	}
	var best [cutParagraph + 1]int // the most kept by a cut of each kind; 0: none
	for m := n; m >= n-n/2 && m > 0 && best[cutParagraph] == 0; m-- {
		if !tokenizer.GraphemeBoundary(s.text, s.at(m)) {
			continue
		}
		for k := s.kind(m); k > cutGrapheme && best[k] == 0; k-- {
			if k == cutWord || m >= n-n/4 {
				best[k] = m
			}
		}
	}
	for k := cutParagraph; k > cutGrapheme; k-- {
		m := best[k]
		if m == n {
			return n, tokens
		}
		if m == 0 {
			continue
		}
		// Fewer whole words than fitted: fewer tokens, unless a word the
		// cut made whole segments worse than its part did.
		if tk := count(s.keep(m)); tk <= limit {
			return m, tk
		}
	}
	return n, tokens
}
