package tokenizer

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzTokenizerJSON feeds arbitrary bytes to the tokenizer.json loader: it
// must return an error or a tokenizer whose ids stay inside its
// vocabulary, never panic.
func FuzzTokenizerJSON(f *testing.F) {
	small, _ := json.Marshal(map[string]any{
		"added_tokens": []any{
			map[string]any{"id": 0, "content": "<pad>", "special": true},
			map[string]any{"id": 1, "content": "</s>", "special": true},
			map[string]any{"id": 5, "content": "<extra_id_0>", "special": true},
		},
		"normalizer": map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "Precompiled", "precompiled_charsmap": ""},
			map[string]any{"type": "Replace"},
		}},
		"model": map[string]any{"type": "Unigram", "unk_id": 2, "vocab": []any{
			[]any{"<pad>", 0}, []any{"</s>", 0}, []any{"<unk>", 0}, []any{"▁", -1.5}, []any{"a", -2}, []any{"<extra_id_0>", 0},
		}},
	})
	f.Add(small)
	for _, seed := range []string{
		`{}`, `null`, `{"model":{"type":"BPE"}}`, `{"model":{"type":"Unigram"}}`,
		`{"model":{"type":"Unigram","unk_id":0,"vocab":[]}}`,
		`{"model":{"type":"Unigram","unk_id":7,"vocab":[["a",0]]}}`,
		`{"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0],["a","x"]]}}`,
		`{"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0]]},"added_tokens":[{"content":"x"}]}`,
		`{"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0]]},"added_tokens":[{"id":-4,"content":"x"}]}`,
		`{"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0]]},"added_tokens":[{"id":0,"content":""}]}`,
		`{"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0]]},"normalizer":{"type":"Precompiled","precompiled_charsmap":"!!"}}`,
		`{"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0]]},"normalizer":{"type":"Precompiled","precompiled_charsmap":"BAAAAAAAAAA="}}`,
		`{"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0],["",0],["\u2581\u2581",1e308]]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseHFJSON(b)
		if err != nil {
			return
		}
		tok, err := build(s)
		if err != nil {
			return
		}
		for _, text := range []string{"", "Hello <extra_id_0> wörld </s>", "a a\u00a0a\xff", strings.Repeat("▁a", 20)} {
			ids := tok.Encode(text)
			for _, id := range ids {
				if id < 0 || id >= tok.VocabSize() {
					t.Fatalf("Encode(%q) = %v: id %d outside [0, %d)", text, ids, id, tok.VocabSize())
				}
			}
			tok.Decode(ids)
		}
	})
}
