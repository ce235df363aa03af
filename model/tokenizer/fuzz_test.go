package tokenizer

import (
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzSeeds are the golden texts plus inputs aimed at the edges: invalid
// UTF-8, partial special tokens, clusters the charsmap rewrites whole.
func fuzzSeeds(f *testing.F) []string {
	var seeds []string
	for _, c := range readJSONL[goldenCase](f, filepath.Join(shared, "golden.jsonl")) {
		seeds = append(seeds, c.Text)
	}
	return append(seeds, "\xff", "a\xc3", "<extra_id_", "<extra_id_1><extra_id_10>", "＜pad＞",
		"A\u0302\u0300", "\r\n\u0301", "\u0600 ", "😀\u200d‼\u0301", "a▁▁b", "\x00")
}

func FuzzEncode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	toks := tokenizers(f)
	f.Fuzz(func(t *testing.T, s string) {
		for _, name := range []string{"tokenizer.json", "spiece.model"} {
			tok := toks[name]
			ids := tok.Encode(s)
			if len(ids) == 0 || ids[len(ids)-1] != tok.EOS() {
				t.Fatalf("%s: Encode(%q) = %v does not end with </s>", name, s, ids)
			}
			for _, id := range ids {
				if id < 0 || id >= tok.VocabSize() {
					t.Fatalf("%s: Encode(%q) = %v has id %d outside [0, %d)", name, s, ids, id, tok.VocabSize())
				}
			}
			tok.Decode(ids)
		}
	})
}

// roundTripAlphabet holds characters T5's vocabulary has as pieces of
// their own, so text made of them never meets <unk>.
const roundTripAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'-:;()\"/"

// normalisedText maps any input to text that is already normalised: a
// character of roundTripAlphabet per byte (some bytes becoming spaces),
// single spaces, none at either end.
func normalisedText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 40 {
			b.WriteByte(' ')
		} else {
			b.WriteByte(roundTripAlphabet[int(c)%len(roundTripAlphabet)])
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func FuzzRoundTrip(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	tok := tokenizers(f)["tokenizer.json"]
	for _, c := range roundTripAlphabet {
		if _, ok := tok.PieceToID(string(c)); !ok {
			f.Fatalf("%q is not a piece; take it out of roundTripAlphabet", c)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		text := normalisedText(s)
		ids := tok.Encode(text)
		if got := tok.Decode(ids); got != text {
			t.Fatalf("Decode(Encode(%q)) = %q (ids %v)", text, got, ids)
		}
	})
}

// FuzzSentencePieceModel feeds arbitrary bytes to the spiece.model loader:
// it must return an error or a tokenizer that encodes, never panic.
func FuzzSentencePieceModel(f *testing.F) {
	for _, seed := range []string{
		"",
		"\x0a\x05\x0a\x01a\x18\x09",
		// pieces </s> (control) and <unk> (unknown), unk_id 1
		"\x0a\x08\x0a\x04</s>\x18\x03\x0a\x0e\x0a\x05<unk>\x15\x00\x00\x80\xbf\x18\x02\x12\x03\xc0\x02\x01",
		// the same with a normalizer_spec whose charsmap is a one-unit trie
		"\x0a\x08\x0a\x04</s>\x18\x03\x0a\x0e\x0a\x05<unk>\x15\x00\x00\x80\xbf\x18\x02\x12\x03\xc0\x02\x01\x1a\x0a\x12\x08\x04\x00\x00\x00\x00\x00\x00\x00",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseSentencePiece(b)
		if err != nil {
			return
		}
		tok, err := build(s)
		if err != nil {
			return
		}
		tok.Decode(tok.Encode("Hello <extra_id_0> wörld </s>"))
	})
}

// FuzzCharsmap normalises text with arbitrary charsmaps: every unit the
// trie walk touches is bounds-checked.
func FuzzCharsmap(f *testing.F) {
	real := tokenizers(f)["spiece.model"].norm
	// The real trie cut to its first units, with a short blob.
	small := make([]byte, 4+4*256)
	binary.LittleEndian.PutUint32(small, 4*256)
	for i := 0; i < 256; i++ {
		binary.LittleEndian.PutUint32(small[4+4*i:], real.units[i])
	}
	small = append(small, "abc\x00 \x00"...)
	f.Add(small, "Ｈｅｌｌｏ e\u0301 \t")
	f.Add([]byte{4, 0, 0, 0, 0, 0, 0, 0}, "x")
	f.Fuzz(func(t *testing.T, b []byte, text string) {
		m, err := parseCharsmap(b)
		if err != nil {
			return
		}
		m.normalize(nil, strings.ToValidUTF8(text, "\uFFFD"))
	})
}
