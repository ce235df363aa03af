package hub_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nib-editor/nib/model/hub"
	"github.com/nib-editor/nib/model/hub/hubtest"
)

// fixture is a complete tiny T5 folder in Hugging Face layout.
const fixture = "../../../shared/fixtures/t5-tiny-gated"

// modelFiles are the fixture's files nib needs; a pull must bring exactly
// these.
var modelFiles = []string{"config.json", "model.safetensors", "spiece.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}

const tinyID = "google/flan-t5-tiny"

func newHub(t *testing.T) *hubtest.Server {
	t.Helper()
	s := hubtest.NewServer()
	t.Cleanup(s.Close)
	return s
}

// addFixture publishes the fixture as id, with files nib must skip beside
// it, and returns the commit and the files.
func addFixture(t *testing.T, s *hubtest.Server, id string) (string, map[string][]byte) {
	t.Helper()
	files := map[string][]byte{}
	for _, name := range append(modelFiles, "reference.safetensors") {
		b, err := os.ReadFile(filepath.Join(fixture, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	files["README.md"] = []byte("# tiny\n")
	files["pytorch_model.bin"] = []byte("not a pickle")
	files["onnx/encoder_model.onnx"] = []byte("onnx")
	return s.AddRepo(id, files), files
}

// pullOpts are options for the fake hub s and a fresh cache.
func pullOpts(t *testing.T, s *hubtest.Server) hub.PullOptions {
	return hub.PullOptions{Endpoint: s.URL, CacheDir: t.TempDir()}
}

// checkSnapshot checks that dir holds exactly names, each with the content
// in files, each a relative symlink to its blob.
func checkSnapshot(t *testing.T, dir string, files map[string][]byte, names []string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := append([]string(nil), names...)
	slices.Sort(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("snapshot holds %v, want %v", got, want)
	}
	for _, name := range names {
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Error(err)
			continue
		}
		if !bytes.Equal(b, files[name]) {
			t.Errorf("%s: content differs from the hub's", name)
		}
		target, err := os.Readlink(path)
		if err != nil {
			t.Errorf("%s: not a symlink: %v", name, err)
			continue
		}
		if want := "../../blobs/" + etag(name, files[name]); target != want {
			t.Errorf("%s -> %s, want %s", name, target, want)
		}
	}
}

// etag is the blob name huggingface_hub gives a file, with hubtest's rule
// for which files are in LFS.
func etag(name string, data []byte) string {
	switch filepath.Ext(name) {
	case ".safetensors", ".bin", ".model":
		sum := sha256.Sum256(data)
		return hex.EncodeToString(sum[:])
	}
	return hubtest.BlobID(data)
}

// noLeftovers checks that blobs/ holds no partial downloads.
func noLeftovers(t *testing.T, repo string) {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(repo, "blobs", "*.incomplete"))
	if len(matches) > 0 {
		t.Errorf("partial downloads left: %v", matches)
	}
}

func TestPullThenResolve(t *testing.T) {
	s := newHub(t)
	commit, files := addFixture(t, s, tinyID)
	opts := pullOpts(t, s)
	var progress bytes.Buffer
	opts.Progress = &progress
	dir, err := hub.Pull(context.Background(), tinyID, opts)
	if err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(opts.CacheDir, "models--google--flan-t5-tiny")
	if want := filepath.Join(repo, "snapshots", commit); dir != want {
		t.Errorf("Pull = %s, want %s", dir, want)
	}
	checkSnapshot(t, dir, files, modelFiles)
	noLeftovers(t, repo)
	ref, err := os.ReadFile(filepath.Join(repo, "refs", "main"))
	if err != nil || string(ref) != commit {
		t.Errorf("refs/main = %q, %v; want %q without a newline", ref, err, commit)
	}
	for _, name := range []string{"model.safetensors", "config.json", "100%"} {
		if !strings.Contains(progress.String(), name) {
			t.Errorf("progress output lacks %q:\n%s", name, progress.String())
		}
	}

	t.Setenv("HF_HUB_CACHE", opts.CacheDir)
	for _, ref := range []string{tinyID, tinyID + "@main", tinyID + "@" + commit} {
		got, err := hub.Resolve(ref)
		if err != nil || got != dir {
			t.Errorf("Resolve(%s) = %s, %v; want %s", ref, got, err, dir)
		}
	}
}

func TestPullTwiceDownloadsNothing(t *testing.T) {
	s := newHub(t)
	addFixture(t, s, tinyID)
	opts := pullOpts(t, s)
	first, err := hub.Pull(context.Background(), tinyID, opts)
	if err != nil {
		t.Fatal(err)
	}
	before := len(s.Downloads())
	var progress bytes.Buffer
	opts.Progress = &progress
	second, err := hub.Pull(context.Background(), tinyID, opts)
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Errorf("second pull gave %s, first %s", second, first)
	}
	if extra := s.Downloads()[before:]; len(extra) > 0 {
		t.Errorf("second pull downloaded %v", extra)
	}
	if n := strings.Count(progress.String(), "cached"); n != len(modelFiles) {
		t.Errorf("second pull reported %d cached files, want %d:\n%s", n, len(modelFiles), progress.String())
	}

	// A snapshot entry deleted by hand is relinked from its blob, still
	// without a download.
	if err := os.Remove(filepath.Join(first, "config.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Pull(context.Background(), tinyID, opts); err != nil {
		t.Fatal(err)
	}
	if extra := s.Downloads()[before:]; len(extra) > 0 {
		t.Errorf("relinking downloaded %v", extra)
	}
	if _, err := os.Stat(filepath.Join(first, "config.json")); err != nil {
		t.Error(err)
	}
}

// weightDownloads returns the CDN downloads of model.safetensors.
func weightDownloads(s *hubtest.Server) []hubtest.Request {
	var out []hubtest.Request
	for _, r := range s.Downloads() {
		if r.Server == "cdn" && strings.Contains(r.Query, "name=model.safetensors") {
			out = append(out, r)
		}
	}
	return out
}

func TestPullResumes(t *testing.T) {
	const cut = 3 << 20
	tests := []struct {
		name        string
		ignoreRange bool
		wantStatus  int // of the resuming request
	}{
		{"range honoured", false, http.StatusPartialContent},
		{"range ignored", true, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newHub(t)
			_, files := addFixture(t, s, tinyID)
			s.IgnoreRange(tt.ignoreRange)
			s.CutOnce("model.safetensors", cut)
			opts := pullOpts(t, s)
			dir, err := hub.Pull(context.Background(), tinyID, opts)
			if err != nil {
				t.Fatal(err)
			}
			checkSnapshot(t, dir, files, modelFiles)
			noLeftovers(t, filepath.Dir(filepath.Dir(dir)))
			reqs := weightDownloads(s)
			if len(reqs) != 2 {
				t.Fatalf("weights requested %d times, want 2 (cut, resumed): %+v", len(reqs), reqs)
			}
			var from int
			if _, err := fmt.Sscanf(reqs[1].Range, "bytes=%d-", &from); err != nil || from <= 0 || from > cut {
				t.Errorf("resuming request has Range %q, want bytes=N- with 0 < N <= %d", reqs[1].Range, cut)
			}
			if reqs[0].Range != "" {
				t.Errorf("first request has Range %q", reqs[0].Range)
			}
			if reqs[1].Status != tt.wantStatus {
				t.Errorf("resume answered %d, want %d", reqs[1].Status, tt.wantStatus)
			}
		})
	}
}

// cancelAfter cancels a context once n bytes of the response to a
// request for file have been read, as a user pressing ^C mid-download.
type cancelAfter struct {
	file   string
	n      int64
	cancel context.CancelFunc

	mu   sync.Mutex
	read int64
}

func (c *cancelAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && r.URL.Query().Get("name") == c.file {
		resp.Body = &countingBody{ReadCloser: resp.Body, c: c}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	c *cancelAfter
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.c.mu.Lock()
	b.c.read += int64(n)
	if b.c.read >= b.c.n {
		b.c.cancel()
	}
	b.c.mu.Unlock()
	return n, err
}

// interruptedPull is a pull of tinyID from a new hub that was cancelled,
// as by ^C, once interruptAt bytes of the weights had been read; the hub
// stalls there once as well.
type interruptedPull struct {
	s     *hubtest.Server
	files map[string][]byte // the fixture's, by name
	opts  hub.PullOptions   // for the next pull: the plain client again
	repo  string            // the model's folder in opts.CacheDir
	blob  string            // the weights' blob; the partial one is blob+".incomplete"
}

// interruptAt is where interruptPull cuts the weights' download.
const interruptAt = 1 << 20

// interruptPull runs a pull and cancels it mid-download of the weights.
func interruptPull(t *testing.T) interruptedPull {
	t.Helper()
	p := interruptedPull{s: newHub(t)}
	_, p.files = addFixture(t, p.s, tinyID)
	p.s.StallOnce("model.safetensors", interruptAt)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p.opts = pullOpts(t, p.s)
	p.opts.Client = &http.Client{Transport: &cancelAfter{file: "model.safetensors", n: interruptAt, cancel: cancel}}
	if _, err := hub.Pull(ctx, tinyID, p.opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Pull = %v, want context.Canceled", err)
	}
	p.opts.Client = nil
	p.repo = filepath.Join(p.opts.CacheDir, "models--google--flan-t5-tiny")
	p.blob = filepath.Join(p.repo, "blobs", etag("model.safetensors", p.files["model.safetensors"]))
	return p
}

func TestPullCancelKeepsPartialForResume(t *testing.T) {
	in := interruptPull(t)
	fi, err := os.Stat(in.blob + ".incomplete")
	if err != nil {
		t.Fatalf("partial download not kept: %v", err)
	}
	if fi.Size() != interruptAt {
		t.Errorf("partial download has %d bytes, want %d", fi.Size(), interruptAt)
	}
	if _, err := os.Stat(filepath.Join(in.repo, "refs", "main")); err == nil {
		t.Error("refs/main written for an unfinished pull")
	}

	dir, err := hub.Pull(context.Background(), tinyID, in.opts)
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, dir, in.files, modelFiles)
	reqs := weightDownloads(in.s)
	if last := reqs[len(reqs)-1]; last.Range != fmt.Sprintf("bytes=%d-", interruptAt) || last.Status != http.StatusPartialContent {
		t.Errorf("second pull asked Range %q, answered %d; want bytes=%d-, 206", last.Range, last.Status, interruptAt)
	}
}

func TestPullRetriesStalledServer(t *testing.T) {
	defer hub.SetTimings(time.Millisecond, 300*time.Millisecond)()
	s := newHub(t)
	_, files := addFixture(t, s, tinyID)
	s.StallOnce("model.safetensors", 1<<20)
	dir, err := hub.Pull(context.Background(), tinyID, pullOpts(t, s))
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, dir, files, modelFiles)
	if reqs := weightDownloads(s); len(reqs) != 2 || reqs[1].Range != "bytes=1048576-" {
		t.Errorf("weights requests %+v, want a second one resuming at 1048576", reqs)
	}
}

