// Package hubtest is a fake Hugging Face hub for tests, in the manner of
// net/http/httptest: it answers the model-info API
// (/api/models/{id}/revision/{rev}?blobs=true) and file downloads
// (/{id}/resolve/{rev}/{file}) as huggingface.co does, redirecting Git LFS
// files to a second server standing for the CDN. Switches make it
// misbehave: demand a token, gate a repository, cut or stall a download
// once, ignore Range, corrupt a file.
package hubtest

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is a fake hub. Its methods may be called while it serves.
type Server struct {
	// URL is the hub's endpoint, for hub.PullOptions.Endpoint or
	// HF_ENDPOINT.
	URL string
	// CDNURL is where LFS downloads are redirected: another host, so
	// that a client sending its token there can be caught.
	CDNURL string

	hub, cdn *httptest.Server

	mu          sync.Mutex
	repos       map[string]*repo
	objects     map[string][]byte // LFS objects by sha256
	token       string
	gated       map[string]bool
	ignoreRange bool
	faults      map[string]fault // by file name
	corrupt     map[string]bool
	requests    []Request
	commits     int
}

// Request is a request the server received.
type Request struct {
	// Server is "hub" or "cdn".
	Server string
	// Path is the URL path, unescaped; Query the raw query.
	Path, Query string
	// Range and Authorization are the request's headers of those names.
	Range, Authorization string
	// Status is the status code answered.
	Status int
}

// fault is a one-time misbehaviour on a file download.
type fault struct {
	after int64
	stall bool // hold the connection until the client leaves, rather than closing it
}

type repo struct {
	refs    map[string]string // branch or tag -> commit
	commits map[string]map[string]file
}

type file struct {
	data   []byte
	blobID string // Git blob id of what Git stores: the data, or the LFS pointer
	sha256 string // set for LFS files
}

// NewServer starts a fake hub; Close stops it.
func NewServer() *Server {
	s := &Server{
		repos:   map[string]*repo{},
		objects: map[string][]byte{},
		gated:   map[string]bool{},
		faults:  map[string]fault{},
		corrupt: map[string]bool{},
	}
	s.hub = httptest.NewServer(http.HandlerFunc(s.serveHub))
	s.cdn = httptest.NewServer(http.HandlerFunc(s.serveCDN))
	s.URL, s.CDNURL = s.hub.URL, s.cdn.URL
	return s
}

// Close stops both servers.
func (s *Server) Close() {
	s.hub.Close()
	s.cdn.Close()
}

// AddRepo commits files as the new head of id's "main" branch, creating
// the repository if needed, and returns the commit hash. Files named
// *.safetensors, *.bin, *.model, *.msgpack, *.h5 or *.onnx, or larger
// than 10 MiB, are stored in Git LFS, as the hub's default .gitattributes
// has it.
func (s *Server) AddRepo(id string, files map[string][]byte) (commit string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[id]
	if r == nil {
		r = &repo{refs: map[string]string{}, commits: map[string]map[string]file{}}
		s.repos[id] = r
	}
	s.commits++
	h := sha1.New()
	fmt.Fprintf(h, "%s %d\n", id, s.commits)
	stored := map[string]file{}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		data := files[name]
		f := file{data: data}
		if isLFS(name, len(data)) {
			sum := sha256.Sum256(data)
			f.sha256 = hex.EncodeToString(sum[:])
			pointer := fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", f.sha256, len(data))
			f.blobID = BlobID([]byte(pointer))
			s.objects[f.sha256] = data
		} else {
			f.blobID = BlobID(data)
		}
		stored[name] = f
		fmt.Fprintf(h, "%s %s\n", name, f.blobID)
	}
	commit = hex.EncodeToString(h.Sum(nil))
	r.commits[commit] = stored
	r.refs["main"] = commit
	return commit
}

// AddDir commits the named files of folder dir (every regular file when
// none are named) to id, as AddRepo does.
func (s *Server) AddDir(id, dir string, names ...string) (commit string, err error) {
	if len(names) == 0 {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return "", err
		}
		for _, e := range entries {
			if e.Type().IsRegular() {
				names = append(names, e.Name())
			}
		}
	}
	files := map[string][]byte{}
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "", err
		}
		files[name] = b
	}
	return s.AddRepo(id, files), nil
}

// SetRef points branch or tag rev of id, a repository AddRepo made, at
// commit.
func (s *Server) SetRef(id, rev, commit string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[id].refs[rev] = commit
}

