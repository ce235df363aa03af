package textdoc

import (
	"sort"
	"strings"
)

// Line starts: a document keeps the byte offset at which each line begins,
// in increasing order, with 0 first. A line starts at offset p > 0 exactly
// when text[p-1] is '\n', or is '\r' not followed by '\n'; that depends
// only on the two bytes around p, which is what lets an edit recompute the
// starts near it and shift the rest.

// lineStarts returns the line starts of text.
func lineStarts(text string) []int {
	starts := make([]int, 1, 1+strings.Count(text, "\n")+strings.Count(text, "\r"))
	starts = appendInteriorStarts(starts, text, 0)
	if n := len(text); n > 0 && (text[n-1] == '\n' || text[n-1] == '\r') {
		starts = append(starts, n)
	}
	return starts
}

// appendInteriorStarts appends base+p for each line start p of s with
// 0 < p < len(s): the starts that s alone determines.
func appendInteriorStarts(dst []int, s string, base int) []int {
	// Find '\n' and '\r' with IndexByte, which is vectorised, keeping the
	// next occurrence of each so that the scan stays linear.
	nextLF := strings.IndexByte(s, '\n')
	nextCR := strings.IndexByte(s, '\r')
	for nextLF >= 0 || nextCR >= 0 {
		var p int
		if nextCR >= 0 && (nextLF < 0 || nextCR < nextLF) {
			k := nextCR
			if nextCR = strings.IndexByte(s[k+1:], '\r'); nextCR >= 0 {
				nextCR += k + 1
			}
			if k+1 < len(s) && s[k+1] == '\n' {
				continue // "\r\n": the line starts after the '\n'
			}
			p = k + 1
		} else {
			k := nextLF
			if nextLF = strings.IndexByte(s[k+1:], '\n'); nextLF >= 0 {
				nextLF += k + 1
			}
			p = k + 1
		}
		if p < len(s) {
			dst = append(dst, base+p)
		}
	}
	return dst
}

// isLineStart reports whether a line starts at offset p of text.
func isLineStart(text string, p int) bool {
	if p == 0 {
		return true
	}
	switch text[p-1] {
	case '\n':
		return true
	case '\r':
		return p == len(text) || text[p] != '\n'
	}
	return false
}

// splice replaces text[a:b] by t and returns the new text and its line
// starts, computed from the old starts: those before a are kept, those
// after b shifted, and only the ones at a, inside t and at its end
// determined anew. starts is not modified. The cost is one copy of the
// text and of the starts, and a scan of t.
func splice(text string, starts []int, a, b int, t string) (string, []int) {
	n := text[:a] + t + text[b:]
	delta := len(t) - (b - a)
	i := sort.SearchInts(starts, a)   // starts[:i] < a
	j := sort.SearchInts(starts, b+1) // starts[j:] > b
	out := make([]int, 0, i+2+strings.Count(t, "\n")+strings.Count(t, "\r")+len(starts)-j)
	out = append(out, starts[:i]...)
	if isLineStart(n, a) {
		out = append(out, a)
	}
	if len(t) > 0 {
		out = appendInteriorStarts(out, t, a)
		if isLineStart(n, a+len(t)) {
			out = append(out, a+len(t))
		}
	}
	for _, s := range starts[j:] {
		out = append(out, s+delta)
	}
	return n, out
}