func TestPullRejectsCorruption(t *testing.T) {
	tests := []struct {
		name, file string
	}{
		{"lfs sha256", "model.safetensors"},
		{"git blob id", "config.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newHub(t)
			_, files := addFixture(t, s, tinyID)
			s.Corrupt(tt.file)
			opts := pullOpts(t, s)
			_, err := hub.Pull(context.Background(), tinyID, opts)
			if err == nil || !strings.Contains(err.Error(), tt.file) || !strings.Contains(err.Error(), "corrupt") {
				t.Fatalf("Pull = %v, want an error calling %s corrupt", err, tt.file)
			}
			repo := filepath.Join(opts.CacheDir, "models--google--flan-t5-tiny")
			blob := filepath.Join(repo, "blobs", etag(tt.file, files[tt.file]))
			for _, p := range []string{blob, blob + ".incomplete", filepath.Join(repo, "refs", "main")} {
				if _, err := os.Stat(p); err == nil {
					t.Errorf("%s exists after a corrupt download", p)
				}
			}
			snaps, _ := filepath.Glob(filepath.Join(repo, "snapshots", "*", tt.file))
			if len(snaps) > 0 {
				t.Errorf("corrupt file linked into the snapshot: %v", snaps)
			}
		})
	}
}

// shardedRepo is a repository whose weights are split in two shards.
func shardedRepo(index string) map[string][]byte {
	return map[string][]byte{
		"config.json":                       []byte(`{"model_type": "t5"}`),
		"spiece.model":                      []byte("sentencepiece"),
		"model.safetensors.index.json":      []byte(index),
		"model-00001-of-00002.safetensors":  bytes.Repeat([]byte{1}, 5000),
		"model-00002-of-00002.safetensors":  bytes.Repeat([]byte{2}, 7000),
		"pytorch_model-00001-of-00002.bin":  []byte("pickle"),
		"pytorch_model.bin.index.json":      []byte("{}"),
		"unrelated-extra-file.safetensors":  []byte("not named by the index"),
		"flax_model-00001-of-00002.msgpack": []byte("flax"),
	}
}

