package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/nib-editor/nib/model/internal/modelfile"
)

// Config is a T5 configuration as Hugging Face's config.json writes it,
// with defaults applied and the feed-forward kind resolved.
type Config struct {
	VocabSize         int     `json:"vocab_size"`
	DModel            int     `json:"d_model"`
	DKV               int     `json:"d_kv"`
	DFF               int     `json:"d_ff"`
	NumLayers         int     `json:"num_layers"`
	NumDecoderLayers  int     `json:"num_decoder_layers"`
	NumHeads          int     `json:"num_heads"`
	NumBuckets        int     `json:"relative_attention_num_buckets"`
	MaxDistance       int     `json:"relative_attention_max_distance"`
	LayerNormEps      float64 `json:"layer_norm_epsilon"`
	FeedForwardProj   string  `json:"feed_forward_proj"`
	TieWordEmbeddings bool    `json:"tie_word_embeddings"`
	DecoderStartID    int     `json:"decoder_start_token_id"`
	EOSID             int     `json:"eos_token_id"`
	PadID             int     `json:"pad_token_id"`
	ModelType         string  `json:"model_type"`

	// Gated is true for gated feed-forward blocks (wi_0, wi_1), as in
	// t5-v1.1 and FLAN-T5; Activation is "relu" or "gelu_new".
	Gated      bool   `json:"-"`
	Activation string `json:"-"`
}

// Inner is the width of the attention projections, NumHeads * DKV, which
// need not equal DModel.
func (c *Config) Inner() int { return c.NumHeads * c.DKV }

// maxHeadDim is the attention kernel's limit on d_kv.
const maxHeadDim = 256

// LoadConfig reads and validates dir/config.json.
func LoadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, "config.json")
	raw, err := modelfile.ReadFile(path, modelfile.ConfigLimit)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	c, err := ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("model: %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig parses config.json content, applies Hugging Face's defaults
// and validates it. Errors name the field at fault.
func ParseConfig(raw []byte) (*Config, error) {
	// Defaults as in transformers' T5Config, for fields a file may omit.
	c := Config{
		VocabSize:         32128,
		DModel:            512,
		DKV:               64,
		DFF:               2048,
		NumLayers:         6,
		NumDecoderLayers:  -1,
		NumHeads:          8,
		NumBuckets:        32,
		MaxDistance:       128,
		LayerNormEps:      1e-6,
		FeedForwardProj:   "relu",
		TieWordEmbeddings: true,
		EOSID:             1,
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, fmt.Errorf("field %q: %s is not a %s", typeErr.Field, typeErr.Value, typeErr.Type)
		}
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if c.NumDecoderLayers < 0 {
		c.NumDecoderLayers = c.NumLayers
	}
	if err := c.resolveFeedForward(); err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// resolveFeedForward maps feed_forward_proj as transformers does:
// "gated-ACT" is gated, and gated-gelu means the tanh approximation.
func (c *Config) resolveFeedForward() error {
	proj := c.FeedForwardProj
	act := proj
	if rest, ok := strings.CutPrefix(proj, "gated-"); ok {
		c.Gated, act = true, rest
	}
	switch {
	case act == "relu":
		c.Activation = "relu"
	case act == "gelu_new" || (c.Gated && act == "gelu"):
		c.Activation = "gelu_new"
	default:
		return fmt.Errorf("field \"feed_forward_proj\": %q is not supported (nib runs relu, gated-relu and gated-gelu)", proj)
	}
	return nil
}

func (c *Config) validate() error {
	positive := []struct {
		name string
		v    int
	}{
		{"vocab_size", c.VocabSize}, {"d_model", c.DModel}, {"d_kv", c.DKV}, {"d_ff", c.DFF},
		{"num_layers", c.NumLayers}, {"num_decoder_layers", c.NumDecoderLayers}, {"num_heads", c.NumHeads},
		{"relative_attention_num_buckets", c.NumBuckets}, {"relative_attention_max_distance", c.MaxDistance},
	}
	for _, f := range positive {
		if f.v <= 0 {
			return fmt.Errorf("field %q: %d must be positive", f.name, f.v)
		}
	}
	// Generous bounds that catch corrupt files before anything is
	// allocated: FLAN-T5-XXL has d_model 4096, d_ff 10240, 24 layers.
	const maxDim, maxLayers = 1 << 16, 1024
	for _, f := range []struct {
		name string
		v    int
	}{{"d_model", c.DModel}, {"d_ff", c.DFF}, {"num_heads", c.NumHeads}} {
		if f.v > maxDim {
			return fmt.Errorf("field %q: %d is implausibly large", f.name, f.v)
		}
	}
	if c.VocabSize > 1<<22 {
		return fmt.Errorf("field \"vocab_size\": %d is implausibly large", c.VocabSize)
	}
	if c.NumLayers > maxLayers || c.NumDecoderLayers > maxLayers {
		return fmt.Errorf("fields \"num_layers\"/\"num_decoder_layers\": %d/%d layers is implausibly many", c.NumLayers, c.NumDecoderLayers)
	}
	if c.DKV > maxHeadDim {
		return fmt.Errorf("field \"d_kv\": %d exceeds the attention kernel's limit of %d", c.DKV, maxHeadDim)
	}
	if c.NumBuckets < 2 {
		return fmt.Errorf("field \"relative_attention_num_buckets\": %d; need at least 2 (half are used per direction)", c.NumBuckets)
	}
	if !(c.LayerNormEps > 0) || c.LayerNormEps > 1 {
		return fmt.Errorf("field \"layer_norm_epsilon\": %g is not in (0, 1]", c.LayerNormEps)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"decoder_start_token_id", c.DecoderStartID}, {"eos_token_id", c.EOSID}, {"pad_token_id", c.PadID}} {
		if f.v < 0 || f.v >= c.VocabSize {
			return fmt.Errorf("field %q: %d is outside the vocabulary of %d", f.name, f.v, c.VocabSize)
		}
	}
	return nil
}
