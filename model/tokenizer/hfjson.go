package tokenizer

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// hfFile is the part of a Hugging Face tokenizer.json that nib reads.
// transformers' T5Tokenizer keeps only the vocabulary, the unk id, the
// precompiled charsmap and the added tokens from it and builds the rest of
// the pipeline itself (WhitespaceSplit, Metaspace, append </s>), so the
// pre_tokenizer, decoder and post_processor sections, which differ between
// the serialisations in circulation, are not consulted.
type hfFile struct {
	AddedTokens []struct {
		ID         *int   `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		Special    bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer json.RawMessage `json:"normalizer"`
	Model      struct {
		Type  string         `json:"type"`
		UnkID *int           `json:"unk_id"`
		Vocab []hfVocabEntry `json:"vocab"`
	} `json:"model"`
}

// hfVocabEntry is one [piece, score] pair of a Unigram vocabulary.
type hfVocabEntry struct {
	piece string
	score float64
}

// UnmarshalJSON reads a two-element array; encoding/json parses the score
// with strconv.ParseFloat, correctly rounded like serde_json, which matters
// because scores that tie decide segmentations.
func (e *hfVocabEntry) UnmarshalJSON(b []byte) error {
	var pair []json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	if len(pair) != 2 {
		return fmt.Errorf("vocabulary entry %s is not a [piece, score] pair", b)
	}
	if err := json.Unmarshal(pair[0], &e.piece); err != nil {
		return fmt.Errorf("vocabulary entry %s: piece: %w", b, err)
	}
	if err := json.Unmarshal(pair[1], &e.score); err != nil {
		return fmt.Errorf("vocabulary entry %s: score: %w", b, err)
	}
	return nil
}

// hfNormalizer is a normalizer object: Precompiled, or a Sequence that may
// hold one.
type hfNormalizer struct {
	Type                string            `json:"type"`
	PrecompiledCharsmap *string           `json:"precompiled_charsmap"`
	Normalizers         []json.RawMessage `json:"normalizers"`
}

// parseHFJSON decodes a tokenizer.json into a spec.
func parseHFJSON(b []byte) (spec, error) {
	var f hfFile
	if err := json.Unmarshal(b, &f); err != nil {
		return spec{}, err
	}
	if f.Model.Type != "Unigram" {
		return spec{}, fmt.Errorf("model.type is %q; only Unigram is supported", f.Model.Type)
	}
	if f.Model.UnkID == nil {
		return spec{}, errors.New("model.unk_id is missing; T5 needs an unknown token")
	}
	s := spec{unk: *f.Model.UnkID}
	for _, e := range f.Model.Vocab {
		s.pieces = append(s.pieces, e.piece)
		s.scores = append(s.scores, e.score)
	}
	for i, a := range f.AddedTokens {
		if a.ID == nil {
			return spec{}, fmt.Errorf("added_tokens[%d] (%q) has no id", i, a.Content)
		}
		if a.SingleWord {
			// T5's special tokens never set it, and matching it needs
			// Hugging Face's notion of a word boundary.
			return spec{}, fmt.Errorf("added_tokens[%d] (%q): single_word is not supported", i, a.Content)
		}
		// "normalized" is not consulted: transformers re-adds T5's special
		// tokens un-normalised, matched in the raw text. Nor are lstrip
		// and rstrip: the whitespace they would swallow is dropped by the
		// whitespace split anyway.
		s.added = append(s.added, addedToken{content: a.Content, id: *a.ID, special: a.Special})
	}
	cm, err := findCharsmap(f.Normalizer)
	if err != nil {
		return spec{}, fmt.Errorf("normalizer: %w", err)
	}
	s.charsmap = cm
	return s, nil
}

// findCharsmap returns the precompiled_charsmap of the first Precompiled
// normalizer in n, looking inside a Sequence as transformers does; nil if
// there is none. Other normalizers (the Replace(" {2,}", " ") of recent
// T5 files) are dropped, as transformers drops them.
func findCharsmap(n json.RawMessage) ([]byte, error) {
	if len(n) == 0 || bytes.Equal(n, []byte("null")) {
		return nil, nil
	}
	var h hfNormalizer
	if err := json.Unmarshal(n, &h); err != nil {
		return nil, err
	}
	switch h.Type {
	case "Precompiled":
		if h.PrecompiledCharsmap == nil {
			return nil, errors.New("type Precompiled without precompiled_charsmap")
		}
		b, err := base64.StdEncoding.DecodeString(*h.PrecompiledCharsmap)
		if err != nil {
			return nil, fmt.Errorf("precompiled_charsmap: %w", err)
		}
		if len(b) == 0 {
			return nil, nil
		}
		return b, nil
	case "Sequence":
		for i, sub := range h.Normalizers {
			b, err := findCharsmap(sub)
			if err != nil {
				return nil, fmt.Errorf("normalizers[%d]: %w", i, err)
			}
			if b != nil {
				return b, nil
			}
		}
	}
	return nil, nil
}