func TestPullSharded(t *testing.T) {
	s := newHub(t)
	files := shardedRepo(`{"metadata": {"total_size": 12000}, "weight_map": {
		"shared.weight": "model-00001-of-00002.safetensors",
		"encoder.block.0.layer.0.SelfAttention.q.weight": "model-00001-of-00002.safetensors",
		"lm_head.weight": "model-00002-of-00002.safetensors"}}`)
	s.AddRepo("google/flan-t5-xxl", files)
	opts := pullOpts(t, s)
	dir, err := hub.Pull(context.Background(), "google/flan-t5-xxl", opts)
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, dir, files, []string{"config.json", "spiece.model", "model.safetensors.index.json",
		"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"})
	t.Setenv("HF_HUB_CACHE", opts.CacheDir)
	if got, err := hub.Resolve("google/flan-t5-xxl"); err != nil || got != dir {
		t.Errorf("Resolve = %s, %v; want %s", got, err, dir)
	}
}

func TestPullShardedErrors(t *testing.T) {
	tests := []struct {
		name, index, want string
	}{
		{"missing shard", `{"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00003-of-00003.safetensors"}}`, "model-00003-of-00003.safetensors"},
		{"shard outside the folder", `{"weight_map": {"a": "../model-00001-of-00002.safetensors"}}`, "not a .safetensors file beside the index"},
		{"empty", `{"weight_map": {}}`, "empty weight_map"},
		{"not json", `{"weight_map": `, "model.safetensors.index.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newHub(t)
			s.AddRepo("google/flan-t5-xxl", shardedRepo(tt.index))
			_, err := hub.Pull(context.Background(), "google/flan-t5-xxl", pullOpts(t, s))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Pull = %v, want an error mentioning %q", err, tt.want)
			}
			for _, r := range s.Downloads() {
				if strings.Contains(r.Path, "0000") || strings.Contains(r.Query, "0000") {
					t.Errorf("downloaded a shard despite a bad index: %+v", r)
				}
			}
		})
	}
}