// RequireToken makes every hub request (not CDN ones, which are signed)
// need "Authorization: Bearer token"; others get 401. Empty lifts it.
func (s *Server) RequireToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// Gate makes id a gated repository whose terms the caller has not
// accepted: its listing is public, its files answer 403.
func (s *Server) Gate(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gated[id] = true
}

// IgnoreRange makes downloads answer 200 with the whole file even when
// asked for a range, as some mirrors and proxies do.
func (s *Server) IgnoreRange(ignore bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ignoreRange = ignore
}

// CutOnce makes the next download of the file called name close the
// connection after sending after bytes of it.
func (s *Server) CutOnce(name string, after int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[name] = fault{after: after}
}

// StallOnce makes the next download of the file called name send after
// bytes of it and then nothing, holding the connection until the client
// gives up (or 30 seconds pass).
func (s *Server) StallOnce(name string, after int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[name] = fault{after: after, stall: true}
}

// Corrupt makes downloads of the file called name serve one byte changed,
// so they no longer match the hash the listing gives.
func (s *Server) Corrupt(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corrupt[name] = true
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Downloads returns the requests that fetched file content: those to
// /{id}/resolve/ on the hub and all CDN ones.
func (s *Server) Downloads() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Server == "cdn" || strings.Contains(r.Path, "/resolve/") {
			out = append(out, r)
		}
	}
	return out
}

// BlobID is Git's blob id of data: the SHA-1 of "blob <len>\x00" and data.
func BlobID(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

func isLFS(name string, size int) bool {
	switch filepath.Ext(name) {
	case ".safetensors", ".bin", ".model", ".msgpack", ".h5", ".onnx":
		return true
	}
	return size > 10<<20
}

// record notes a request and the status answered.
func (s *Server) record(server string, r *http.Request, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Server: server, Path: r.URL.Path, Query: r.URL.RawQuery,
		Range: r.Header.Get("Range"), Authorization: r.Header.Get("Authorization"), Status: status})
}

// fail answers an error the way the hub does: X-Error-Code and
// X-Error-Message headers and a JSON body.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, server string, status int, code, msg string) {
	s.record(server, r, status)
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	w.Header().Set("X-Error-Message", msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (s *Server) serveHub(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	token := s.token
	s.mu.Unlock()
	if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
		msg := "Invalid credentials in Authorization header"
		if r.Header.Get("Authorization") == "" {
			msg = "Access to this resource is restricted. You must be authenticated to access it."
		}
		s.fail(w, r, "hub", http.StatusUnauthorized, "", msg)
		return
	}
	path := r.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(path, "/api/models/"); ok {
		id, rev, ok := strings.Cut(rest, "/revision/")
		if !ok {
			s.fail(w, r, "hub", http.StatusNotFound, "", "Not found")
			return
		}
		s.serveInfo(w, r, unescape(id), unescape(rev))
		return
	}
	id, rest, ok := strings.Cut(path, "/resolve/")
	if !ok {
		s.fail(w, r, "hub", http.StatusNotFound, "", "Not found")
		return
	}
	rev, name, _ := strings.Cut(rest, "/")
	s.serveResolve(w, r, unescape(strings.TrimPrefix(id, "/")), unescape(rev), unescape(name))
}

func unescape(s string) string {
	u, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	return u
}

// lookup finds a repository's files at a revision (branch, tag or commit).
func (s *Server) lookup(id, rev string) (files map[string]file, commit string, status int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[id]
	if r == nil {
		return nil, "", http.StatusNotFound, "RepoNotFound"
	}
	commit = rev
	if c, ok := r.refs[rev]; ok {
		commit = c
	}
	files = r.commits[commit]
	if files == nil {
		return nil, "", http.StatusNotFound, "RevisionNotFound"
	}
	return files, commit, http.StatusOK, ""
}

