package completion

import (
	"strings"
	"unicode"
)

// Change replaces the bytes [Start, End) of a text by Text.
type Change struct {
	Start, End int
	Text       string
}

// span is a word's byte range.
type span struct{ start, end int }

// words returns the spans of text's words: runs of characters between
// white space, punctuation kept with its word.
func words(text string) []span {
	var out []span
	start := -1
	for i, r := range text {
		switch {
		case unicode.IsSpace(r) && start >= 0:
			out = append(out, span{start, i})
			start = -1
		case !unicode.IsSpace(r) && start < 0:
			start = i
		}
	}
	if start >= 0 {
		out = append(out, span{start, len(text)})
	}
	return out
}

// WordChanges returns the fewest whole-word changes that turn a into b, in
// order: words common to both (a longest common subsequence) stay, and
// each run of differing words becomes one change covering just those
// words, so that a diagnostic's range is the words that change. A change
// that only removes words also removes the space before or after them.
func WordChanges(a, b string) []Change {
	wa, wb := words(a), words(b)
	word := func(text string, s span) string { return text[s.start:s.end] }
	// lcs[i][j] is the longest common subsequence of wa[i:] and wb[j:].
	lcs := make([][]int, len(wa)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(wb)+1)
	}
	for i := len(wa) - 1; i >= 0; i-- {
		for j := len(wb) - 1; j >= 0; j-- {
			if word(a, wa[i]) == word(b, wb[j]) {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []Change
	i, j := 0, 0
	for i < len(wa) || j < len(wb) {
		if i < len(wa) && j < len(wb) && word(a, wa[i]) == word(b, wb[j]) {
			i, j = i+1, j+1
			continue
		}
		i0, j0 := i, j
		for i < len(wa) || j < len(wb) {
			// Equal words always belong to a longest common subsequence.
			if i < len(wa) && j < len(wb) && word(a, wa[i]) == word(b, wb[j]) {
				break
			}
			if j < len(wb) && (i == len(wa) || lcs[i][j+1] >= lcs[i+1][j]) {
				j++
			} else {
				i++
			}
		}
		out = append(out, wordChange(a, b, wa, wb, i0, i, j0, j))
	}
	return out
}

// wordChange is the change replacing words wa[i0:i1] of a by wb[j0:j1] of b.
func wordChange(a, b string, wa, wb []span, i0, i1, j0, j1 int) Change {
	text := ""
	if j0 < j1 {
		text = b[wb[j0].start:wb[j1-1].end]
	}
	switch {
	case i0 < i1 && j0 < j1: // replaced
		return Change{Start: wa[i0].start, End: wa[i1-1].end, Text: text}
	case i0 < i1: // removed, with the space after (or, at the end, before)
		if i1 < len(wa) {
			return Change{Start: wa[i0].start, End: wa[i1].start}
		}
		if i0 > 0 {
			return Change{Start: wa[i0-1].end, End: wa[i1-1].end}
		}
		return Change{Start: wa[i0].start, End: wa[i1-1].end}
	case i0 < len(wa): // inserted before word i0
		return Change{Start: wa[i0].start, End: wa[i0].start, Text: text + " "}
	case len(wa) > 0: // inserted at the end
		end := wa[len(wa)-1].end
		return Change{Start: end, End: end, Text: " " + text}
	}
	return Change{Text: text}
}

// changeSize is the words and bytes that changes change in a, counting
// the larger side of each.
func changeSize(a string, changes []Change) (nwords, nbytes int) {
	for _, c := range changes {
		nwords += max(len(words(a[c.Start:c.End])), len(words(c.Text)))
		nbytes += max(c.End-c.Start, len(c.Text))
	}
	return nwords, nbytes
}

// ApplyChanges applies changes, in order and not overlapping, to text.
func ApplyChanges(text string, changes []Change) string {
	var b strings.Builder
	last := 0
	for _, c := range changes {
		b.WriteString(text[last:c.Start])
		b.WriteString(c.Text)
		last = c.End
	}
	b.WriteString(text[last:])
	return b.String()
}
