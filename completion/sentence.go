package completion

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// SentenceEnd reports whether text ends at the end of a sentence: its last
// characters, trailing whitespace and closing quotes or brackets aside, are
// sentence-ending punctuation (. ! ? … and the CJK 。！？). It is meant to
// be asked after each generated token, to stop an inline completion once a
// sentence is complete, so it only looks at the end of text.
//
// A single "." does not end a sentence after a common abbreviation ("e.g.",
// "Dr.", "vs."), an initial ("J."), or a word with inner dots ("U.S."). A
// "." right after a digit at the very end ("costs 3.") does not either,
// since the number may go on ("3.5"); once a space or closing quote follows
// it does. A "." ending "..." does, as an ellipsis.
func SentenceEnd(text string) bool {
	s := strings.TrimRightFunc(text, unicode.IsSpace)
	settled := len(s) < len(text) // something followed the punctuation
	t := strings.TrimRightFunc(s, isCloser)
	settled = settled || len(t) < len(s)
	r, size := utf8.DecodeLastRuneInString(t)
	if r != '.' {
		return isTerminator(r)
	}
	body := t[:len(t)-size]
	p, _ := utf8.DecodeLastRuneInString(body)
	switch {
	case p == '.':
		return true // an ellipsis
	case unicode.IsDigit(p):
		return settled
	}
	return !abbreviation(body)
}

// isTerminator reports whether r ends a sentence wherever it stands.
func isTerminator(r rune) bool {
	switch r {
	case '!', '?', '…', '。', '！', '？', '｡', '‼', '⁇', '⁈', '⁉':
		return true
	}
	return false
}

// isCloser reports whether r may close a quotation, a parenthesis or
// emphasis after the end of a sentence.
func isCloser(r rune) bool {
	return strings.ContainsRune(`"'”’»›)]}」』）】〕〉》*_`, r)
}

// abbreviations are the lower-case words that a "." after them does not
// end a sentence, beyond initials and dotted words such as "e.g".
var abbreviations = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "mx": true, "dr": true, "prof": true,
	"sr": true, "jr": true, "st": true, "mt": true, "rev": true, "hon": true,
	"gen": true, "col": true, "lt": true, "sgt": true, "capt": true,
	"vs": true, "cf": true, "al": true, "approx": true, "ca": true,
	"fig": true, "figs": true, "eq": true, "eqs": true, "sec": true,
	"ch": true, "vol": true, "pp": true,
}

// abbreviation reports whether text ends with an abbreviation that a
// following "." belongs to.
func abbreviation(text string) bool {
	i := len(text)
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(text[:i])
		if r != '.' && !unicode.IsLetter(r) {
			break
		}
		i -= size
	}
	word := text[i:]
	if word == "" {
		return false
	}
	if strings.Contains(word, ".") {
		return true // "e.g", "U.S"
	}
	if r, size := utf8.DecodeRuneInString(word); size == len(word) {
		return unicode.IsUpper(r) || unicode.IsLower(r) // an initial; not a CJK word
	}
	return abbreviations[strings.ToLower(word)]
}

// Span is a byte range [Start, End) of a text.
type Span struct{ Start, End int }

// Sentences splits text into its sentences, each without the white space
// around it: a sentence ends where SentenceEnd says one does before white
// space, and at every line break (a heading, a list item or a paragraph
// without a full stop is a sentence of its own).
func Sentences(text string) []Span {
	var out []Span
	start := -1
	end := func(i int) {
		if start >= 0 {
			out = append(out, Span{start, i})
			start = -1
		}
	}
	last := 0 // end of the last non-space character
	for i, r := range text {
		switch {
		case r == '\n' || r == '\r':
			end(last)
		case unicode.IsSpace(r):
			if start >= 0 && SentenceEnd(text[start:i]) {
				end(last)
			}
		default:
			if start < 0 {
				start = i
			}
			last = i + utf8.RuneLen(r)
		}
	}
	end(last)
	return out
}
