package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nib-editor/nib/model/internal/modelfile"
)

// ErrNotCached is wrapped by Resolve's error when a hub id has no complete
// snapshot in the cache. Running `nib pull <id>` (or Pull) cures it.
var ErrNotCached = errors.New("hub: model not downloaded")

// DefaultRevision is the revision Resolve and Pull use when none is given.
const DefaultRevision = "main"

// CacheDir returns the Hugging Face hub cache folder, chosen the way
// huggingface_hub chooses it so that nib and Python share downloads:
// $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE (its former name), else
// $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub. A leading ~ in a variable means the home
// directory, as Python's expanduser has it. The folder need not exist.
func CacheDir() string {
	if d := envPath("HF_HUB_CACHE"); d != "" {
		return d
	}
	if d := envPath("HUGGINGFACE_HUB_CACHE"); d != "" {
		return d
	}
	return filepath.Join(hfHome(), "hub")
}

// hfHome is huggingface_hub's HF_HOME: the cache, the token file and its
// other state live under it.
func hfHome() string {
	if d := envPath("HF_HOME"); d != "" {
		return d
	}
	if d := envPath("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "huggingface")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		// No $HOME (a bare service account): somewhere writable beats a
		// path relative to whatever the working directory happens to be.
		home = os.TempDir()
	}
	return filepath.Join(home, ".cache", "huggingface")
}

// envPath reads a path from the environment, expanding a leading ~. Python
// treats an empty variable as set-but-empty for these paths, but an empty
// cache path is useless, so here it counts as unset.
func envPath(name string) string {
	p := os.Getenv(name)
	if p == "~" || strings.HasPrefix(p, "~/") || strings.HasPrefix(p, `~`+string(filepath.Separator)) {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, p[1:])
		}
	}
	return p
}

// Resolve turns a model reference into a local folder. A reference naming
// an existing directory is returned as is, unchecked. Otherwise it must be
// a hub id such as "google/flan-t5-base", optionally followed by
// "@<revision>" (a branch, tag or commit; "main" by default), and Resolve
// looks it up in CacheDir() without using the network: refs/<revision>
// gives the commit, and snapshots/<commit> must hold config.json,
// safetensors weights (every shard an index names) and a tokenizer
// (spiece.model or tokenizer.json). When it does not, the error wraps
// ErrNotCached, says where Resolve looked and suggests `nib pull`.
func Resolve(ref string) (dir string, err error) {
	if ref == "" {
		return "", errors.New("hub: empty model reference")
	}
	if fi, err := os.Stat(ref); err == nil {
		if !fi.IsDir() {
			return "", fmt.Errorf("hub: %s is a file; give the folder that holds config.json and the weights", ref)
		}
		return ref, nil
	}
	id, rev := splitRef(ref)
	// Paths that do not exist (absolute, ./x, a/b/c) fail validID too.
	if validID(id) != nil || validRevision(rev) != nil {
		return "", fmt.Errorf("hub: %s: no such folder, and not a hub id such as google/flan-t5-base", ref)
	}
	return lookup(CacheDir(), id, rev)
}

// lookup finds the snapshot of id at rev under cache.
func lookup(cache, id, rev string) (string, error) {
	repo := filepath.Join(cache, repoFolder(id))
	commit := rev
	if !isCommit(rev) {
		refPath := filepath.Join(repo, "refs", filepath.FromSlash(rev))
		b, err := modelfile.ReadFile(refPath, modelfile.RefLimit)
		if errors.Is(err, fs.ErrNotExist) {
			return "", notCached(id, rev, fmt.Sprintf("looked for %s", refPath))
		}
		if err != nil {
			return "", notCached(id, rev, err.Error())
		}
		commit = strings.TrimSpace(string(b))
		if !isCommit(commit) {
			return "", fmt.Errorf("hub: %s holds %q, not a commit hash; delete it and run `%s`", refPath, commit, pullHint(id, rev))
		}
	}
	dir := filepath.Join(repo, "snapshots", commit)
	if _, err := os.Stat(dir); err != nil {
		return "", notCached(id, rev, fmt.Sprintf("looked for %s", dir))
	}
	if missing := missingFiles(dir); len(missing) > 0 {
		return "", notCached(id, rev, fmt.Sprintf("%s lacks %s", dir, strings.Join(missing, ", ")))
	}
	return dir, nil
}

// notCached is Resolve's answer for a model that Pull would fetch.
func notCached(id, rev, where string) error {
	ref := id
	if rev != DefaultRevision {
		ref += "@" + rev
	}
	return fmt.Errorf("%w: %s is neither a folder nor in the Hugging Face cache (%s; HF_HUB_CACHE or HF_HOME choose the cache); run `%s` to download it",
		ErrNotCached, ref, where, pullHint(id, rev))
}

// pullHint is the command that downloads id at rev.
func pullHint(id, rev string) string {
	if rev == DefaultRevision {
		return "nib pull " + id
	}
	return "nib pull --revision " + rev + " " + id
}

