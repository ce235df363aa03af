package completion

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nib-editor/nib/model/tokenizer"
)

// metaspace is U+2581, SentencePiece's space at the start of a piece.
const metaspace = "\u2581"

// OutputText returns the text of generated ids that will follow before in
// the document: tok.Decode(ids) (special tokens such as sentinels dropped,
// U+2581 read as a space), except that the U+2581 starting the first piece,
// which Decode drops, is kept as a space when before is not empty and does
// not end in whitespace: the model meant a new word there. A completion
// after "Hello" that the model writes as "▁world" is " world".
func OutputText(tok *tokenizer.Tokenizer, ids []int, before string) string {
	text := tok.Decode(ids)
	r, _ := utf8.DecodeLastRuneInString(before)
	if before == "" || unicode.IsSpace(r) {
		return text
	}
	for _, id := range ids {
		piece := tok.IDToPiece(id)
		if strings.HasPrefix(piece, metaspace) {
			return " " + text
		}
		if tok.Decode([]int{id}) != "" {
			break // the first piece Decode keeps starts a word of its own
		}
	}
	return text
}

// Detokenizer turns the ids of one alternative, given in full as they grow
// (as Request.OnToken passes them), into the text to add each time.
//
// A T5 piece decodes the same whatever follows it and Decode drops only
// the first piece's leading U+2581, which OutputText settles from the
// first piece on, so the text of a longer sequence always extends the text
// of its prefix: Next never takes back what it returned. The one exception
// is a sequence that does not extend the previous one (beam search's best
// beam changing): then Next says so and returns the whole text afresh.
type Detokenizer struct {
	tok    *tokenizer.Tokenizer
	before string
	text   string
}

// NewDetokenizer returns a Detokenizer for output that follows before in
// the document (see OutputText; "" for text that stands alone, such as a
// rewrite).
func NewDetokenizer(tok *tokenizer.Tokenizer, before string) *Detokenizer {
	// Only before's last character matters; keep no more of a document.
	_, size := utf8.DecodeLastRuneInString(before)
	return &Detokenizer{tok: tok, before: before[len(before)-size:]}
}

// Next returns the text ids add to what it returned before. When the text
// of ids does not extend that text, reset is true and delta is the whole
// text, to replace everything returned before.
func (d *Detokenizer) Next(ids []int) (delta string, reset bool) {
	text := OutputText(d.tok, ids, d.before)
	old := d.text
	d.text = text
	if strings.HasPrefix(text, old) {
		return text[len(old):], false
	}
	return text, true
}

// Text returns the whole text of the ids of the last call to Next.
func (d *Detokenizer) Text() string { return d.text }

// SentenceStop returns a Params.Stop predicate that ends an alternative as
// soon as its decoded text ends a sentence (SentenceEnd), the token that
// ended it kept.
func SentenceStop(tok *tokenizer.Tokenizer) func(ids []int) bool {
	return func(ids []int) bool { return SentenceEnd(tok.Decode(ids)) }
}
