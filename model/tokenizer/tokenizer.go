package tokenizer

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// metaspace is U+2581, which SentencePiece pieces use for a space.
const metaspace = "\u2581"

// Tokenizer turns text into T5 token ids and back. It is immutable once
// loaded and safe for concurrent use.
type Tokenizer struct {
	pieces []string  // by id
	scores []float64 // by id
	ids    map[string]int32
	trie   *byteTrie // pieces
	// unkScore is the score of a character no piece covers: the lowest
	// piece score less 10, as in SentencePiece and Hugging Face.
	unkScore       float64
	unk, eos, pad  int
	norm           *charsmap // nil when the model has no normaliser
	added          []addedToken
	addedTrie      *byteTrie // added token contents -> index in added
	addedFirstByte [256]bool
	special        []bool // by id: dropped by Decode
	scratch        sync.Pool
}

// addedToken is a token matched in the raw text before normalisation, as
// Hugging Face's AddedVocabulary does for special tokens such as </s> and
// <extra_id_0>.
type addedToken struct {
	content string
	id      int
	special bool
}

// spec is what a loader reads from a model file; build turns it into a
// Tokenizer.
type spec struct {
	pieces   []string
	scores   []float64
	unk      int
	charsmap []byte // nil: no normaliser
	added    []addedToken
}

// build checks s and indexes it. Errors name the field at fault; the
// loaders wrap them with the file's name.
func build(s spec) (*Tokenizer, error) {
	n := len(s.pieces)
	if n == 0 {
		return nil, errors.New("vocabulary is empty")
	}
	if len(s.scores) != n {
		return nil, fmt.Errorf("%d scores for %d pieces", len(s.scores), n)
	}
	if n > math.MaxInt32 {
		return nil, fmt.Errorf("vocabulary of %d pieces is too large", n)
	}
	if s.unk < 0 || s.unk >= n {
		return nil, fmt.Errorf("unk id %d is outside the vocabulary of %d pieces", s.unk, n)
	}
	t := &Tokenizer{
		pieces:  s.pieces,
		scores:  s.scores,
		ids:     make(map[string]int32, n),
		unk:     s.unk,
		special: make([]bool, n),
	}
	minScore := math.Inf(1)
	ids := make([]int32, n)
	for i, p := range s.pieces {
		if p == "" {
			return nil, fmt.Errorf("piece %d is empty", i)
		}
		sc := s.scores[i]
		if math.IsNaN(sc) || math.IsInf(sc, 0) {
			return nil, fmt.Errorf("piece %d (%q) has score %v", i, p, sc)
		}
		minScore = min(minScore, sc)
		t.ids[p] = int32(i)
		ids[i] = int32(i)
	}
	t.unkScore = minScore - 10
	t.trie = newByteTrie(s.pieces, ids)

	var contents []string
	var index []int32
	for _, a := range s.added {
		if a.content == "" {
			return nil, fmt.Errorf("added token with id %d has no content", a.id)
		}
		if a.id < 0 || a.id >= n {
			return nil, fmt.Errorf("added token %q has id %d, outside the vocabulary of %d pieces", a.content, a.id, n)
		}
		if s.pieces[a.id] != a.content {
			return nil, fmt.Errorf("added token %q has id %d, but the vocabulary has %q there", a.content, a.id, s.pieces[a.id])
		}
		if a.special {
			t.special[a.id] = true
		}
		contents = append(contents, a.content)
		index = append(index, int32(len(t.added)))
		t.added = append(t.added, a)
		t.addedFirstByte[a.content[0]] = true
	}
	t.addedTrie = newByteTrie(contents, index)

	var ok bool
	if t.eos, ok = t.PieceToID("</s>"); !ok {
		return nil, errors.New("vocabulary has no </s> piece to end a sequence with")
	}
	if t.pad, ok = t.PieceToID("<pad>"); !ok {
		t.pad = -1
	}
	if s.charsmap != nil {
		var err error
		if t.norm, err = parseCharsmap(s.charsmap); err != nil {
			return nil, err
		}
	}
	t.scratch.New = func() any { return new(scratch) }
	return t, nil
}

// scratch holds the buffers one Encode call needs; they are pooled so that
// encoding on every keystroke allocates little more than its result.
type scratch struct {
	norm []byte
	word []byte
	best []bestPath
}

// bestPath is the best segmentation found of a prefix of a word: its total
// score and the last piece, which starts at start.
type bestPath struct {
	score float64
	start int32 // -1: not reached yet
	id    int32
}

