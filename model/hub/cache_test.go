package hub_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nib-editor/nib/model/hub"
)

func TestCacheDir(t *testing.T) {
	home := t.TempDir()
	tests := []struct {
		name string
		env  map[string]string // unset: every variable below not named
		want string
	}{
		{"HF_HUB_CACHE first", map[string]string{"HF_HUB_CACHE": "/a", "HUGGINGFACE_HUB_CACHE": "/b", "HF_HOME": "/c", "XDG_CACHE_HOME": "/d"}, "/a"},
		{"HUGGINGFACE_HUB_CACHE next", map[string]string{"HUGGINGFACE_HUB_CACHE": "/b", "HF_HOME": "/c", "XDG_CACHE_HOME": "/d"}, "/b"},
		{"HF_HOME/hub", map[string]string{"HF_HOME": "/c", "XDG_CACHE_HOME": "/d"}, "/c/hub"},
		{"XDG_CACHE_HOME/huggingface/hub", map[string]string{"XDG_CACHE_HOME": "/d"}, "/d/huggingface/hub"},
		{"home", nil, filepath.Join(home, ".cache", "huggingface", "hub")},
		{"tilde expanded", map[string]string{"HF_HOME": "~/hf"}, filepath.Join(home, "hf", "hub")},
		{"empty means unset", map[string]string{"HF_HUB_CACHE": "", "HF_HOME": "/c"}, "/c/hub"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HOME", home)
			for _, v := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"} {
				t.Setenv(v, tt.env[v]) // restored after the test
				if _, ok := tt.env[v]; !ok {
					os.Unsetenv(v)
				}
			}
			if got := hub.CacheDir(); got != filepath.FromSlash(tt.want) {
				t.Errorf("CacheDir() = %s, want %s", got, tt.want)
			}
		})
	}
}

// makeSnapshot lays out a cached repository by hand, as Python would
// leave it, with files as regular files in the snapshot; refs/rev names
// commit unless rev is "".
func makeSnapshot(t *testing.T, cache, id, rev, commit string, files ...string) string {
	t.Helper()
	repo := filepath.Join(cache, "models--"+strings.ReplaceAll(id, "/", "--"))
	dir := filepath.Join(repo, "snapshots", commit)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if rev != "" {
		ref := filepath.Join(repo, "refs", filepath.FromSlash(rev))
		if err := os.MkdirAll(filepath.Dir(ref), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(ref, []byte(commit), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const (
	commitA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	commitB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func TestResolve(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	full := []string{"config.json", "model.safetensors", "spiece.model"}
	mainDir := makeSnapshot(t, cache, "google/flan-t5-base", "main", commitA, full...)
	tagDir := makeSnapshot(t, cache, "google/flan-t5-base", "refs/pr/7", commitB, "config.json", "model.safetensors", "tokenizer.json")
	makeSnapshot(t, cache, "google/flan-t5-partial", "main", commitA, "config.json")
	makeSnapshot(t, cache, "google/flan-t5-bin", "main", commitA, "config.json", "pytorch_model.bin", "spiece.model")
	shardDir := makeSnapshot(t, cache, "google/flan-t5-xxl", "main", commitA, "config.json", "spiece.model", "model-00001-of-00002.safetensors")
	if err := os.WriteFile(filepath.Join(shardDir, "model.safetensors.index.json"),
		[]byte(`{"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	makeSnapshot(t, cache, "google/bad-ref", "main", "not-a-commit", full...)

	tests := []struct {
		ref       string
		want      string   // the folder; "" for an error
		notCached bool     // the error wraps ErrNotCached
		msg       []string // in the error
	}{
		{ref: fixture, want: fixture},
		{ref: "google/flan-t5-base", want: mainDir},
		{ref: "google/flan-t5-base@main", want: mainDir},
		{ref: "google/flan-t5-base@refs/pr/7", want: tagDir},
		{ref: "google/flan-t5-base@" + commitB, want: tagDir},
		{ref: "google/flan-t5-large", notCached: true,
			msg: []string{"nib pull google/flan-t5-large", filepath.Join(cache, "models--google--flan-t5-large", "refs", "main")}},
		{ref: "google/flan-t5-base@v2", notCached: true, msg: []string{"nib pull --revision v2 google/flan-t5-base"}},
		{ref: "google/flan-t5-base@" + commitA[:39] + "c", notCached: true, msg: []string{"snapshots"}},
		{ref: "google/flan-t5-partial", notCached: true, msg: []string{"lacks model.safetensors, spiece.model or tokenizer.json", "nib pull google/flan-t5-partial"}},
		{ref: "google/flan-t5-bin", notCached: true, msg: []string{"lacks model.safetensors"}},
		{ref: "google/flan-t5-xxl", notCached: true, msg: []string{"lacks model-00002-of-00002.safetensors"}},
		{ref: "google/bad-ref", msg: []string{"not a commit hash"}},
		{ref: "./no/such/folder", msg: []string{"no such folder"}},
		{ref: "/no/such/folder", msg: []string{"no such folder"}},
		{ref: "google/flan-t5-base@../../etc", msg: []string{"no such folder"}},
		{ref: filepath.Join(fixture, "config.json"), msg: []string{"is a file"}},
		{ref: "", msg: []string{"empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, err := hub.Resolve(tt.ref)
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Errorf("Resolve = %s, %v; want %s", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Resolve = %s, want an error", got)
			}
			if errors.Is(err, hub.ErrNotCached) != tt.notCached {
				t.Errorf("errors.Is(%v, ErrNotCached) = %v, want %v", err, !tt.notCached, tt.notCached)
			}
			for _, m := range tt.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error lacks %q: %v", m, err)
				}
			}
		})
	}
}
