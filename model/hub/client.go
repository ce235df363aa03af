package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Knobs of the HTTP side; variables so that tests can shrink them.
var (
	// retryDelay is the pause before the first retry of a failed request;
	// later retries wait proportionally longer.
	retryDelay = time.Second
	// stallTimeout abandons a request whose server has sent nothing for
	// this long (headers or body), so a dead connection is retried
	// instead of hanging the pull.
	stallTimeout = time.Minute
)

const (
	// maxFailures is how many consecutive attempts without progress a
	// download or API call gets before Pull gives up.
	maxFailures = 5
	// maxRedirects bounds the redirects one request follows.
	maxRedirects = 10
	// maxInfoBytes bounds the model-info answer: a listing of thousands of
	// files is far below it, a misconfigured endpoint serving a large file
	// is not.
	maxInfoBytes = 32 << 20
	userAgent    = "nib (github.com/nib-editor/nib; hub-compatible with huggingface_hub)"
)

// puller holds one Pull's settings and state.
type puller struct {
	client   http.Client
	endpoint *url.URL
	id, rev  string
	token    string
	progress io.Writer

	// Set once the model info is known.
	repo, commit, locks string
}

func newPuller(endpoint *url.URL, id string, opts PullOptions) *puller {
	p := &puller{endpoint: endpoint, id: id, rev: opts.Revision, token: opts.Token, progress: opts.Progress}
	if opts.Client != nil {
		p.client = *opts.Client // a copy: the caller's client keeps its redirect policy
	}
	// Redirects are followed by hand so that the token goes only to the
	// endpoint's host, as huggingface_hub (through requests) does: the CDN
	// URLs the hub redirects LFS files to are signed, and S3-style servers
	// refuse a request carrying a second credential.
	p.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return p
}

// sibling is one file of a repository as the model-info API lists it.
type sibling struct {
	Name   string `json:"rfilename"`
	Size   int64  `json:"size"`
	BlobID string `json:"blobId"`
	LFS    *struct {
		SHA256 string `json:"sha256"`
		Size   int64  `json:"size"`
	} `json:"lfs"`
}

// etag names the file's blob in the cache, as huggingface_hub names it:
// the LFS object's SHA-256, else the Git blob id.
func (s *sibling) etag() string {
	if s.LFS != nil {
		return s.LFS.SHA256
	}
	return s.BlobID
}

// size is the file's length in bytes (for an LFS file, the object's, not
// the pointer's).
func (s *sibling) size() int64 {
	if s.LFS != nil {
		return s.LFS.Size
	}
	return s.Size
}

// modelInfo is the part of GET /api/models/{id}/revision/{rev} that Pull
// uses.
type modelInfo struct {
	Sha      string     `json:"sha"`
	Siblings []*sibling `json:"siblings"`

	byName map[string]*sibling // top-level files only
}