// Encode returns the ids of text followed by </s>, exactly as Hugging Face
// transformers' T5Tokenizer (5.x) encodes it: special tokens written in the
// text (</s>, <pad>, <unk>, <extra_id_N>) become their ids, the rest is
// normalised with the model's precompiled charsmap, split at whitespace,
// each word prefixed with U+2581, and segmented by the Unigram model's
// best-scoring path, runs of unknown characters becoming one <unk>.
//
// Hugging Face only accepts valid UTF-8; here each invalid byte reads as
// U+FFFD, which T5's charsmap turns into a space, so that invalid bytes
// separate words and never reach the model.
func (t *Tokenizer) Encode(text string) []int {
	if !utf8.ValidString(text) {
		text = validUTF8(text)
	}
	sc := t.scratch.Get().(*scratch)
	defer t.scratch.Put(sc)
	ids := make([]int, 0, len(text)/4+2)
	start := 0 // text[start:] has not been encoded yet
	for i := 0; i < len(text); i++ {
		if !t.addedFirstByte[text[i]] {
			continue
		}
		a, end, ok := t.matchAdded(text, i)
		if !ok {
			continue
		}
		ids = t.encodeSegment(ids, text[start:i], sc)
		ids = append(ids, a.id)
		start = end
		i = end - 1
	}
	ids = t.encodeSegment(ids, text[start:], sc)
	return append(ids, t.eos)
}

// matchAdded returns the longest added token at text[i:], which is how
// Hugging Face's leftmost-longest Aho-Corasick search resolves overlaps.
func (t *Tokenizer) matchAdded(text string, i int) (addedToken, int, bool) {
	best := int32(-1)
	end := 0
	t.addedTrie.prefixes(text[i:], func(idx int32, n int) {
		best, end = idx, i+n
	})
	if best < 0 {
		return addedToken{}, 0, false
	}
	return t.added[best], end, true
}

// encodeSegment appends the ids of seg, a stretch of text between special
// tokens.
func (t *Tokenizer) encodeSegment(ids []int, seg string, sc *scratch) []int {
	if seg == "" {
		return ids
	}
	text := seg
	if t.norm != nil {
		sc.norm = t.norm.normalize(sc.norm[:0], seg)
		text = string(sc.norm)
	}
	// Pre-tokenise as Hugging Face's WhitespaceSplit then Metaspace do:
	// words are the maximal runs of non-space characters (Rust's
	// char::is_whitespace is Unicode White_Space, as is unicode.IsSpace);
	// each gets a U+2581 in front unless it starts with one; the parts to
	// segment start at every U+2581. Joining the prefixed words first and
	// cutting once gives the same parts with a single allocation.
	buf := sc.word[:0]
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		if unicode.IsSpace(r) {
			i += n
			continue
		}
		j := i + n
		for j < len(text) {
			r, n := utf8.DecodeRuneInString(text[j:])
			if unicode.IsSpace(r) {
				break
			}
			j += n
		}
		if !strings.HasPrefix(text[i:j], metaspace) {
			buf = append(buf, metaspace...)
		}
		buf = append(buf, text[i:j]...)
		i = j
	}
	sc.word = buf
	words := string(buf)
	for len(words) > 0 {
		next := strings.Index(words[len(metaspace):], metaspace)
		if next < 0 {
			return t.viterbi(ids, words, sc)
		}
		next += len(metaspace)
		ids = t.viterbi(ids, words[:next], sc)
		words = words[next:]
	}
	return ids
}