func TestPullBinOnly(t *testing.T) {
	s := newHub(t)
	s.AddRepo("google/t5-old", map[string][]byte{
		"config.json":       []byte(`{}`),
		"spiece.model":      []byte("sp"),
		"pytorch_model.bin": []byte("pickle"),
	})
	opts := pullOpts(t, s)
	_, err := hub.Pull(context.Background(), "google/t5-old", opts)
	if !errors.Is(err, hub.ErrNoSafetensors) {
		t.Fatalf("Pull = %v, want ErrNoSafetensors", err)
	}
	for _, want := range []string{"pytorch_model.bin", "save_pretrained", "safe_serialization=True", "point nib at the folder"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if d := s.Downloads(); len(d) > 0 {
		t.Errorf("downloaded %+v", d)
	}
	if _, err := os.Stat(filepath.Join(opts.CacheDir, "models--google--t5-old")); err == nil {
		t.Error("the cache got a folder for a repository nib cannot use")
	}
}

func TestPullRefusesIncompleteRepos(t *testing.T) {
	tests := []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"no config", map[string][]byte{"model.safetensors": {1}, "spiece.model": {1}}, "no config.json"},
		{"no tokenizer", map[string][]byte{"config.json": {1}, "model.safetensors": {1}}, "neither spiece.model nor tokenizer.json"},
		{"no weights", map[string][]byte{"config.json": {1}, "tokenizer.json": {1}, "tf_model.h5": {1}}, "no model.safetensors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newHub(t)
			s.AddRepo("org/model", tt.files)
			_, err := hub.Pull(context.Background(), "org/model", pullOpts(t, s))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Pull = %v, want an error mentioning %q", err, tt.want)
			}
			if d := s.Downloads(); len(d) > 0 {
				t.Errorf("downloaded %+v", d)
			}
		})
	}
}

