package pull

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nib-editor/nib/model/hub/hubtest"
)

func TestPullCommand(t *testing.T) {
	s := hubtest.NewServer()
	defer s.Close()
	head := s.AddRepo("google/flan-t5-tiny", map[string][]byte{
		"config.json":       []byte(`{"model_type": "t5"}`),
		"model.safetensors": []byte("weights"),
		"spiece.model":      []byte("vocabulary"),
	})
	v1 := s.AddRepo("google/flan-t5-tiny", map[string][]byte{
		"config.json":       []byte(`{"model_type": "t5", "v": 1}`),
		"model.safetensors": []byte("weights"),
		"spiece.model":      []byte("vocabulary"),
	})
	s.SetRef("google/flan-t5-tiny", "v1", v1)
	s.SetRef("google/flan-t5-tiny", "main", head)

	cache := t.TempDir()
	t.Setenv("HF_ENDPOINT", s.URL)
	t.Setenv("HF_HUB_CACHE", cache)
	for _, v := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH"} {
		t.Setenv(v, "")
	}
	t.Setenv("HF_HOME", t.TempDir()) // no token file
	snapshot := func(commit string) string {
		return filepath.Join(cache, "models--google--flan-t5-tiny", "snapshots", commit) + "\n"
	}

	tests := []struct {
		name       string
		args       []string
		wantOut    string // stdout, exactly
		wantErr    string // "" for success
		wantStderr string
	}{
		{"main", []string{"google/flan-t5-tiny"}, snapshot(head), "", "model.safetensors"},
		{"revision flag", []string{"--revision", "v1", "google/flan-t5-tiny"}, snapshot(v1), "", "cached"},
		{"flag after id", []string{"google/flan-t5-tiny", "-revision=v1"}, snapshot(v1), "", "cached"},
		{"id@revision", []string{"google/flan-t5-tiny@v1"}, snapshot(v1), "", "cached"},
		{"help", []string{"-h"}, "", "", "usage: nib pull"},
		{"no id", nil, "", "no hub id", "usage: nib pull"},
		{"two ids", []string{"a/b", "c/d"}, "", "one hub id at a time", "usage: nib pull"},
		{"bad flag", []string{"--nope", "a/b"}, "", "flag provided but not defined", "usage: nib pull"},
		{"missing repo", []string{"google/flan-t5-nope"}, "", "404", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := Run(context.Background(), tt.args, &stdout, &stderr)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Run(%q) = %v, want error %q", tt.args, err, tt.wantErr)
			}
			if stdout.String() != tt.wantOut {
				t.Errorf("stdout = %q, want %q", stdout.String(), tt.wantOut)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, stderr.String())
			}
		})
	}
	if _, err := os.Stat(filepath.Join(cache, "models--google--flan-t5-tiny", "refs", "v1")); err != nil {
		t.Error(err)
	}
}
