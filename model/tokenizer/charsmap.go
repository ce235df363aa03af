package tokenizer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// charsmap is SentencePiece's precompiled normalisation map (nmt_nfkc for
// T5): a darts-clone double-array trie whose keys are UTF-8 strings and
// whose values are offsets into a blob of NUL-terminated replacements.
//
// The serialised form is a little-endian uint32 giving the trie's size in
// bytes, the trie's 32-bit units, then the blob.
type charsmap struct {
	units []uint32
	blob  string
	// ascii caches the lookups of the single ASCII bytes, which are most of
	// what an editor sends: asciiRepl[b] is valid when asciiHit[b].
	asciiHit  [utf8.RuneSelf]bool
	asciiRepl [utf8.RuneSelf]string
}

// parseCharsmap decodes a precompiled charsmap. It checks the framing only;
// lookups bounds-check every unit they touch, so a corrupt trie yields
// wrong replacements, never a panic.
func parseCharsmap(b []byte) (*charsmap, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("precompiled charsmap of %d bytes is too short for its header", len(b))
	}
	size := binary.LittleEndian.Uint32(b)
	if size%4 != 0 || size == 0 || uint64(size) > uint64(len(b)-4) {
		return nil, fmt.Errorf("precompiled charsmap: trie size %d does not fit the %d bytes that follow the header", size, len(b)-4)
	}
	m := &charsmap{units: make([]uint32, size/4)}
	for i := range m.units {
		m.units[i] = binary.LittleEndian.Uint32(b[4+4*i:])
	}
	blob := b[4+size:]
	if !utf8.Valid(blob) {
		// Hugging Face refuses such a map too (spm_precompiled keeps the
		// blob as a Rust String).
		return nil, errors.New("precompiled charsmap: replacement strings are not valid UTF-8")
	}
	m.blob = string(blob)
	for c := 0; c < utf8.RuneSelf; c++ {
		m.asciiRepl[c], m.asciiHit[c] = m.lookup(string(rune(c)))
	}
	return m, nil
}

// lookup finds the shortest key that is a prefix of s and returns its
// replacement. Hugging Face's Precompiled normaliser takes the first
// result of darts' commonPrefixSearch, which is the shortest match, where
// SentencePiece itself takes the longest; the target here is Hugging Face.
// As in darts, a NUL byte ends the search.
func (m *charsmap) lookup(s string) (repl string, ok bool) {
	u := m.units
	if len(u) == 0 {
		return "", false
	}
	pos := offset(u[0])
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0 {
			return "", false
		}
		pos ^= uint32(c)
		if pos >= uint32(len(u)) {
			return "", false
		}
		unit := u[pos]
		// The unit's label is the byte that leads to it; bit 31, set
		// only on value units, keeps those from ever matching.
		if unit&(1<<31|0xff) != uint32(c) {
			return "", false
		}
		pos ^= offset(unit)
		if unit>>8&1 == 1 { // has a leaf: a key ends here
			if pos >= uint32(len(u)) {
				return "", false
			}
			v := u[pos] & (1<<31 - 1)
			return m.replacement(v)
		}
	}
	return "", false
}

// replacement returns the NUL-terminated string at offset v of the blob.
func (m *charsmap) replacement(v uint32) (string, bool) {
	if uint64(v) > uint64(len(m.blob)) {
		return "", false
	}
	r := m.blob[v:]
	for i := 0; i < len(r); i++ {
		if r[i] == 0 {
			return r[:i], true
		}
	}
	return r, true
}

// offset decodes the child offset of a darts-clone unit.
func offset(unit uint32) uint32 {
	return unit >> 10 << (unit & (1 << 9) >> 6)
}

// normalize appends the normalised form of s to dst, as Hugging Face's
// Precompiled normaliser does: s is cut into extended grapheme clusters; a
// cluster shorter than 6 bytes with a key as prefix is replaced whole by
// that key's replacement (dropping the rest of the cluster, a quirk kept
// for exactness); otherwise each character is replaced if it is a key. s
// must be valid UTF-8.
func (m *charsmap) normalize(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		end := graphemeEnd(s, i)
		if end == i+1 && s[i] < utf8.RuneSelf {
			if m.asciiHit[s[i]] {
				dst = append(dst, m.asciiRepl[s[i]]...)
			} else {
				dst = append(dst, s[i])
			}
			i = end
			continue
		}
		g := s[i:end]
		if len(g) < 6 {
			if repl, ok := m.lookup(g); ok {
				dst = append(dst, repl...)
				i = end
				continue
			}
		}
		for len(g) > 0 {
			_, n := utf8.DecodeRuneInString(g)
			if repl, ok := m.lookup(g[:n]); ok {
				dst = append(dst, repl...)
			} else {
				dst = append(dst, g[:n]...)
			}
			g = g[n:]
		}
		i = end
	}
	return dst
}
