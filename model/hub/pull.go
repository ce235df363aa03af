package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nib-editor/nib/model/internal/modelfile"
)

// DefaultEndpoint is the hub Pull uses when neither PullOptions.Endpoint
// nor $HF_ENDPOINT names one.
const DefaultEndpoint = "https://huggingface.co"

// Names of the files nib reads from a model repository.
const (
	fileConfig           = "config.json"
	fileGenerationConfig = "generation_config.json"
	fileWeights          = "model.safetensors"
	fileIndex            = "model.safetensors.index.json"
	fileSpiece           = "spiece.model"
	fileTokenizerJSON    = "tokenizer.json"
	fileTokenizerConfig  = "tokenizer_config.json"
	fileSpecialTokens    = "special_tokens_map.json"
)

// ErrNoSafetensors is wrapped by Pull's error when a repository offers no
// safetensors weights, typically only PyTorch's pytorch_model.bin, which
// nib does not read (it is a Python pickle). Nothing is downloaded then.
var ErrNoSafetensors = errors.New("hub: no safetensors weights")

// PullOptions adjusts Pull. The zero value pulls "main" from
// $HF_ENDPOINT or huggingface.co into CacheDir(), quietly.
type PullOptions struct {
	// Endpoint is the hub's base URL; default $HF_ENDPOINT, else
	// DefaultEndpoint.
	Endpoint string
	// Token is sent as "Authorization: Bearer <token>" to the endpoint's
	// host (never to the hosts it redirects downloads to); default
	// $HF_TOKEN, else the token file `hf auth login` writes
	// ($HF_TOKEN_PATH, else $HF_HOME/token). Empty sends none.
	Token string
	// Revision is a branch, tag or commit; default "main". An id of the
	// form "org/name@revision" gives it too.
	Revision string
	// CacheDir is the hub cache to fill; default CacheDir().
	CacheDir string
	// Progress receives a progress line per file, redrawn with carriage
	// returns (the CLI passes stderr); nil for none.
	Progress io.Writer
	// Client makes the requests; default one on http.DefaultTransport
	// with no overall time limit, since downloads are large. Pull uses a
	// copy whose redirects it follows itself (see Token); the caller's is
	// untouched. Whatever the client, a request whose server sends
	// nothing for a minute is abandoned and retried.
	Client *http.Client
}

// Pull downloads the files nib needs from hub repository id into the
// cache layout huggingface_hub uses, and returns the snapshot folder,
// CacheDir/models--<org>--<name>/snapshots/<commit>. The files are
// config.json, model.safetensors or model.safetensors.index.json and every
// shard it names, and, where the repository has them,
// generation_config.json, spiece.model, tokenizer.json,
// tokenizer_config.json and special_tokens_map.json; a repository without
// config.json or any tokenizer file is refused, and one without
// safetensors weights fails with ErrNoSafetensors before any download.
//
// Blobs already in the cache are not downloaded again; a partial download
// (blobs/<etag>.incomplete, left by a cancelled or failed pull) is resumed
// with a Range request, and a cut connection is retried the same way.
// Every download is checked against the hash the hub lists before it
// enters blobs/; a mismatch deletes it and fails. refs/<revision> is
// written last, once the snapshot is complete. Cancelling ctx stops the
// download in progress, keeping what arrived for the next pull.
func Pull(ctx context.Context, id string, opts PullOptions) (dir string, err error) {
	if i := strings.IndexByte(id, '@'); i >= 0 {
		if opts.Revision != "" && opts.Revision != id[i+1:] {
			return "", fmt.Errorf("hub: %s names revision %s but the options say %s", id, id[i+1:], opts.Revision)
		}
		id, opts.Revision = id[:i], id[i+1:]
	}
	if err := validID(id); err != nil {
		return "", err
	}
	if opts.Revision == "" {
		opts.Revision = DefaultRevision
	}
	if err := validRevision(opts.Revision); err != nil {
		return "", err
	}
	if opts.Endpoint == "" {
		opts.Endpoint = os.Getenv("HF_ENDPOINT")
	}
	if opts.Endpoint == "" {
		opts.Endpoint = DefaultEndpoint
	}
	endpoint, err := url.Parse(strings.TrimRight(opts.Endpoint, "/"))
	if err != nil || endpoint.Scheme != "http" && endpoint.Scheme != "https" || endpoint.Host == "" {
		return "", fmt.Errorf("hub: endpoint %q is not an http(s) URL (check HF_ENDPOINT)", opts.Endpoint)
	}
	if opts.Token == "" {
		opts.Token = envToken()
	}
	if opts.CacheDir == "" {
		opts.CacheDir = CacheDir()
	}

	p := newPuller(endpoint, id, opts)
	info, err := p.modelInfo(ctx)
	if err != nil {
		return "", err
	}
	files, err := chooseFiles(id, opts.Revision, info)
	if err != nil {
		return "", err
	}
	repo := filepath.Join(opts.CacheDir, repoFolder(id))
	snap := filepath.Join(repo, "snapshots", info.Sha)
	p.repo, p.commit = repo, info.Sha
	p.locks = filepath.Join(opts.CacheDir, ".locks", repoFolder(id))
	for _, f := range files {
		if err := p.fetch(ctx, f); err != nil {
			return "", err
		}
	}
	if _, ok := info.byName[fileWeights]; !ok {
		// Sharded: the index, fetched above, names the shards.
		shards, err := readIndex(filepath.Join(snap, fileIndex))
		if err != nil {
			return "", err
		}
		var absent []string
		for _, s := range shards {
			if _, ok := info.byName[s]; !ok {
				absent = append(absent, s)
			}
		}
		if len(absent) > 0 {
			return "", fmt.Errorf("hub: %s@%s: %s names shards the repository lacks: %s", id, opts.Revision, fileIndex, strings.Join(absent, ", "))
		}
		for _, s := range shards {
			if err := p.fetch(ctx, info.byName[s]); err != nil {
				return "", err
			}
		}
	}
	if opts.Revision != info.Sha {
		if err := writeRef(filepath.Join(repo, "refs", filepath.FromSlash(opts.Revision)), info.Sha); err != nil {
			return "", err
		}
	}
	return snap, nil
}

