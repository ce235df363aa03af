package load

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

const fixture = "../../../shared/fixtures/t5-tiny-gated"

// TestOpenFolder opens the fixture, checked against its tokenizer, and
// refuses a folder that is not a model, naming it.
func TestOpenFolder(t *testing.T) {
	ck, tok, err := OpenFolder(fixture)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	if tok.VocabSize() == 0 || tok.VocabSize() > ck.Config.VocabSize {
		t.Errorf("tokenizer of %d pieces for a vocabulary of %d", tok.VocabSize(), ck.Config.VocabSize)
	}
	empty := t.TempDir()
	if _, _, err := OpenFolder(empty); err == nil || !strings.Contains(err.Error(), empty) {
		t.Errorf("an empty folder: %v, want an error naming it", err)
	}
}

// TestResolveOrPullFolder: a folder resolves to itself, with nothing
// downloaded and nothing said.
func TestResolveOrPullFolder(t *testing.T) {
	var said strings.Builder
	dir, err := ResolveOrPull(context.Background(), fixture, &said)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.Abs(fixture)
	if got, _ := filepath.Abs(dir); got != want || said.Len() != 0 {
		t.Errorf("resolved %s (said %q), want %s and silence", dir, said.String(), want)
	}
	if _, err := ResolveOrPull(context.Background(), filepath.Join(t.TempDir(), "missing"), io.Discard); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("a missing folder: %v, want an error naming it", err)
	}
}

// TestWeightsName: int8 wins over f16, the default is f32.
func TestWeightsName(t *testing.T) {
	for _, c := range []struct {
		f16, int8 bool
		want      string
	}{{false, false, "f32"}, {true, false, "f16"}, {false, true, "int8"}, {true, true, "int8"}} {
		if got := WeightsName(c.f16, c.int8); got != c.want {
			t.Errorf("WeightsName(%v, %v) = %s, want %s", c.f16, c.int8, got, c.want)
		}
	}
}
