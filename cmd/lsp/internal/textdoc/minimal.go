package textdoc

// MinimalEdit returns the smallest replacement that turns old into new,
// leaving their longest common prefix and suffix alone: new equals
// old[:start] + text + old[end:]. start and end never cut through a UTF-8
// sequence of old or new (so a character beyond U+FFFF, a surrogate pair in
// UTF-16, is never split either) nor between the '\r' and '\n' of old, so
// that both convert to positions with Snapshot.PositionAt in every
// encoding. Within those rules the prefix is taken first, as long as it
// can be, then the suffix from what is left; equal texts give an empty
// replacement at len(old).
func MinimalEdit(old, new string) (start, end int, text string) {
	p := 0
	for p < len(old) && p < len(new) && old[p] == new[p] {
		p++
	}
	for p > 0 && !(cuttable(old, p) && boundary(new, p)) {
		p--
	}
	n := min(len(old), len(new)) - p
	s := 0
	for s < n && old[len(old)-1-s] == new[len(new)-1-s] {
		s++
	}
	for s > 0 && !(cuttable(old, len(old)-s) && boundary(new, len(new)-s)) {
		s--
	}
	return p, len(old) - s, new[p : len(new)-s]
}

// boundary reports whether offset off of text is not inside a UTF-8
// sequence.
func boundary(text string, off int) bool {
	_, _, inside := inSequence(text, 0, off)
	return !inside
}

// cuttable reports whether a position can address offset off of text: a
// UTF-8 boundary not between '\r' and '\n'.
func cuttable(text string, off int) bool {
	if off > 0 && off < len(text) && text[off-1] == '\r' && text[off] == '\n' {
		return false
	}
	return boundary(text, off)
}