func TestPullHTTPErrors(t *testing.T) {
	closed := hubtest.NewServer()
	closed.Close()
	tests := []struct {
		name   string
		setup  func(s *hubtest.Server)
		id     string
		opts   hub.PullOptions
		status int      // 0 for a network error
		want   []string // in the message; the URL is always checked
		url    string   // path of the URL the message must name
	}{
		{"401 without token", func(s *hubtest.Server) { s.RequireToken("hf_right") }, tinyID, hub.PullOptions{},
			401, []string{"HF_TOKEN", "gated"}, "/api/models/google/flan-t5-tiny/revision/main?blobs=true"},
		{"401 wrong token", func(s *hubtest.Server) { s.RequireToken("hf_right") }, tinyID, hub.PullOptions{Token: "hf_wrong"},
			401, []string{"refused the token", "Invalid credentials"}, "/api/models/google/flan-t5-tiny/revision/main?blobs=true"},
		{"403 gated", func(s *hubtest.Server) { s.Gate(tinyID) }, tinyID, hub.PullOptions{Token: "hf_right"},
			403, []string{"accept its terms", "/google/flan-t5-tiny"}, "/google/flan-t5-tiny/resolve/"},
		{"404 repository", nil, "google/flan-t5-nope", hub.PullOptions{},
			404, []string{"no repository google/flan-t5-nope"}, "/api/models/google/flan-t5-nope/revision/main"},
		{"404 revision", nil, tinyID, hub.PullOptions{Revision: "v9"},
			404, []string{"revision v9", "RevisionNotFound"}, "/api/models/google/flan-t5-tiny/revision/v9"},
		{"network", nil, tinyID, hub.PullOptions{Endpoint: closed.URL},
			0, []string{"network"}, closed.URL + "/api/models/google/flan-t5-tiny/revision/main"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newHub(t)
			addFixture(t, s, tinyID)
			if tt.setup != nil {
				tt.setup(s)
			}
			opts := tt.opts
			if opts.Endpoint == "" {
				opts.Endpoint = s.URL
			}
			opts.CacheDir = t.TempDir()
			_, err := hub.Pull(context.Background(), tt.id, opts)
			if err == nil {
				t.Fatal("Pull succeeded")
			}
			msg := err.Error()
			url := tt.url
			if !strings.HasPrefix(url, "http") {
				url = s.URL + url
			}
			for _, want := range append(tt.want, url) {
				if !strings.Contains(msg, want) {
					t.Errorf("error lacks %q: %s", want, msg)
				}
			}
			if strings.Contains(msg, "hf_wrong") || strings.Contains(msg, "hf_right") {
				t.Errorf("error shows a token: %s", msg)
			}
			noLeftovers(t, filepath.Join(opts.CacheDir, "models--google--flan-t5-tiny"))
			var se *hub.StatusError
			if tt.status != 0 && (!errors.As(err, &se) || se.StatusCode != tt.status) {
				t.Errorf("error %v is not a StatusError with status %d", err, tt.status)
			}
		})
	}
}