func (s *Server) serveInfo(w http.ResponseWriter, r *http.Request, id, rev string) {
	files, commit, status, code := s.lookup(id, rev)
	if status != http.StatusOK {
		s.fail(w, r, "hub", status, code, fmt.Sprintf("%s: %s@%s", code, id, rev))
		return
	}
	type lfs struct {
		SHA256      string `json:"sha256"`
		Size        int    `json:"size"`
		PointerSize int    `json:"pointerSize"`
	}
	type sibling struct {
		Name   string `json:"rfilename"`
		Size   int    `json:"size,omitempty"`
		BlobID string `json:"blobId,omitempty"`
		LFS    *lfs   `json:"lfs,omitempty"`
	}
	blobs := r.URL.Query().Get("blobs") == "true"
	var siblings []sibling
	for name, f := range files {
		sib := sibling{Name: name}
		if blobs {
			sib.Size, sib.BlobID = len(f.data), f.blobID
			if f.sha256 != "" {
				sib.LFS = &lfs{SHA256: f.sha256, Size: len(f.data), PointerSize: 134}
			}
		}
		siblings = append(siblings, sib)
	}
	sort.Slice(siblings, func(i, j int) bool { return siblings[i].Name < siblings[j].Name })
	s.record("hub", r, http.StatusOK)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"_id": "fake", "id": id, "modelId": id, "sha": commit, "private": false,
		"gated": s.isGated(id), "lastModified": time.Unix(0, 0).UTC(), "siblings": siblings,
	})
}

func (s *Server) isGated(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gated[id]
}

func (s *Server) serveResolve(w http.ResponseWriter, r *http.Request, id, rev, name string) {
	files, commit, status, code := s.lookup(id, rev)
	if status != http.StatusOK {
		s.fail(w, r, "hub", status, code, fmt.Sprintf("%s: %s@%s", code, id, rev))
		return
	}
	if s.isGated(id) {
		s.fail(w, r, "hub", http.StatusForbidden, "GatedRepo",
			fmt.Sprintf("Access to model %s is restricted and you are not in the authorized list. Visit %s/%s to ask for access.", id, s.URL, id))
		return
	}
	f, ok := files[name]
	if !ok {
		s.fail(w, r, "hub", http.StatusNotFound, "EntryNotFound", name+" does not exist")
		return
	}
	w.Header().Set("X-Repo-Commit", commit)
	if f.sha256 != "" {
		s.record("hub", r, http.StatusFound)
		w.Header().Set("X-Linked-Etag", `"`+f.sha256+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(f.data)))
		w.Header().Set("ETag", `"`+f.blobID+`"`)
		q := url.Values{"name": {name}, "X-Amz-Signature": {"fake"}}
		http.Redirect(w, r, s.CDNURL+"/repos/"+f.sha256+"?"+q.Encode(), http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+f.blobID+`"`)
	s.serveContent(w, r, "hub", name, f.data)
}

func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request) {
	sha, _ := strings.CutPrefix(r.URL.Path, "/repos/")
	s.mu.Lock()
	data, ok := s.objects[sha]
	s.mu.Unlock()
	if !ok {
		s.fail(w, r, "cdn", http.StatusNotFound, "", "NoSuchKey")
		return
	}
	s.serveContent(w, r, "cdn", r.URL.Query().Get("name"), data)
}

// serveContent sends data, honouring "Range: bytes=N-" unless told not
// to, and applying the file's faults.
func (s *Server) serveContent(w http.ResponseWriter, r *http.Request, server, name string, data []byte) {
	s.mu.Lock()
	ignoreRange := s.ignoreRange
	fl, faulty := s.faults[name]
	delete(s.faults, name)
	if s.corrupt[name] && len(data) > 0 {
		data = append([]byte(nil), data...)
		data[len(data)/2] ^= 0xff
	}
	s.mu.Unlock()

	status, from := http.StatusOK, 0
	if rg := r.Header.Get("Range"); rg != "" && !ignoreRange {
		start, ok := strings.CutPrefix(rg, "bytes=")
		n, err := strconv.Atoi(strings.TrimSuffix(start, "-"))
		if !ok || !strings.HasSuffix(start, "-") || err != nil || n < 0 {
			s.fail(w, r, server, http.StatusBadRequest, "", "only Range: bytes=N- is supported")
			return
		}
		if n >= len(data) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(data)))
			s.fail(w, r, server, http.StatusRequestedRangeNotSatisfiable, "", "range not satisfiable")
			return
		}
		status, from = http.StatusPartialContent, n
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", n, len(data)-1, len(data)))
	}
	s.record(server, r, status)
	body := data[from:]
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Accept-Ranges", "bytes")
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(status)
	if !faulty {
		w.Write(body)
		return
	}
	w.Write(body[:min(int(fl.after), len(body))])
	w.(http.Flusher).Flush()
	if fl.stall {
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}
	// Close the connection mid-body; the client sees an unexpected EOF.
	panic(http.ErrAbortHandler)
}