// chooseFiles picks the files nib needs from a repository listing, in
// download order: small ones first so a bad token or gate shows at once.
func chooseFiles(id, rev string, info *modelInfo) ([]*sibling, error) {
	var files []*sibling
	take := func(name string) bool {
		s, ok := info.byName[name]
		if ok {
			files = append(files, s)
		}
		return ok
	}
	if !take(fileConfig) {
		return nil, fmt.Errorf("hub: %s@%s has no %s; is it a transformers model repository?", id, rev, fileConfig)
	}
	take(fileGenerationConfig)
	tokenizer := take(fileSpiece)
	tokenizer = take(fileTokenizerJSON) || tokenizer
	if !tokenizer {
		return nil, fmt.Errorf("hub: %s@%s has neither %s nor %s, so nib cannot tokenize for it", id, rev, fileSpiece, fileTokenizerJSON)
	}
	take(fileTokenizerConfig)
	take(fileSpecialTokens)
	// A single file wins over an index when a repository has both.
	if take(fileWeights) || take(fileIndex) {
		return files, nil
	}
	return nil, noSafetensors(id, rev, info)
}

// noSafetensors explains what to do about a repository without
// safetensors weights.
func noSafetensors(id, rev string, info *modelInfo) error {
	var bins, names []string
	for name := range info.byName {
		names = append(names, name)
		if strings.HasSuffix(name, ".bin") || strings.HasSuffix(name, ".bin.index.json") {
			bins = append(bins, name)
		}
	}
	sort.Strings(bins)
	sort.Strings(names)
	ref := id
	if rev != DefaultRevision {
		ref += "@" + rev
	}
	if len(bins) == 0 {
		return fmt.Errorf("%w: %s has no %s or %s (files: %s)", ErrNoSafetensors, ref, fileWeights, fileIndex, strings.Join(names, ", "))
	}
	dir := path.Base(id) + "-safetensors"
	return fmt.Errorf("%w: %s has only PyTorch weights (%s), which nib does not read; nothing was downloaded. "+
		"Convert them once with transformers: "+
		"python -c 'from transformers import AutoModelForSeq2SeqLM as M, AutoTokenizer as T; "+
		"M.from_pretrained(\"%s\", revision=\"%s\").save_pretrained(\"%s\", safe_serialization=True); "+
		"T.from_pretrained(\"%s\", revision=\"%s\").save_pretrained(\"%s\")' "+
		"and point nib at the folder %s; or, if the hub has a pull request adding safetensors to the repository, "+
		"`nib pull --revision refs/pr/<N> %s`",
		ErrNoSafetensors, ref, strings.Join(bins, ", "), id, rev, dir, id, rev, dir, dir, id)
}

// envToken finds the token huggingface_hub would use: $HF_TOKEN (or its
// former name $HUGGING_FACE_HUB_TOKEN), else the file `hf auth login`
// wrote. An unreadable or absent file means no token.
func envToken() string {
	for _, name := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"} {
		if t := strings.TrimSpace(os.Getenv(name)); t != "" {
			return t
		}
	}
	p := envPath("HF_TOKEN_PATH")
	if p == "" {
		p = filepath.Join(hfHome(), "token")
	}
	b, err := modelfile.ReadFile(p, modelfile.RefLimit)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// writeRef records that rev pointed at commit, replacing the file whole so
// a reader never sees it half written.
func writeRef(path, commit string) error {
	if b, err := modelfile.ReadFile(path, modelfile.RefLimit); err == nil && string(b) == commit {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ref-*")
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	_, err = tmp.WriteString(commit) // no newline, as huggingface_hub writes it
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("hub: writing %s: %w", path, err)
	}
	return nil
}