func TestPullEnvDefaults(t *testing.T) {
	tests := []struct {
		name string
		env  func(t *testing.T) // sets the token some way
	}{
		{"HF_TOKEN", func(t *testing.T) { t.Setenv("HF_TOKEN", "hf_secret") }},
		{"token file", func(t *testing.T) {
			home := t.TempDir()
			if err := os.WriteFile(filepath.Join(home, "token"), []byte("hf_secret\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv("HF_HOME", home)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newHub(t)
			_, files := addFixture(t, s, tinyID)
			s.RequireToken("hf_secret")
			cache := t.TempDir()
			t.Setenv("HF_ENDPOINT", s.URL)
			t.Setenv("HF_HUB_CACHE", cache)
			tt.env(t)
			dir, err := hub.Pull(context.Background(), tinyID, hub.PullOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(dir, cache) {
				t.Errorf("pulled into %s, want under HF_HUB_CACHE %s", dir, cache)
			}
			checkSnapshot(t, dir, files, modelFiles)
			for _, r := range s.Requests() {
				switch {
				case r.Server == "hub" && r.Authorization != "Bearer hf_secret":
					t.Errorf("hub request %s had Authorization %q", r.Path, r.Authorization)
				case r.Server == "cdn" && r.Authorization != "":
					t.Errorf("token sent to the CDN host: %+v", r)
				}
			}
		})
	}
}

func TestPullRevisions(t *testing.T) {
	s := newHub(t)
	v1 := s.AddRepo(tinyID, map[string][]byte{"config.json": []byte("v1"), "spiece.model": {1}, "model.safetensors": {1}})
	s.SetRef(tinyID, "v1.0", v1)
	s.SetRef(tinyID, "refs/pr/1", v1)
	_, files := addFixture(t, s, tinyID) // main moves on
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_ENDPOINT", s.URL)
	repo := filepath.Join(cache, "models--google--flan-t5-tiny")

	for _, tc := range []struct {
		id, revision, refFile string
	}{
		{tinyID, "v1.0", "v1.0"},
		{tinyID + "@v1.0", "", "v1.0"},
		{tinyID, "refs/pr/1", "refs/pr/1"},
		{tinyID, v1, ""},
	} {
		t.Run(tc.id+"@"+tc.revision, func(t *testing.T) {
			dir, err := hub.Pull(context.Background(), tc.id, hub.PullOptions{Revision: tc.revision})
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(repo, "snapshots", v1); dir != want {
				t.Errorf("Pull = %s, want %s", dir, want)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "config.json")); string(b) != "v1" {
				t.Errorf("config.json = %q, want v1's", b)
			}
			ref := tc.id
			if tc.revision != "" {
				ref += "@" + tc.revision
			}
			if got, err := hub.Resolve(ref); err != nil || got != dir {
				t.Errorf("Resolve(%s) = %s, %v; want %s", ref, got, err, dir)
			}
			if tc.refFile != "" {
				if b, err := os.ReadFile(filepath.Join(repo, "refs", filepath.FromSlash(tc.refFile))); err != nil || string(b) != v1 {
					t.Errorf("refs/%s = %q, %v; want %s", tc.refFile, b, err, v1)
				}
			}
		})
	}
	if _, err := hub.Resolve(tinyID); !errors.Is(err, hub.ErrNotCached) {
		t.Errorf("Resolve(main) before pulling main = %v, want ErrNotCached", err)
	}
	dir, err := hub.Pull(context.Background(), tinyID, hub.PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, dir, files, modelFiles)
	if _, err := hub.Pull(context.Background(), tinyID+"@v1.0", hub.PullOptions{Revision: "main"}); err == nil {
		t.Error("Pull accepted two different revisions")
	}
}

func TestPullCopiesWithoutSymlinks(t *testing.T) {
	defer hub.BreakSymlinks()()
	s := newHub(t)
	_, files := addFixture(t, s, tinyID)
	opts := pullOpts(t, s)
	dir, err := hub.Pull(context.Background(), tinyID, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range modelFiles {
		fi, err := os.Lstat(filepath.Join(dir, name))
		if err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s: %v, %v; want a regular file", name, fi, err)
			continue
		}
		if b, _ := os.ReadFile(filepath.Join(dir, name)); !bytes.Equal(b, files[name]) {
			t.Errorf("%s: content differs", name)
		}
	}
	t.Setenv("HF_HUB_CACHE", opts.CacheDir)
	if got, err := hub.Resolve(tinyID); err != nil || got != dir {
		t.Errorf("Resolve = %s, %v; want %s", got, err, dir)
	}
}

func TestPullConcurrent(t *testing.T) {
	s := newHub(t)
	_, files := addFixture(t, s, tinyID)
	opts := pullOpts(t, s)
	const n = 4
	dirs, errs := make([]string, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dirs[i], errs[i] = hub.Pull(context.Background(), tinyID, opts)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if dirs[i] != dirs[0] {
			t.Errorf("pull %d gave %s, pull 0 %s", i, dirs[i], dirs[0])
		}
	}
	checkSnapshot(t, dirs[0], files, modelFiles)
	// The lock lets one pull download each blob; the others find it done.
	// Without locks (lock_other.go) each pull may download it.
	if got := len(weightDownloads(s)); got != 1 && runtime.GOOS != "windows" {
		t.Errorf("weights downloaded %d times, want 1", got)
	}
}

func TestPullRejectsBadInput(t *testing.T) {
	tests := []struct {
		id   string
		opts hub.PullOptions
		want string
	}{
		{"../../etc", hub.PullOptions{}, "not a hub model id"},
		{"a/b/c", hub.PullOptions{}, "not a hub model id"},
		{"google/flan--t5", hub.PullOptions{}, "not a hub model id"},
		{tinyID, hub.PullOptions{Revision: "../../x"}, "revision"},
		{tinyID, hub.PullOptions{Endpoint: "ftp://example.com"}, "not an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			tt.opts.CacheDir = t.TempDir()
			_, err := hub.Pull(context.Background(), tt.id, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Pull = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}
