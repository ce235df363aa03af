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
	p := commonPrefix(old, new)
	for p > 0 && !(cuttable(old, p) && boundary(new, p)) {
		p--
	}
	s := commonSuffix(old[p:], new[p:])
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

// block is the length of the chunks in which commonPrefix and
// commonSuffix compare, with the runtime's vectorised string equality,
// before they go byte by byte.
const block = 64

// commonPrefix returns the length of the longest common prefix of a and b.
func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	for i+block <= n && a[i:i+block] == b[i:i+block] {
		i += block
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// commonSuffix returns the length of the longest common suffix of a and b.
func commonSuffix(a, b string) int {
	n := min(len(a), len(b))
	s := 0
	for s+block <= n && a[len(a)-s-block:len(a)-s] == b[len(b)-s-block:len(b)-s] {
		s += block
	}
	for s < n && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	return s
}
