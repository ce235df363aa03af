package tokenizer

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLoadFolders(t *testing.T) {
	write := func(t *testing.T, dir, name, src string) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(shared, src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		files map[string]string // name in the folder -> file in shared
		dir   string            // a folder to load instead
	}{
		{name: "fixture gated", dir: "../../../shared/fixtures/t5-tiny-gated"},
		{name: "fixture relu tied", dir: "../../../shared/fixtures/t5-tiny-relu-tied"},
		{name: "shared folder", dir: shared},
		{name: "legacy json only", files: map[string]string{"tokenizer.json": "legacy/tokenizer.json"}},
		{name: "spiece.model only", files: map[string]string{"spiece.model": "spiece.model"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir
			if dir == "" {
				dir = t.TempDir()
				for name, src := range tc.files {
					write(t, dir, name, src)
				}
			}
			tok, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := tok.Encode("Hello world"), []int{8774, 296, 1}; !slices.Equal(got, want) {
				t.Errorf("Encode(Hello world) = %v, want %v", got, want)
			}
		})
	}
}

// TestLoadPrefersJSON checks that a folder's tokenizer.json wins over its
// spiece.model, as in transformers: a broken spiece.model beside a good
// tokenizer.json is never read.
func TestLoadPrefersJSON(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(shared, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "tokenizer.json"), b, 0o644)
	os.WriteFile(filepath.Join(dir, "spiece.model"), []byte("garbage"), 0o644)
	if _, err := Load(dir); err != nil {
		t.Fatal(err)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    string // written into the folder, if any
		content string
		want    []string // substrings of the error
	}{
		{name: "empty folder", want: []string{"neither tokenizer.json nor spiece.model"}},
		{name: "json not json", file: "tokenizer.json", content: "{", want: []string{"tokenizer.json", "unexpected end"}},
		{name: "json BPE", file: "tokenizer.json", content: `{"model": {"type": "BPE"}}`, want: []string{"tokenizer.json", `model.type is "BPE"`}},
		{name: "json no unk", file: "tokenizer.json", content: `{"model": {"type": "Unigram", "vocab": [["a", 0]]}}`, want: []string{"model.unk_id is missing"}},
		{name: "json empty vocab", file: "tokenizer.json", content: `{"model": {"type": "Unigram", "unk_id": 0, "vocab": []}}`, want: []string{"vocabulary is empty"}},
		{name: "json unk out of range", file: "tokenizer.json", content: `{"model": {"type": "Unigram", "unk_id": 5, "vocab": [["</s>", 0]]}}`, want: []string{"unk id 5"}},
		{name: "json bad vocab entry", file: "tokenizer.json", content: `{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["a"]]}}`, want: []string{"not a [piece, score] pair"}},
		{name: "json score not a number", file: "tokenizer.json", content: `{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["a", "x"]]}}`, want: []string{"score"}},
		{name: "json empty piece", file: "tokenizer.json", content: `{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["</s>", 0], ["", 0]]}}`, want: []string{"piece 1 is empty"}},
		{name: "json no eos", file: "tokenizer.json", content: `{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0]]}}`, want: []string{"no </s>"}},
		{name: "json added id out of range", file: "tokenizer.json", content: `{"added_tokens": [{"id": 9, "content": "</s>", "special": true}], "model": {"type": "Unigram", "unk_id": 0, "vocab": [["</s>", 0]]}}`, want: []string{`added token "</s>" has id 9`}},
		{name: "json added content mismatch", file: "tokenizer.json", content: `{"added_tokens": [{"id": 0, "content": "<s>", "special": true}], "model": {"type": "Unigram", "unk_id": 0, "vocab": [["</s>", 0]]}}`, want: []string{`vocabulary has "</s>" there`}},
		{name: "json single_word", file: "tokenizer.json", content: `{"added_tokens": [{"id": 0, "content": "</s>", "single_word": true}], "model": {"type": "Unigram", "unk_id": 0, "vocab": [["</s>", 0]]}}`, want: []string{"added_tokens[0]", "single_word"}},
		{name: "json bad base64", file: "tokenizer.json", content: `{"normalizer": {"type": "Sequence", "normalizers": [{"type": "Precompiled", "precompiled_charsmap": "%%%"}]}, "model": {"type": "Unigram", "unk_id": 0, "vocab": [["</s>", 0]]}}`, want: []string{"normalizer: normalizers[0]: precompiled_charsmap"}},
		{name: "json precompiled without charsmap", file: "tokenizer.json", content: `{"normalizer": {"type": "Precompiled"}, "model": {"type": "Unigram", "unk_id": 0, "vocab": [["</s>", 0]]}}`, want: []string{"normalizer: type Precompiled without precompiled_charsmap"}},
		{name: "json short charsmap", file: "tokenizer.json", content: `{"normalizer": {"type": "Precompiled", "precompiled_charsmap": "AAE="}, "model": {"type": "Unigram", "unk_id": 0, "vocab": [["</s>", 0]]}}`, want: []string{"precompiled charsmap of 2 bytes"}},
		{name: "model truncated", file: "spiece.model", content: "\x0a\x05\x0a\x01", want: []string{"spiece.model", "overruns"}},
		{name: "model group wire type", file: "spiece.model", content: "\x0b", want: []string{"wire type 3"}},
		{name: "model no pieces", file: "spiece.model", content: "", want: []string{"no pieces"}},
		{name: "model BPE", file: "spiece.model", content: "\x12\x02\x18\x02", want: []string{"model_type is 2"}},
		{name: "model bad piece type", file: "spiece.model", content: "\x0a\x05\x0a\x01a\x18\x09", want: []string{"pieces[0]", "unknown type 9"}},
		{name: "model piece not utf8", file: "spiece.model", content: "\x0a\x03\x0a\x01\xff", want: []string{"not valid UTF-8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.file != "" {
				if err := os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(dir)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "tokenizer: ") || !strings.Contains(msg, dir) {
				t.Errorf("error %q does not start with the package or name the folder", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
}

// TestLoadersAgree checks that the three files give the same vocabulary,
// special tokens and (to float32 precision) scores.
func TestLoadersAgree(t *testing.T) {
	toks := tokenizers(t)
	ref := toks["tokenizer.json"]
	for _, name := range loaderNames {
		tok := toks[name]
		if tok.VocabSize() != 32100 {
			t.Errorf("%s: VocabSize = %d, want 32100", name, tok.VocabSize())
		}
		if !slices.Equal(tok.pieces, ref.pieces) || !slices.Equal(tok.special, ref.special) {
			t.Errorf("%s: pieces or special tokens differ from tokenizer.json's", name)
		}
		for i, s := range tok.scores {
			if float32(s) != float32(ref.scores[i]) {
				t.Fatalf("%s: piece %d score %v, tokenizer.json has %v", name, i, s, ref.scores[i])
			}
		}
		if tok.unkScore != ref.unkScore && math.Abs(tok.unkScore-ref.unkScore) > 1e-6 {
			t.Errorf("%s: unk score %v, want %v", name, tok.unkScore, ref.unkScore)
		}
	}
}

func TestAccessors(t *testing.T) {
	for _, name := range loaderNames {
		tok := tokenizers(t)[name]
		t.Run(name, func(t *testing.T) {
			for _, c := range []struct {
				what      string
				got, want int
			}{
				{"EOS", tok.EOS(), 1},
				{"Pad", tok.Pad(), 0},
				{"Unk", tok.Unk(), 2},
				{"Sentinel(0)", tok.Sentinel(0), 32099},
				{"Sentinel(1)", tok.Sentinel(1), 32098},
				{"Sentinel(99)", tok.Sentinel(99), 32000},
				{"Sentinel(100)", tok.Sentinel(100), -1},
				{"Sentinel(-1)", tok.Sentinel(-1), -1},
			} {
				if c.got != c.want {
					t.Errorf("%s = %d, want %d", c.what, c.got, c.want)
				}
			}
			for _, c := range []struct {
				piece string
				id    int
				ok    bool
			}{
				{"▁Hello", 8774, true},
				{"<extra_id_0>", 32099, true},
				{"</s>", 1, true},
				{"Hello world", 0, false},
			} {
				id, ok := tok.PieceToID(c.piece)
				if id != c.id || ok != c.ok {
					t.Errorf("PieceToID(%q) = %d, %v; want %d, %v", c.piece, id, ok, c.id, c.ok)
				}
				if ok && tok.IDToPiece(id) != c.piece {
					t.Errorf("IDToPiece(%d) = %q, want %q", id, tok.IDToPiece(id), c.piece)
				}
			}
			for _, id := range []int{-1, 32100, math.MaxInt} {
				if p := tok.IDToPiece(id); p != "" {
					t.Errorf("IDToPiece(%d) = %q, want \"\"", id, p)
				}
			}
		})
	}
}

func TestEncodeEdges(t *testing.T) {
	tok := tokenizers(t)["tokenizer.json"]
	for _, tc := range []struct {
		name string
		in   string
		want []int
	}{
		// nmt_nfkc maps U+FFFD to a space, so invalid bytes separate words.
		{"invalid UTF-8 reads as U+FFFD", "a\xffb", []int{3, 9, 3, 115, 1}},
		{"lone continuation byte", "\x80", []int{1}},
		{"truncated sequence", "caf\xc3", []int{212, 89, 1}},
		{"special token alone", "<extra_id_0>", []int{32099, 1}},
		{"longest special token wins", "<extra_id_10>", []int{32089, 1}},
		{"unknown sentinel is spelled out", "<extra_id_100>", []int{3, 2, 25666, 834, 23, 26, 834, 2915, 3155, 1}},
		{"full-width special normalises to the piece", "＜pad＞", []int{3, 0, 1}},
		{"U+2581 in text is a space", "a▁b", []int{3, 9, 3, 115, 1}},
		{"NUL stays, unknown", "\x00", []int{3, 2, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tok.Encode(tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("Encode(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

// TestCorruptModels truncates and corrupts the real spiece.model and checks
// that parsing fails cleanly or yields a working tokenizer, never panics.
func TestCorruptModels(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(shared, "spiece.model"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 2, 3, 10, 100, 1000, len(b) / 2, len(b) - 100000, len(b) - 1000, len(b) - 1} {
		if s, err := parseSentencePiece(b[:n]); err == nil {
			if tok, err := build(s); err == nil {
				tok.Encode("Hello world")
			}
		}
	}
	// Scramble the charsmap's trie: lookups must stay in bounds.
	m, err := parseSPModel(b)
	if err != nil {
		t.Fatal(err)
	}
	cm := slices.Clone(m.charsmap)
	for i := 4; i+4 <= len(cm) && i < 4+4*2000; i += 4 {
		binary.LittleEndian.PutUint32(cm[i:], uint32(i)*2654435761)
	}
	norm, err := parseCharsmap(cm)
	if err != nil {
		t.Fatal(err)
	}
	norm.normalize(nil, "Ｈｅｌｌｏ ﬁnance café e\u0301 \x00 ½")
}

func TestCharsmapLookup(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(shared, "spiece.model"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseSPModel(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.normName != "nmt_nfkc" || !m.addDummyPrefix || !m.removeExtraWS || !m.escapeWS {
		t.Errorf("normalizer_spec = %q %v %v %v, want nmt_nfkc with every flag set", m.normName, m.addDummyPrefix, m.removeExtraWS, m.escapeWS)
	}
	cm, err := parseCharsmap(m.charsmap)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in, want string
	}{
		{"Ｈｅｌｌｏ", "Hello"},
		{"ﬁnance", "finance"},
		{"e\u0301", "é"},                               // a cluster replaced whole
		{"A\u0302\u0300", "Â"},                         // shortest rule, rest of the cluster dropped
		{"A\u0302\u0300\u0301", "A\u0302\u0300\u0301"}, // 7 bytes: per character
		{"\u2581", " "},
		{"\t\r\n", "  "}, // CR LF is one cluster, replaced by CR's rule
		{"bell\x07", "bell"},
		{"½", "1⁄2"},
		{"\x00x", "\x00x"},
	} {
		if got := string(cm.normalize(nil, tc.in)); got != tc.want {
			t.Errorf("normalize(%+q) = %+q, want %+q", tc.in, got, tc.want)
		}
	}
	// The JSON files carry the same map.
	j, err := os.ReadFile(filepath.Join(shared, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(j), base64.StdEncoding.EncodeToString(m.charsmap[:300])[:100]) {
		t.Error("tokenizer.json does not carry spiece.model's charsmap")
	}
}
