package tokenizer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nib-editor/nib/model/internal/modelfile"
)

// Load reads the tokenizer of a model folder, as transformers'
// AutoTokenizer would: tokenizer.json (either serialisation) when present,
// else spiece.model. The error names the folder and, for a malformed file,
// the file and the field at fault.
func Load(dir string) (*Tokenizer, error) {
	for _, try := range []struct {
		name string
		load func(string) (*Tokenizer, error)
	}{
		{"tokenizer.json", FromJSON},
		{"spiece.model", FromSentencePiece},
	} {
		path := filepath.Join(dir, try.name)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		// FromJSON and FromSentencePiece name the file, which names the
		// folder.
		return try.load(path)
	}
	return nil, fmt.Errorf("tokenizer: model folder %s has neither tokenizer.json nor spiece.model", dir)
}

// FromSentencePiece reads a SentencePiece model (T5's spiece.model) and
// adds what transformers adds for T5: the sentinels <extra_id_0> ..
// <extra_id_99> as ids 32099 .. 32000, and <pad>, </s>, <unk> recognised
// when written in the text.
//
// Piece scores are float32 in this format, and tie-breaks in segmentation
// follow them exactly; a tokenizer.json of the same model may carry more
// precise float64 scores, and Hugging Face then breaks a few exact ties
// differently (runs of "-", for one). Each loader matches transformers
// reading the same file.
func FromSentencePiece(path string) (*Tokenizer, error) {
	return fromFile(path, parseSentencePiece)
}

// FromJSON reads a Hugging Face tokenizer.json with a Unigram model, in
// the serialisation recent transformers write (normalizer Sequence of
// Precompiled and Replace, Metaspace) or the older one (Precompiled,
// WhitespaceSplit and Metaspace). Both give the ids transformers' T5Tokenizer
// gives, since it rebuilds the same pipeline from either.
func FromJSON(path string) (*Tokenizer, error) {
	return fromFile(path, parseHFJSON)
}

// fromFile builds the tokenizer that parse reads from the file at path,
// which must be a regular file of at most modelfile.TokenizerLimit bytes.
// Every error names the file: a failed read's own error does already.
func fromFile(path string, parse func([]byte) (spec, error)) (*Tokenizer, error) {
	b, err := modelfile.ReadFile(path, modelfile.TokenizerLimit)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	s, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	t, err := build(s)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return t, nil
}
