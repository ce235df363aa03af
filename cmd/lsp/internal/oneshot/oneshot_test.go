package oneshot

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nib-editor/nib/model/hub/hubtest"
)

// The fixture model writes gibberish: these tests check that text comes
// out, deterministically, not what it says.

func runCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	command := map[string]func(context.Context, []string, io.Reader, io.Writer, io.Writer) error{"complete": Complete, "rewrite": Rewrite}[args[0]]
	err := command(context.Background(), args[1:], strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestCompleteCommand(t *testing.T) {
	model := filepath.Join(fixtures, "t5-tiny-gated")
	out1, stderr, err := runCLI(t, "", "complete", "--model", model, "--max-tokens", "6", "The weather today is")
	if err != nil {
		t.Fatalf("complete: %v\n%s", err, stderr)
	}
	if strings.TrimSpace(out1) == "" || !strings.HasSuffix(out1, "\n") || strings.Count(out1, "\n") != 1 {
		t.Errorf("complete printed %q: want one line of continuation", out1)
	}
	// The same text on stdin gives the same continuation.
	out2, _, err := runCLI(t, "The weather today is\n", "complete", "--model", model, "--max-tokens", "6")
	if err != nil {
		t.Fatal(err)
	}
	if out2 != out1 {
		t.Errorf("stdin gave %q, the argument %q", out2, out1)
	}
	// Greedy decoding has one answer: asking for three is refused, and
	// the message says what would give three.
	if out, _, err := runCLI(t, "", "complete", "--model", model, "--n", "3", "x"); err == nil || !strings.Contains(err.Error(), "--strategy") || out != "" {
		t.Errorf("complete --n 3 (greedy): %v, printed %q; want an error naming --strategy", err, out)
	}
	if out, _, err := runCLI(t, "", "complete", "--model", model, "--n", "3", "--strategy", "sample", "--max-tokens", "4", "x"); err != nil || !strings.HasPrefix(out, "[1] ") || !strings.Contains(out, "\n[3] ") {
		t.Errorf("complete --n 3 --strategy sample: %v, printed %q; want [1] to [3]", err, out)
	}
	if _, _, err := runCLI(t, "  \n", "complete", "--model", model); err == nil || !strings.Contains(err.Error(), "no text") {
		t.Errorf("empty stdin: %v", err)
	}
	if _, _, err := runCLI(t, "", "complete", "--model", filepath.Join(t.TempDir(), "missing"), "x"); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing model: %v", err)
	}
}

func TestRewriteCommand(t *testing.T) {
	model := filepath.Join(fixtures, "t5-tiny-relu-tied")
	out, stderr, err := runCLI(t, "me and him goes there", "rewrite", "--model", model, "--n", "3", "--max-tokens", "8", "--instruction", "Fix the grammar")
	if err != nil {
		t.Fatalf("rewrite: %v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "[1] ") || !strings.HasPrefix(lines[1], "[2] ") || !strings.HasPrefix(lines[2], "[3] ") {
		t.Errorf("rewrite --n 3 printed %q: want [1] the best, then [2] and [3]", out)
	}
	// One alternative is not numbered.
	one, _, err := runCLI(t, "me and him goes there", "rewrite", "--model", model, "--max-tokens", "8")
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(one, "[") || strings.Count(one, "\n") != 1 {
		t.Errorf("rewrite --n 1 printed %q: want one unnumbered line", one)
	}
	if strings.ContainsAny(out, "\r\033") {
		t.Errorf("output to a pipe holds control characters: %q", out)
	}
	if _, _, err := runCLI(t, "x", "rewrite", "--model", model, "--instruction", " "); err == nil {
		t.Error("empty instruction accepted")
	}
}

// TestCompletePullsOnFirstUse: a hub id that is not in the cache is pulled
// from the hub (a fake one here), then used; the second run finds it.
func TestCompletePullsOnFirstUse(t *testing.T) {
	src := filepath.Join(fixtures, "t5-tiny-gated")
	files := map[string][]byte{}
	for _, name := range []string{"config.json", "model.safetensors", "spiece.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	s := hubtest.NewServer()
	defer s.Close()
	s.AddRepo("google/flan-t5-tiny", files)
	cache := t.TempDir()
	t.Setenv("HF_ENDPOINT", s.URL)
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HF_TOKEN", "")

	out, stderr, err := runCLI(t, "", "complete", "--model", "google/flan-t5-tiny", "--max-tokens", "4", "Hello")
	if err != nil {
		t.Fatalf("complete: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "downloading") || !strings.Contains(stderr, "model.safetensors") {
		t.Errorf("no download progress on stderr:\n%s", stderr)
	}
	want, _, err := runCLI(t, "", "complete", "--model", src, "--max-tokens", "4", "Hello")
	if err != nil {
		t.Fatal(err)
	}
	if out != want {
		t.Errorf("pulled model says %q, the fixture %q", out, want)
	}
	requests := len(s.Requests())
	again, stderr, err := runCLI(t, "", "complete", "--model", "google/flan-t5-tiny", "--max-tokens", "4", "Hello")
	if err != nil || again != out {
		t.Fatalf("second run: %q, %v\n%s", again, err, stderr)
	}
	if len(s.Requests()) != requests {
		t.Errorf("the second run went to the hub (%d requests, then %d)", requests, len(s.Requests()))
	}
}
