package tokenizer

import (
	"path/filepath"
	"strings"
	"testing"
)

// paragraph is about 2000 characters of ordinary prose, the size of text an
// editor re-encodes on a keystroke.
var paragraph = strings.Repeat("The quick brown fox jumps over the lazy dog, and "+
	"naïve résumés don't fix grammar: she go to school yesterday (2026-11-24). ", 16)[:2000]

func BenchmarkEncode(b *testing.B) {
	for _, name := range loaderNames {
		tok := tokenizers(b)[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(paragraph)))
			b.ReportAllocs()
			for b.Loop() {
				tok.Encode(paragraph)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	tok := tokenizers(b)["tokenizer.json"]
	ids := tok.Encode(paragraph)
	b.ReportAllocs()
	for b.Loop() {
		tok.Decode(ids)
	}
}

func BenchmarkLoad(b *testing.B) {
	for _, name := range loaderNames {
		path := filepath.Join(shared, name)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				var err error
				if strings.HasSuffix(name, ".model") {
					_, err = FromSentencePiece(path)
				} else {
					_, err = FromJSON(path)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
