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
