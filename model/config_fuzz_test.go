package model_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nib-editor/nib/model"
)

// FuzzParseConfig parses arbitrary bytes as config.json. ParseConfig must
// never panic; an error must name a field or say the JSON is invalid; a
// config it accepts must satisfy the invariants the loader relies on, and
// write back to JSON that parses to the same config.
func FuzzParseConfig(f *testing.F) {
	for _, name := range fixtures {
		raw, err := os.ReadFile(filepath.Join(fixture(name), "config.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	for _, seed := range []string{
		`{}`, `null`, `[]`, `{"d_model": -3}`, `{"d_model": "big"}`, `{"d_model": 1e300}`,
		`{"feed_forward_proj": "gated-gelu"}`, `{"feed_forward_proj": "gelu"}`, `{"feed_forward_proj": "gated-"}`,
		`{"num_decoder_layers": 0}`, `{"num_layers": 2000}`, `{"d_kv": 257}`, `{"vocab_size": 2, "eos_token_id": 5}`,
		`{"relative_attention_num_buckets": 1}`, `{"layer_norm_epsilon": 0}`, `{"layer_norm_epsilon": 2}`,
		`{"pad_token_id": -1}`, `{"d_model": 65537}`, `{"vocab_size": 5000000}`, `{"num_heads": 1, "d_kv": 1, "d_model": 1, "d_ff": 1, "vocab_size": 2}`,
		`{"d_model": 8} trailing`, `{"d_model": 8, "d_model": 9}`, "{\"model_type\": \"t5\xff\"}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := model.ParseConfig(raw)
		if err != nil {
			msg := err.Error()
			if !strings.Contains(msg, "field") && !strings.Contains(msg, "invalid JSON") {
				t.Fatalf("error %q names no field", msg)
			}
			return
		}
		checkConfig(t, c)
		again, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("marshal an accepted config: %v", err)
		}
		c2, err := model.ParseConfig(again)
		if err != nil {
			t.Fatalf("an accepted config written back (%s) is refused: %v", again, err)
		}
		if *c2 != *c {
			t.Fatalf("config changed through JSON: %+v, then %+v", c, c2)
		}
	})
}

// checkConfig asserts the invariants of an accepted config.
func checkConfig(t *testing.T, c *model.Config) {
	t.Helper()
	for name, v := range map[string]int{
		"vocab_size": c.VocabSize, "d_model": c.DModel, "d_kv": c.DKV, "d_ff": c.DFF, "num_layers": c.NumLayers,
		"num_decoder_layers": c.NumDecoderLayers, "num_heads": c.NumHeads, "relative_attention_max_distance": c.MaxDistance,
	} {
		if v <= 0 {
			t.Fatalf("accepted %s = %d", name, v)
		}
	}
	if c.DModel > 1<<16 || c.DFF > 1<<16 || c.NumHeads > 1<<16 || c.VocabSize > 1<<22 || c.NumLayers > 1024 || c.NumDecoderLayers > 1024 || c.DKV > 256 {
		t.Fatalf("accepted implausible sizes: %+v", c)
	}
	if c.NumBuckets < 2 {
		t.Fatalf("accepted %d relative attention buckets", c.NumBuckets)
	}
	if !(c.LayerNormEps > 0 && c.LayerNormEps <= 1) {
		t.Fatalf("accepted layer_norm_epsilon %g", c.LayerNormEps)
	}
	for name, id := range map[string]int{"decoder_start_token_id": c.DecoderStartID, "eos_token_id": c.EOSID, "pad_token_id": c.PadID} {
		if id < 0 || id >= c.VocabSize {
			t.Fatalf("accepted %s %d outside a vocabulary of %d", name, id, c.VocabSize)
		}
	}
	if c.Activation != "relu" && c.Activation != "gelu_new" {
		t.Fatalf("accepted activation %q", c.Activation)
	}
	if c.Gated != strings.HasPrefix(c.FeedForwardProj, "gated-") {
		t.Fatalf("feed_forward_proj %q but Gated %v", c.FeedForwardProj, c.Gated)
	}
	if inner := c.Inner(); inner <= 0 || inner != c.NumHeads*c.DKV {
		t.Fatalf("Inner() = %d", inner)
	}
}