// validUTF8 replaces each byte of s that is not part of valid UTF-8 with
// U+FFFD, as ranging over a string reads it.
func validUTF8(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

// viterbi appends the ids of the best segmentation of s into pieces. It
// follows Hugging Face's Unigram::encode_optimized step for step, scores
// summed in float64, so that ties break the same way: the first path to
// reach a position with the best score keeps it.
func (t *Tokenizer) viterbi(ids []int, s string, sc *scratch) []int {
	n := len(s)
	if cap(sc.best) < n+1 {
		sc.best = make([]bestPath, n+1)
	}
	best := sc.best[:n+1]
	for i := range best {
		best[i] = bestPath{start: -1}
	}
	best[0].score = 0
	nodes := t.trie.nodes
	for start := 0; start < n; {
		base := best[start].score
		_, width := utf8.DecodeRuneInString(s[start:])
		single := false
		node := int32(0)
		for k := start; k < n; k++ {
			if node = t.trie.child(node, s[k]); node == 0 {
				break
			}
			id := nodes[node].id
			if id < 0 {
				continue
			}
			cand := t.scores[id] + base
			if b := &best[k+1]; b.start < 0 || cand > b.score {
				*b = bestPath{score: cand, start: int32(start), id: id}
			}
			if k+1-start == width {
				single = true
			}
		}
		if !single {
			cand := t.unkScore + base
			if b := &best[start+width]; b.start < 0 || cand > b.score {
				*b = bestPath{score: cand, start: int32(start), id: int32(t.unk)}
			}
		}
		start += width
	}
	// Walk back from the end; consecutive unknowns fuse into one token.
	mark := len(ids)
	unkEnd := -1 // end of the run of unknowns being fused, if any
	for end := n; end > 0; {
		b := best[end]
		if int(b.id) == t.unk {
			if unkEnd < 0 {
				unkEnd = end
			}
		} else {
			if unkEnd >= 0 {
				ids = append(ids, t.fusedID(s[end:unkEnd]))
				unkEnd = -1
			}
			ids = append(ids, int(b.id))
		}
		end = int(b.start)
	}
	if unkEnd >= 0 {
		ids = append(ids, t.fusedID(s[:unkEnd]))
	}
	for i, j := mark, len(ids)-1; i < j; i, j = i+1, j-1 {
		ids[i], ids[j] = ids[j], ids[i]
	}
	return ids
}

// fusedID is the id of a run of unknowns: Hugging Face looks the fused
// string up in the vocabulary, which finds it only when the run is the
// <unk> piece itself (written as ＜unk＞, say).
func (t *Tokenizer) fusedID(s string) int {
	if id, ok := t.ids[s]; ok {
		return int(id)
	}
	return t.unk
}

// Decode returns the text of ids as Hugging Face's decode(ids,
// skip_special_tokens=True) does: special tokens (<pad>, </s>, <unk> and
// the <extra_id_N> sentinels) and ids outside the vocabulary are dropped,
// U+2581 becomes a space, and the first remaining piece loses its U+2581
// (the prefix Encode added). Decode(Encode(s)) is s for text that is
// already normalised: no repeated, leading or trailing whitespace and only
// characters the vocabulary has.
func (t *Tokenizer) Decode(ids []int) string {
	var b strings.Builder
	first := true
	for _, id := range ids {
		if id < 0 || id >= len(t.pieces) || t.special[id] {
			continue
		}
		p := t.pieces[id]
		for {
			i := strings.Index(p, metaspace)
			if i < 0 {
				break
			}
			b.WriteString(p[:i])
			// Hugging Face's Metaspace decoder drops every U+2581 of the
			// first token, not only a leading one.
			if !first {
				b.WriteByte(' ')
			}
			p = p[i+len(metaspace):]
		}
		b.WriteString(p)
		first = false
	}
	return b.String()
}

// VocabSize is the number of ids, 32100 for T5: 32000 pieces and 100
// sentinels. Every id Encode returns is below it.
func (t *Tokenizer) VocabSize() int { return len(t.pieces) }

// PieceToID returns the id of a vocabulary piece such as "▁Hello" or
// "<extra_id_0>".
func (t *Tokenizer) PieceToID(piece string) (int, bool) {
	id, ok := t.ids[piece]
	return int(id), ok
}

// IDToPiece returns the piece of id, or "" when id is outside the
// vocabulary.
func (t *Tokenizer) IDToPiece(id int) string {
	if id < 0 || id >= len(t.pieces) {
		return ""
	}
	return t.pieces[id]
}

// EOS is the id of </s>, which Encode appends and generation stops at.
func (t *Tokenizer) EOS() int { return t.eos }

// Pad is the id of <pad>, which also starts T5's decoder; -1 if the
// vocabulary has none.
func (t *Tokenizer) Pad() int { return t.pad }

// Unk is the id of <unk>, which stands for characters no piece covers.
func (t *Tokenizer) Unk() int { return t.unk }

// Sentinel returns the id of <extra_id_n>, the n-th span-corruption
// sentinel (32099-n for T5), or -1 if the vocabulary has no such piece.
func (t *Tokenizer) Sentinel(n int) int {
	if id, ok := t.ids["<extra_id_"+strconv.Itoa(n)+">"]; ok && n >= 0 {
		return int(id)
	}
	return -1
}