// missingFiles lists what a snapshot lacks for nib to load it. Folders a
// Python user filled with hf_hub_download may hold only some files, and
// loading should not be the first to find out.
func missingFiles(dir string) []string {
	var missing []string
	have := func(name string) bool {
		fi, err := os.Stat(filepath.Join(dir, name)) // follows the symlink: a dangling one is missing
		return err == nil && fi.Mode().IsRegular()
	}
	if !have(fileConfig) {
		missing = append(missing, fileConfig)
	}
	switch {
	case have(fileWeights):
	case have(fileIndex):
		shards, err := readIndex(filepath.Join(dir, fileIndex))
		if err != nil {
			missing = append(missing, fmt.Sprintf("a readable %s (%v)", fileIndex, err))
		}
		for _, s := range shards {
			if !have(s) {
				missing = append(missing, s)
			}
		}
	default:
		missing = append(missing, fileWeights)
	}
	if !have(fileSpiece) && !have(fileTokenizerJSON) {
		missing = append(missing, fileSpiece+" or "+fileTokenizerJSON)
	}
	return missing
}

// readIndex returns the shard files a model.safetensors.index.json names,
// sorted and without repeats. Shard names must be plain file names in the
// same folder, since they become paths in the cache.
func readIndex(path string) ([]string, error) {
	raw, err := modelfile.ReadFile(path, modelfile.IndexLimit)
	if err != nil {
		return nil, err
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("hub: %s: %w", path, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("hub: %s: empty weight_map", path)
	}
	seen := map[string]bool{}
	var shards []string
	for tensor, s := range idx.WeightMap {
		if !validShardName(s) {
			return nil, fmt.Errorf("hub: %s: tensor %s is in %q, not a .safetensors file beside the index", path, tensor, s)
		}
		if !seen[s] {
			seen[s] = true
			shards = append(shards, s)
		}
	}
	sort.Strings(shards)
	return shards, nil
}

// validShardName accepts the names transformers gives shards
// (model-00001-of-00002.safetensors) and anything else that stays in the
// snapshot folder.
func validShardName(s string) bool {
	return strings.HasSuffix(s, ".safetensors") && s != ".safetensors" && !strings.ContainsAny(s, `/\:`)
}

// repoFolder is huggingface_hub's folder name for a model repository.
func repoFolder(id string) string {
	return "models--" + strings.ReplaceAll(id, "/", "--")
}

// splitRef splits "id@revision"; the revision defaults to "main". Hub ids
// cannot contain '@', while revisions such as "refs/pr/1" contain '/', so
// the first '@' separates them.
func splitRef(ref string) (id, rev string) {
	id, rev, ok := strings.Cut(ref, "@")
	if !ok {
		rev = DefaultRevision
	}
	return id, rev
}

// validID checks a hub repository id as huggingface_hub's validate_repo_id
// does ("name" or "namespace/name", letters, digits, '-', '_', '.', no
// "--" or "..", at most 96 characters). It also keeps ids from escaping
// the cache folder or the URL path.
func validID(id string) error {
	bad := func(why string) error {
		return fmt.Errorf("hub: %q is not a hub model id (like google/flan-t5-base): %s", id, why)
	}
	if id == "" || len(id) > 96 {
		return bad("it must have 1 to 96 characters")
	}
	if strings.Contains(id, "--") || strings.Contains(id, "..") {
		return bad(`"--" and ".." are not allowed`)
	}
	parts := strings.Split(id, "/")
	if len(parts) > 2 {
		return bad("at most one '/'")
	}
	for _, p := range parts {
		if p == "" {
			return bad("empty namespace or name")
		}
		for i := 0; i < len(p); i++ {
			c := p[i]
			word := c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
			if !word && c != '-' && c != '.' {
				return bad(fmt.Sprintf("character %q", c))
			}
			if !word && (i == 0 || i == len(p)-1) {
				return bad("names start and end with a letter, digit or '_'")
			}
		}
	}
	return nil
}

// validRevision checks a branch, tag or commit name. Revisions become
// paths under refs/ (refs/pr/1 included), so no component may climb out.
func validRevision(rev string) error {
	if rev == "" || len(rev) > 255 {
		return fmt.Errorf("hub: revision %q: must have 1 to 255 characters", rev)
	}
	for _, c := range rev {
		if c < ' ' || c == 0x7f || c == '\\' || c == ':' {
			return fmt.Errorf("hub: revision %q: character %q not allowed", rev, c)
		}
	}
	for _, part := range strings.Split(rev, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("hub: revision %q: empty, '.' or '..' path component", rev)
		}
	}
	return nil
}

// isCommit reports whether s is a full Git commit hash as the hub writes
// them (40 lowercase hex digits).
func isCommit(s string) bool {
	return len(s) == 40 && isLowerHex(s)
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return s != ""
}
