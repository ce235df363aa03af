package safetensors_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nib-editor/nib/model/safetensors"
)

// writeSharded writes a checkpoint of two shards and its index into dir.
func writeSharded(t *testing.T, dir string) {
	t.Helper()
	writeFile(t, dir, "model-00001-of-00002.safetensors", []safetensors.Tensor{
		f32Tensor("shared.weight", []int{2, 2}, 1, 2, 3, 4),
		f32Tensor("encoder.final_layer_norm.weight", []int{2}, 5, 6),
	}, map[string]string{"format": "pt"})
	writeFile(t, dir, "model-00002-of-00002.safetensors", []safetensors.Tensor{
		{Name: "decoder.final_layer_norm.weight", DType: safetensors.BF16, Shape: []int{2}, Data: le16(0x3f80, 0xc020)},
	}, map[string]string{"format": "pt"})
	writeIndex(t, dir, `{
  "metadata": {"total_size": 28},
  "weight_map": {
    "decoder.final_layer_norm.weight": "model-00002-of-00002.safetensors",
    "encoder.final_layer_norm.weight": "model-00001-of-00002.safetensors",
    "shared.weight": "model-00001-of-00002.safetensors"
  }
}`)
}

func writeIndex(t *testing.T, dir, index string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, safetensors.IndexFile), []byte(index), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOpenDirSharded(t *testing.T) {
	dir := t.TempDir()
	writeSharded(t, dir)
	s, err := safetensors.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := []string{"decoder.final_layer_norm.weight", "encoder.final_layer_norm.weight", "shared.weight"}
	if got := s.Names(); !slices.Equal(got, want) {
		t.Errorf("names %q, want %q", got, want)
	}
	dec, err := s.Tensor("decoder.final_layer_norm.weight")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := dec.Float32(); err != nil || !slices.Equal(got, []float32{1, -2.5}) {
		t.Errorf("bf16 tensor from shard 2: %v, %v", got, err)
	}
	if want := filepath.Join(dir, "model-00002-of-00002.safetensors"); dec.File != want {
		t.Errorf("File %q, want %q", dec.File, want)
	}
	shared, err := s.Tensor("shared.weight")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := shared.Float32(); err != nil || !slices.Equal(got, []float32{1, 2, 3, 4}) || !slices.Equal(shared.Shape, []int{2, 2}) {
		t.Errorf("shared.weight from shard 1: %v %v, %v", shared.Shape, got, err)
	}
	_, err = s.Tensor("lm_head.weight")
	mustContain(t, err, dir, `"lm_head.weight"`)

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = s.Tensor("shared.weight")
	mustContain(t, err, dir, "closed")
}

func TestOpenDirSingle(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, safetensors.SingleFile, []safetensors.Tensor{f32Tensor("shared.weight", []int{1}, 7)}, nil)
	// A stale index beside model.safetensors is ignored, as transformers
	// ignores it.
	writeIndex(t, dir, `{"weight_map": {"other": "gone.safetensors"}}`)
	s, err := safetensors.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Names(); !slices.Equal(got, []string{"shared.weight"}) {
		t.Errorf("names %q", got)
	}
	if tn, err := s.Tensor("shared.weight"); err != nil || tn.File != filepath.Join(dir, safetensors.SingleFile) {
		t.Errorf("tensor %+v, %v", tn, err)
	}
}

func TestOpenDirErrors(t *testing.T) {
	shard := []safetensors.Tensor{f32Tensor("a", []int{1}, 1), f32Tensor("b", []int{1}, 2)}
	tests := []struct {
		name  string
		files map[string]string // extra files: name -> contents
		index string            // written as the index unless empty
		shard bool              // write shard.safetensors holding a and b
		want  []string          // besides the folder's path
	}{
		{name: "empty folder", want: []string{"no model.safetensors or model.safetensors.index.json"}},
		{name: "pytorch only", files: map[string]string{"pytorch_model.bin": "PK"},
			want: []string{"pytorch_model.bin", "save_pretrained", "safe_serialization=True"}},
		{name: "sharded pytorch only", files: map[string]string{"pytorch_model.bin.index.json": "{}"},
			want: []string{"pytorch_model.bin.index.json", "save_pretrained", "safe_serialization=True"}},
		{name: "parent directory", index: `{"weight_map": {"a": "../shard.safetensors"}}`, shard: true,
			want: []string{`"a"`, `"../shard.safetensors"`, "inside the folder"}},
		{name: "absolute path", index: `{"weight_map": {"a": "/etc/passwd"}}`,
			want: []string{`"a"`, `"/etc/passwd"`, "inside the folder"}},
		{name: "subfolder", index: `{"weight_map": {"a": "x/../shard.safetensors"}}`, shard: true,
			want: []string{`"a"`, "inside the folder"}},
		{name: "backslash", index: `{"weight_map": {"a": "..\\shard.safetensors"}}`,
			want: []string{`"a"`, "inside the folder"}},
		{name: "dot dot", index: `{"weight_map": {"a": ".."}}`, want: []string{`"a"`, "inside the folder"}},
		{name: "empty shard name", index: `{"weight_map": {"a": ""}}`, want: []string{`"a"`, "inside the folder"}},
		{name: "missing shard", index: `{"weight_map": {"a": "shard.safetensors", "b": "model-00002-of-00002.safetensors"}}`, shard: true,
			want: []string{`"model-00002-of-00002.safetensors"`, `"b"`, "missing"}},
		{name: "tensor not in its shard", index: `{"weight_map": {"a": "shard.safetensors", "c": "shard.safetensors"}}`, shard: true,
			want: []string{"shard.safetensors", `"c"`, "not in this shard"}},
		{name: "broken shard", index: `{"weight_map": {"a": "bad.safetensors"}}`, files: map[string]string{"bad.safetensors": "short"},
			want: []string{"bad.safetensors", "shorter than"}},
		{name: "no weight_map", index: `{"metadata": {}}`, want: []string{"no weight_map"}},
		{name: "empty weight_map", index: `{"weight_map": {}}`, want: []string{"weight_map is empty"}},
		{name: "tensor twice in weight_map", index: `{"weight_map": {"a": "shard.safetensors", "a": "shard.safetensors"}}`, shard: true,
			want: []string{`weight_map: tensor "a" appears twice`}},
		{name: "shard not a string", index: `{"weight_map": {"a": 1}}`, want: []string{`"a"`, "want a shard file name"}},
		{name: "index not JSON", index: `{"weight_map": `, want: []string{"model.safetensors.index.json", "ends early"}},
		{name: "index an array", index: `[]`, want: []string{"model.safetensors.index.json", "want a JSON object"}},
		{name: "index trailing data", index: `{"weight_map": {"a": "shard.safetensors"}} x`, shard: true, want: []string{"after the JSON object"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "model")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, contents := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(contents), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tc.shard {
				writeFile(t, dir, "shard.safetensors", shard, nil)
				// A shard outside the folder, where a traversal would find it.
				writeFile(t, root, "shard.safetensors", shard, nil)
			}
			if tc.index != "" {
				writeIndex(t, dir, tc.index)
			}
			s, err := safetensors.OpenDir(dir)
			if err == nil {
				s.Close()
			}
			mustContain(t, err, append([]string{dir}, tc.want...)...)
		})
	}
}

func TestOpenDirNotAFolder(t *testing.T) {
	path := writeFile(t, t.TempDir(), safetensors.SingleFile, nil, nil)
	_, err := safetensors.OpenDir(path)
	mustContain(t, err, path, "not a folder")
	_, err = safetensors.OpenDir(filepath.Join(path, "nope"))
	mustContain(t, err, "nope")
}
