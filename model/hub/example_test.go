package hub_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nib-editor/nib/model/hub"
	"github.com/nib-editor/nib/model/hub/hubtest"
)

// ExamplePull pulls a model from a fake hub into a fresh cache: only the
// files nib reads arrive, in huggingface_hub's layout.
func ExamplePull() {
	s := hubtest.NewServer()
	defer s.Close()
	s.AddRepo("google/flan-t5-tiny", map[string][]byte{
		"config.json":       []byte(`{"model_type": "t5"}`),
		"model.safetensors": []byte("weights"),
		"spiece.model":      []byte("vocabulary"),
		"pytorch_model.bin": []byte("the same weights, pickled"),
		"README.md":         []byte("# flan-t5-tiny"),
	})
	cache, err := os.MkdirTemp("", "hub-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(cache)

	dir, err := hub.Pull(context.Background(), "google/flan-t5-tiny", hub.PullOptions{Endpoint: s.URL, CacheDir: cache})
	if err != nil {
		fmt.Println(err)
		return
	}
	rel, _ := filepath.Rel(cache, filepath.Dir(dir))
	fmt.Println(filepath.ToSlash(rel))
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		fmt.Println(e.Name())
	}
	// Output:
	// models--google--flan-t5-tiny/snapshots
	// config.json
	// model.safetensors
	// spiece.model
}
