package safetensors_test

import (
	"bytes"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/nib-editor/nib/model/safetensors"
)

// fixtures is the shared folder of tiny T5 checkpoints written by
// transformers and the reference safetensors implementation.
const fixtures = "../../../shared/fixtures/t5-tiny-gated/"

func TestFixtureModel(t *testing.T) {
	s, err := safetensors.OpenDir(fixtures)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		name  string
		dtype safetensors.DType
		shape []int
	}{
		{"encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", safetensors.F32, []int{32, 4}},
		{"shared.weight", safetensors.F32, []int{32128, 32}},
		{"lm_head.weight", safetensors.F32, []int{32128, 32}},
		{"encoder.block.1.layer.1.DenseReluDense.wi_0.weight", safetensors.F32, []int{64, 32}},
		{"decoder.block.1.layer.2.DenseReluDense.wo.weight", safetensors.F32, []int{32, 64}},
		{"decoder.final_layer_norm.weight", safetensors.F32, []int{32}},
	}
	for _, tc := range tests {
		tn, err := s.Tensor(tc.name)
		if err != nil {
			t.Error(err)
			continue
		}
		if tn.DType != tc.dtype || !slices.Equal(tn.Shape, tc.shape) {
			t.Errorf("%s: %s %v, want %s %v", tc.name, tn.DType, tn.Shape, tc.dtype, tc.shape)
		}
		vals, err := tn.Float32()
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("%s[%d] = %v", tc.name, i, v)
			}
		}
	}
	// Two encoder and two decoder blocks of gated-gelu T5, the embeddings
	// and the untied lm_head; no encoder/decoder.embed_tokens.
	if n := len(s.Names()); n != 52 {
		t.Errorf("%d tensors, want 52", n)
	}
	if _, err := s.Tensor("encoder.embed_tokens.weight"); err == nil {
		t.Error("encoder.embed_tokens.weight is present; the fixture omits it")
	}
}

// TestFixtureRewrite checks Write against the reference implementation: the
// fixture's tensors are all F32, so its layout is name order, and writing
// them back must reproduce the file byte for byte.
func TestFixtureRewrite(t *testing.T) {
	path := fixtures + "model.safetensors"
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ts []safetensors.Tensor
	for _, name := range f.Names() {
		tn, _ := f.Tensor(name)
		ts = append(ts, tn)
	}
	var b bytes.Buffer
	if err := safetensors.Write(&b, ts, f.Metadata()); err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), orig) {
		t.Errorf("rewriting %s gives different bytes (%d, want %d); header %q", path, b.Len(), len(orig), b.Bytes()[:200])
	}
}

func TestFixtureReference(t *testing.T) {
	f, err := safetensors.Open(fixtures + "reference.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests := []struct {
		name  string
		dtype safetensors.DType
		shape []int
	}{
		{"case0.input_ids", safetensors.I64, []int{1, 7}},
		{"case0.greedy_ids", safetensors.I64, []int{1, 13}},
		{"case2.logits", safetensors.F32, []int{1, 12, 32128}},
		{"batch.attention_mask", safetensors.I64, []int{3, 11}},
	}
	for _, tc := range tests {
		tn, ok := f.Tensor(tc.name)
		if !ok {
			t.Errorf("no tensor %q", tc.name)
			continue
		}
		if tn.DType != tc.dtype || !slices.Equal(tn.Shape, tc.shape) {
			t.Errorf("%s: %s %v, want %s %v", tc.name, tn.DType, tn.Shape, tc.dtype, tc.shape)
		}
	}
	// Encoder inputs end with eos (1); greedy decoding starts from 0.
	in, _ := f.Tensor("case0.input_ids")
	ids, err := in.Int64()
	if err != nil || len(ids) != 7 || ids[6] != 1 {
		t.Errorf("case0.input_ids = %v, %v; want 7 ids ending with 1", ids, err)
	}
	g, _ := f.Tensor("case0.greedy_ids")
	if ids, err := g.Int64(); err != nil || ids[0] != 0 {
		t.Errorf("case0.greedy_ids = %v, %v; want a leading 0", ids, err)
	}
	mask, _ := f.Tensor("batch.attention_mask")
	m, err := mask.Int64()
	if err != nil {
		t.Fatal(err)
	}
	// Lengths 5, 11 and 3, right-padded.
	for row, n := range []int{5, 11, 3} {
		for col := range 11 {
			want := int64(0)
			if col < n {
				want = 1
			}
			if m[row*11+col] != want {
				t.Fatalf("attention_mask[%d][%d] = %d, want %d", row, col, m[row*11+col], want)
			}
		}
	}
	if _, err := in.Float32(); err == nil {
		t.Error("Float32 of an I64 tensor succeeded")
	}
}
