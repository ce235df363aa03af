//go:build !js

package tests

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runNib runs the built nib to its end with args, stdin and the extra
// environment env (NIB_LOG_LEVEL and XDG_RUNTIME_DIR removed, as on a
// machine without a desktop session), and returns what it wrote and its
// exit status.
func runNib(t *testing.T, env []string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NIB_LOG_LEVEL=") && !strings.HasPrefix(kv, "XDG_RUNTIME_DIR=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("nib %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), code
}

// TestCLIHelpAndVersion: --help is a request, not a mistake, on every
// command, and --version answers.
func TestCLIHelpAndVersion(t *testing.T) {
	for _, cmd := range []string{"adapters", "forward", "bench", "complete", "rewrite", "tokenize", "pull"} {
		out, errOut, code := runNib(t, nil, "", cmd, "--help")
		if code != 0 || !strings.Contains(errOut+out, "usage: nib "+cmd) || strings.Contains(errOut, "help requested") {
			t.Errorf("nib %s --help: exit %d, stdout %q, stderr %q; want exit 0 and the usage", cmd, code, out, errOut)
		}
	}
	out, _, code := runNib(t, nil, "", "--help")
	if code != 0 || !strings.Contains(out, "commands:") {
		t.Errorf("nib --help: exit %d, %q", code, out)
	}
	for _, arg := range []string{"--version", "version"} {
		out, errOut, code := runNib(t, nil, "", arg)
		if code != 0 || !regexp.MustCompile(`^nib \d+\.\d+\.\d+\n$`).MatchString(out) || errOut != "" {
			t.Errorf("nib %s: exit %d, stdout %q, stderr %q; want \"nib X.Y.Z\"", arg, code, out, errOut)
		}
	}
}

// TestCLIQuiet: a one-shot command writes its answer to stdout and nothing
// to stderr (no device log line, no EGL or Wayland complaint from probing
// adapters) unless --log-level asks for more.
func TestCLIQuiet(t *testing.T) {
	model := filepath.Join(fixtures, "t5-tiny-gated")
	out, errOut, code := runNib(t, nil, "", "complete", "--model", model, "--max-tokens", "4", "The weather")
	if code != 0 || strings.TrimSpace(out) == "" || errOut != "" {
		t.Errorf("nib complete: exit %d, stdout %q, stderr %q; want text and an empty stderr", code, out, errOut)
	}
	out, errOut, code = runNib(t, nil, "", "adapters")
	if code != 0 || !strings.Contains(out, "vulkan") || errOut != "" || strings.Contains(out, "open-gl") {
		t.Errorf("nib adapters: exit %d, stdout %q, stderr %q; want Vulkan adapters only and an empty stderr", code, out, errOut)
	}
	_, errOut, code = runNib(t, nil, "", "complete", "--model", model, "--max-tokens", "4", "--log-level", "info", "The weather")
	if code != 0 || !strings.Contains(errOut, "gpu device open") {
		t.Errorf("nib complete --log-level info: exit %d, stderr %q; want the device's info line", code, errOut)
	}
	_, errOut, code = runNib(t, []string{"NIB_LOG_LEVEL=info"}, "", "complete", "--model", model, "--max-tokens", "4", "The weather")
	if code != 0 || !strings.Contains(errOut, "gpu device open") {
		t.Errorf("NIB_LOG_LEVEL=info nib complete: exit %d, stderr %q; want the device's info line", code, errOut)
	}
}

// TestCLIAlternatives: several alternatives are numbered from [1], and
// asking greedy decoding for several is refused with the way to get them.
func TestCLIAlternatives(t *testing.T) {
	model := filepath.Join(fixtures, "t5-tiny-relu-tied")
	out, errOut, code := runNib(t, nil, "", "complete", "--model", model, "--n", "3", "The weather")
	if code == 0 || out != "" || !strings.Contains(errOut, "--strategy") {
		t.Errorf("nib complete --n 3: exit %d, stdout %q, stderr %q; want a failure that names --strategy", code, out, errOut)
	}
	out, errOut, code = runNib(t, nil, "", "rewrite", "--model", model, "--n", "3", "--max-tokens", "6", "me and him goes")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || len(lines) != 3 {
		t.Fatalf("nib rewrite --n 3: exit %d, stdout %q, stderr %q; want three lines", code, out, errOut)
	}
	for i, l := range lines {
		if want := "[" + string(rune('1'+i)) + "] "; !strings.HasPrefix(l, want) {
			t.Errorf("line %d is %q; want it to start with %q", i+1, l, want)
		}
	}
}

// cacheModel puts the fixture model into a fresh Hugging Face cache as the
// hub id, as `nib pull` would leave it, and returns the environment that
// points nib at that cache.
func cacheModel(t *testing.T, id, fixture string) []string {
	t.Helper()
	cache := t.TempDir()
	repo := filepath.Join(cache, "models--"+strings.ReplaceAll(id, "/", "--"))
	const commit = "0123456789abcdef0123456789abcdef01234567"
	snap := filepath.Join(repo, "snapshots", commit)
	if err := os.MkdirAll(filepath.Join(repo, "refs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(snap, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "refs", "main"), []byte(commit), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := filepath.Abs(filepath.Join(fixtures, fixture))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Symlink(filepath.Join(src, e.Name()), filepath.Join(snap, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return []string{"HF_HUB_CACHE=" + cache}
}

// TestCLIHubIDs: every command that takes --model takes a hub id in the
// cache as well as a folder, with the same result.
func TestCLIHubIDs(t *testing.T) {
	const id = "nib-test/t5-tiny-gated"
	env := cacheModel(t, id, "t5-tiny-gated")
	folder := filepath.Join(fixtures, "t5-tiny-gated")
	cases := []struct {
		stdin string
		args  []string
	}{
		{`"Hello world, again"` + "\n", []string{"tokenize"}},
		{"", []string{"complete", "--max-tokens", "4", "The weather"}},
		{"", []string{"rewrite", "--max-tokens", "4", "me and him goes"}},
		{"", []string{"forward", "--reference", filepath.Join(folder, "reference.safetensors")}},
	}
	for _, c := range cases {
		// Flags come before the text.
		withModel := func(m string) []string { return append([]string{c.args[0], "--model", m}, c.args[1:]...) }
		byFolder, errOut, code := runNib(t, env, c.stdin, withModel(folder)...)
		if code != 0 {
			t.Fatalf("nib %s --model FOLDER: exit %d, stderr %q", c.args[0], code, errOut)
		}
		byID, errOut, code := runNib(t, env, c.stdin, withModel(id)...)
		if code != 0 {
			t.Errorf("nib %s --model %s: exit %d, stderr %q", c.args[0], id, code, errOut)
			continue
		}
		if c.args[0] == "forward" {
			// Its report names the folder it loaded; the figures match.
			byFolder, byID = afterFirstLine(byFolder), afterFirstLine(byID)
		}
		if byID != byFolder {
			t.Errorf("nib %s: the hub id gave %q, the folder %q", c.args[0], byID, byFolder)
		}
	}
	_, errOut, code := runNib(t, env, "", "bench", "--model", id, "--only", "ttft", "--runs", "1", "--new-tokens", "2", "--prompt-tokens", "4")
	if code != 0 {
		t.Errorf("nib bench --model %s: exit %d, stderr %q", id, code, errOut)
	}
}

func afterFirstLine(s string) string {
	_, rest, _ := strings.Cut(s, "\n")
	return rest
}

// TestCLIBenchProgress: bench says what it is doing as it goes, each
// figure with its unit, on stderr; stdout holds the JSON report alone.
func TestCLIBenchProgress(t *testing.T) {
	model := filepath.Join(fixtures, "t5-tiny-gated")
	out, errOut, code := runNib(t, nil, "", "bench", "--model", model, "--only", "decode,ttft", "--runs", "2", "--new-tokens", "4", "--prompt-tokens", "8")
	if code != 0 {
		t.Fatalf("nib bench: exit %d, stderr %q", code, errOut)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Errorf("stdout is not one JSON object: %v\n%s", err, out)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^bench: loaded in \d+ ms, [\d.]+ MB of weights`),
		regexp.MustCompile(`(?m)^bench: decode: run 1 of 2: [\d.e+]+ tokens/s$`),
		regexp.MustCompile(`(?m)^bench: decode: run 2 of 2: [\d.e+]+ tokens/s$`),
		regexp.MustCompile(`(?m)^bench: ttft: run 2 of 2: [\d.e+]+ ms$`),
		regexp.MustCompile(`(?m)^bench: ttft: [\d.e+]+ ms \(median of 2 runs\)$`),
	} {
		if !want.MatchString(errOut) {
			t.Errorf("stderr lacks a line matching %s:\n%s", want, errOut)
		}
	}
}

// TestDaemonChecksModelAtStart: a --model that cannot load is reported on
// stderr at once, naming the path and why, before any client message;
// the daemon keeps serving, so the editor can hear it too.
func TestDaemonChecksModelAtStart(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-model")
	c := start(t, "--model", missing, "--stdio")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(c.stderr.String(), missing) {
		if time.Now().After(deadline) {
			t.Fatalf("no word of %s on stderr within 10 s of start:\n%s", missing, c.stderr.String())
		}
		select {
		case <-c.exited:
			t.Fatalf("nib exited (%v) instead of serving:\n%s", c.exitErr, c.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if msg := c.stderr.String(); !strings.Contains(msg, "no such folder") || !strings.Contains(msg, "error") {
		t.Errorf("start-up message %q: want an error saying the folder does not exist", msg)
	}
	// Still serving: initialize is answered, and the load it starts ends
	// with the same reason for the editor to show.
	if res := c.initialize(nil); res["capabilities"] == nil {
		t.Fatalf("initialize answered %v", res)
	}
	end := c.waitNotification("$/progress", func(p json.RawMessage) bool { return strings.Contains(string(p), `"kind":"end"`) })
	if !strings.Contains(string(end), "no-such-model") {
		t.Errorf("the load ended with %s; want the path named", end)
	}
	c.shutdown()
}

// TestReadmeFirstCommand runs the README's first set-up command, as a new
// user would, with nothing to download: it must print a continuation and
// nothing on stderr.
func TestReadmeFirstCommand(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "```sh\n")
	if !ok {
		t.Fatal("README.md has no sh block")
	}
	first, _, _ := strings.Cut(block, "\n")
	const prefix = "go run ./cmd/lsp "
	if !strings.HasPrefix(first, prefix) {
		t.Fatalf("README's first command %q does not start with %q", first, prefix)
	}
	// The built binary stands for `go run ./cmd/lsp`; the rest is run by
	// the shell from the checkout's root, as the README says.
	cmd := exec.Command("bash", "-c", `"$NIB" `+strings.TrimPrefix(first, prefix))
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "NIB="+binary, "HF_HUB_OFFLINE=1", "HF_ENDPOINT=http://127.0.0.1:9")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil || strings.TrimSpace(out.String()) == "" || errOut.Len() != 0 {
		t.Errorf("%s: %v; stdout %q, stderr %q", first, err, out.String(), errOut.String())
	}
}