// modelInfo asks the hub for the commit rev points at and the repository's
// files with their hashes.
func (p *puller) modelInfo(ctx context.Context) (*modelInfo, error) {
	u := p.endpoint.JoinPath("api", "models", p.id, "revision")
	// The revision is one path segment even when it is refs/pr/1.
	u.RawPath = u.EscapedPath() + "/" + url.PathEscape(p.rev)
	u.Path += "/" + p.rev
	u.RawQuery = "blobs=true"
	where := u.Redacted()

	var info modelInfo
	err := p.retry(ctx, "model info", false, func() (bool, error) {
		resp, err := p.get(ctx, u, 0)
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, p.statusError(resp, where, "")
		}
		dec := json.NewDecoder(io.LimitReader(resp.Body, maxInfoBytes))
		if err := dec.Decode(&info); err != nil {
			var syntax *json.SyntaxError
			var typ *json.UnmarshalTypeError
			switch {
			case ctx.Err() != nil:
				return false, fmt.Errorf("hub: GET %s: %w", where, ctx.Err())
			case errors.As(err, &syntax), errors.As(err, &typ):
				return false, fmt.Errorf("hub: GET %s: not a model-info answer: %w", where, err)
			}
			return false, &netError{where: where, err: err}
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	if !isCommit(info.Sha) {
		return nil, fmt.Errorf("hub: GET %s: answer has no commit hash (sha %q)", where, info.Sha)
	}
	info.byName = map[string]*sibling{}
	for _, s := range info.Siblings {
		if s == nil || strings.Contains(s.Name, "/") {
			continue // nib reads only the top level
		}
		info.byName[s.Name] = s
	}
	return &info, nil
}

// check validates what the cache paths are made of, so that a strange
// listing cannot write outside the cache. Only the files Pull takes are
// checked: an odd file nib does not need is no reason to fail.
func (s *sibling) check() error {
	switch {
	case s.Name == "" || s.Name == "." || s.Name == ".." || strings.ContainsAny(s.Name, `\:`):
		return fmt.Errorf("file name %q not usable", s.Name)
	case s.LFS != nil && (len(s.LFS.SHA256) != 64 || !isLowerHex(s.LFS.SHA256)):
		return fmt.Errorf("%s: LFS sha256 %q is not 64 hex digits", s.Name, s.LFS.SHA256)
	case s.LFS == nil && (len(s.BlobID) != 40 || !isLowerHex(s.BlobID)):
		return fmt.Errorf("%s: blobId %q is not 40 hex digits (does the endpoint support ?blobs=true?)", s.Name, s.BlobID)
	case s.size() < 0:
		return fmt.Errorf("%s: negative size", s.Name)
	}
	return nil
}

// fileURL is where the hub serves a file of the pulled commit.
func (p *puller) fileURL(name string) *url.URL {
	return p.endpoint.JoinPath(p.id, "resolve", p.commit, name)
}

// get sends GET u, asking for bytes from offset on when offset > 0, and
// follows redirects itself (see newPuller). The token goes only to the
// endpoint's host. A server silent for stallTimeout cancels the request;
// the returned body keeps the watchdog running while it is read.
func (p *puller) get(ctx context.Context, u *url.URL, offset int64) (*http.Response, error) {
	where := u.Redacted()
	rctx, cancel := context.WithCancelCause(ctx)
	watchdog := time.AfterFunc(stallTimeout, func() { cancel(errStalled) })
	stop := func() { watchdog.Stop(); cancel(nil) }
	for hop := 0; ; hop++ {
		req, err := http.NewRequestWithContext(rctx, http.MethodGet, u.String(), nil)
		if err != nil {
			stop()
			return nil, fmt.Errorf("hub: GET %s: %w", where, err)
		}
		req.Header.Set("User-Agent", userAgent)
		// Byte offsets for Range and the sizes in the listing are those of
		// the file itself, so no transparent compression (huggingface_hub
		// asks for identity too).
		req.Header.Set("Accept-Encoding", "identity")
		if p.token != "" && u.Host == p.endpoint.Host {
			req.Header.Set("Authorization", "Bearer "+p.token)
		}
		if offset > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
		}
		resp, err := p.client.Do(req)
		if err != nil {
			stop()
			if ctx.Err() != nil {
				return nil, fmt.Errorf("hub: GET %s: %w", where, ctx.Err())
			}
			if errors.Is(context.Cause(rctx), errStalled) {
				err = errStalled
			}
			return nil, &netError{where: where, err: err, noAnswer: true}
		}
		switch resp.StatusCode {
		case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
			http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		default:
			watchdog.Reset(stallTimeout)
			resp.Body = &watchedBody{ReadCloser: resp.Body, watchdog: watchdog, stop: stop, ctx: ctx, rctx: rctx}
			return resp, nil
		}
		loc := resp.Header.Get("Location")
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		resp.Body.Close()
		next, err := u.Parse(loc)
		if loc == "" || err != nil {
			stop()
			return nil, fmt.Errorf("hub: GET %s: redirect %d with a bad Location %q", where, resp.StatusCode, loc)
		}
		if hop == maxRedirects {
			stop()
			return nil, fmt.Errorf("hub: GET %s: more than %d redirects", where, maxRedirects)
		}
		u = next
	}
}

// errStalled is the cause of a request abandoned by the watchdog.
var errStalled = errors.New("the server sent nothing for too long")

// watchedBody pushes the stall watchdog back on every read and reports a
// stall or a cancellation as such rather than as a broken connection.
type watchedBody struct {
	io.ReadCloser
	watchdog  *time.Timer
	stop      func()
	ctx, rctx context.Context
}

func (b *watchedBody) Read(buf []byte) (int, error) {
	n, err := b.ReadCloser.Read(buf)
	if n > 0 {
		b.watchdog.Reset(stallTimeout)
	}
	if err != nil && err != io.EOF {
		if b.ctx.Err() != nil {
			err = b.ctx.Err()
		} else if errors.Is(context.Cause(b.rctx), errStalled) {
			err = errStalled
		}
	}
	return n, err
}

func (b *watchedBody) Close() error {
	err := b.ReadCloser.Close()
	b.stop()
	return err
}

// netError is a failure to talk to the server: worth retrying.
type netError struct {
	where string
	err   error
	// noAnswer is set when no response arrived at all: the network may be
	// down or the endpoint wrong.
	noAnswer bool
}

func (e *netError) Error() string {
	err := e.err
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its URL may be a long signed CDN one; where says enough
	}
	if e.noAnswer {
		return fmt.Sprintf("hub: GET %s: %v (is the network up, and HF_ENDPOINT right?)", e.where, err)
	}
	return fmt.Sprintf("hub: GET %s: %v", e.where, err)
}

func (e *netError) Unwrap() error { return e.err }

// StatusError is a hub's refusal of a request, with advice on what to do.
type StatusError struct {
	// URL is the request's URL, without credentials (the token travels
	// in a header and never appears).
	URL string
	// StatusCode is the HTTP status, such as 401 or 404.
	StatusCode int
	// Code and Message are the hub's X-Error-Code and X-Error-Message
	// (or the JSON "error" field), when it gave them.
	Code, Message string
	// Hint says what to do about it.
	Hint string
}

// Error says what was refused, what the hub said and what to do.
func (e *StatusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hub: GET %s: %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		fmt.Fprintf(&b, " (%s)", e.Message)
	}
	if e.Hint != "" {
		b.WriteString(": ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// retryable reports whether a later attempt may succeed.
func (e *StatusError) retryable() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// statusError turns a refusal into advice. file is empty for the
// model-info request.
func (p *puller) statusError(resp *http.Response, where, file string) error {
	e := &StatusError{URL: where, StatusCode: resp.StatusCode, Code: resp.Header.Get("X-Error-Code"), Message: resp.Header.Get("X-Error-Message")}
	if e.Message == "" && strings.Contains(resp.Header.Get("Content-Type"), "json") {
		var body struct {
			Error string `json:"error"`
		}
		if json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&body) == nil {
			e.Message = body.Error
		}
	}
	page := p.endpoint.JoinPath(p.id).String()
	switch {
	case resp.StatusCode == http.StatusUnauthorized && p.token == "":
		e.Hint = fmt.Sprintf("the repository is private or gated, or does not exist: set HF_TOKEN to a Hugging Face access token (%s/settings/tokens), and for a gated model accept its terms at %s", p.endpoint, page)
	case resp.StatusCode == http.StatusUnauthorized:
		e.Hint = fmt.Sprintf("the hub refused the token (from PullOptions, HF_TOKEN or the token file): check it at %s/settings/tokens; if the repository does not exist, check the id", p.endpoint)
	case resp.StatusCode == http.StatusForbidden:
		e.Hint = fmt.Sprintf("no access: for a gated model, accept its terms at %s with the account whose token is in HF_TOKEN; a fine-grained token also needs read access to the repository", page)
		if p.token == "" {
			e.Hint = "set HF_TOKEN to a Hugging Face access token; " + e.Hint
		}
	case resp.StatusCode == http.StatusNotFound && file == "":
		e.Hint = fmt.Sprintf("no repository %s with a revision %s (check both; a private repository looks absent without HF_TOKEN)", p.id, p.rev)
	case resp.StatusCode == http.StatusNotFound:
		e.Hint = fmt.Sprintf("the repository lists %s but the hub does not serve it at commit %s", file, p.commit)
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		e.Hint = "the server refused to resume the download"
	case e.retryable():
		e.Hint = "the hub is unavailable or rate-limiting; try again later"
	}
	return e
}

// retry runs attempt until it succeeds, fails for good, or fails
// maxFailures times in a row without progress. Network failures, 429 and
// 5xx answers are worth another try; cancellation, refusals and
// corruption are not. Requests that got no answer at all are retried
// only when retryNoAnswer is set: a pull's first request failing so
// usually means no network, which should be said at once.
func (p *puller) retry(ctx context.Context, what string, retryNoAnswer bool, attempt func() (progressed bool, err error)) error {
	failures := 0
	for {
		progressed, err := attempt()
		if err == nil {
			return nil
		}
		var se *StatusError
		var ne *netError
		switch {
		case ctx.Err() != nil:
			return err
		case errors.As(err, &se) && se.retryable(), errors.As(err, &ne) && (retryNoAnswer || !ne.noAnswer):
		default:
			return err
		}
		if progressed {
			failures = 0
		}
		failures++
		if failures >= maxFailures {
			return err
		}
		delay := retryDelay * time.Duration(failures)
		if p.progress != nil {
			fmt.Fprintf(p.progress, "\n%s: %v; retrying in %v\n", what, err, delay)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("hub: %s: %w (while waiting to retry after: %v)", what, ctx.Err(), err)
		case <-time.After(delay):
		}
	}
}
