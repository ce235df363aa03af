package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// symlink makes snapshot pointers; a variable so tests can make it fail
// as it does on Windows without developer mode.
var symlink = os.Symlink

// fetch makes sure the snapshot holds file f: its blob downloaded and
// verified, and the snapshot entry pointing at it.
func (p *puller) fetch(ctx context.Context, f *sibling) error {
	if err := f.check(); err != nil {
		return fmt.Errorf("hub: %s@%s: the hub's file list is unusable: %w", p.id, p.rev, err)
	}
	blob := filepath.Join(p.repo, "blobs", f.etag())
	pointer := filepath.Join(p.repo, "snapshots", p.commit, f.Name)
	if fi, err := os.Stat(pointer); err == nil && fi.Mode().IsRegular() && fi.Size() == f.size() {
		newBar(p.progress, f.Name, f.size()).cached()
		return nil
	}
	if complete(blob, f.size()) {
		newBar(p.progress, f.Name, f.size()).cached()
		return link(blob, pointer)
	}
	unlock, err := lockFile(ctx, filepath.Join(p.locks, f.etag()+".lock"), func() {
		if p.progress != nil {
			fmt.Fprintf(p.progress, "%s: waiting for another download of it to finish\n", f.Name)
		}
	})
	if err != nil {
		return err
	}
	defer unlock()
	if complete(blob, f.size()) {
		// Another pull finished it while this one waited for the lock.
		newBar(p.progress, f.Name, f.size()).cached()
	} else if err := p.download(ctx, f, blob); err != nil {
		return err
	}
	return link(blob, pointer)
}

// complete reports whether blob is in the cache at its full size. Blobs
// enter the cache only verified, so the size is the check that catches
// a file damaged or truncated since; such a blob is removed for a fresh
// download.
func complete(blob string, size int64) bool {
	fi, err := os.Stat(blob)
	if err != nil {
		return false
	}
	if fi.Mode().IsRegular() && fi.Size() == size {
		return true
	}
	os.Remove(blob)
	return false
}

// download fetches f into blob through blob.incomplete, resuming what an
// earlier attempt left there, and renames it into place only once it
// matches the hub's hash.
func (p *puller) download(ctx context.Context, f *sibling, blob string) error {
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	part := blob + ".incomplete"
	u := p.fileURL(f.Name)
	bar := newBar(p.progress, f.Name, f.size())
	err := p.retry(ctx, f.Name, true, func() (bool, error) { return p.downloadOnce(ctx, u, part, f, bar) })
	bar.finish()
	if err != nil {
		if fi, serr := os.Stat(part); serr == nil && fi.Size() == 0 {
			os.Remove(part) // nothing to resume: leave no litter after a refusal
		}
		return err
	}
	if err := verify(part, f); err != nil {
		// Never resume from bytes known to be wrong.
		os.Remove(part)
		return fmt.Errorf("hub: %s: %w; the download was deleted, so the next pull starts afresh", u.Redacted(), err)
	}
	if err := os.Rename(part, blob); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	return nil
}

// downloadOnce makes one request for the rest of f, appending to part.
// progressed reports whether any bytes arrived, so that retry gives a
// connection that keeps breaking mid-file more chances than a dead one.
func (p *puller) downloadOnce(ctx context.Context, u *url.URL, part string, f *sibling, bar *bar) (progressed bool, err error) {
	where := u.Redacted()
	out, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return false, fmt.Errorf("hub: %w", err)
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("hub: writing %s: %w", part, cerr)
		}
	}()
	have, err := out.Seek(0, io.SeekEnd)
	if err != nil {
		return false, fmt.Errorf("hub: %w", err)
	}
	size := f.size()
	if have > size {
		if have, err = restart(out); err != nil {
			return false, err
		}
	}
	bar.start(have)
	if have == size {
		return false, nil // all there from an earlier pull; verify decides
	}

	resp, err := p.get(ctx, u, have)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if start, ok := rangeStart(resp.Header.Get("Content-Range")); !ok || start != have {
			if _, err := restart(out); err != nil {
				return false, err
			}
			return false, &netError{where: where, err: fmt.Errorf("answer to a resume at byte %d has Content-Range %q; starting over", have, resp.Header.Get("Content-Range"))}
		}
	case http.StatusOK:
		if have > 0 {
			// The server ignored Range and sends the whole file.
			if have, err = restart(out); err != nil {
				return false, err
			}
			bar.start(0)
		}
	case http.StatusRequestedRangeNotSatisfiable:
		if _, err := restart(out); err != nil {
			return false, err
		}
		return false, &netError{where: where, err: fmt.Errorf("server refused to resume at byte %d; starting over", have)}
	default:
		return false, p.statusError(resp, where, f.Name)
	}

	buf := make([]byte, 256<<10)
	got := int64(0)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := out.Write(buf[:n]); werr != nil {
				return got > 0, fmt.Errorf("hub: writing %s: %w", part, werr)
			}
			got += int64(n)
			bar.add(int64(n))
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if ctx.Err() != nil {
				return got > 0, fmt.Errorf("hub: GET %s: %w (%s keeps the %d bytes received, for the next pull)", where, ctx.Err(), filepath.Base(part), have+got)
			}
			return got > 0, &netError{where: where, err: rerr}
		}
	}
	if have+got < size {
		return got > 0, &netError{where: where, err: fmt.Errorf("connection closed after %d of %d bytes", have+got, size)}
	}
	if err := out.Sync(); err != nil {
		return true, fmt.Errorf("hub: writing %s: %w", part, err)
	}
	return got > 0, nil
}

// restart empties a partial download.
func restart(out *os.File) (int64, error) {
	if err := out.Truncate(0); err != nil {
		return 0, fmt.Errorf("hub: %w", err)
	}
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("hub: %w", err)
	}
	return 0, nil
}

// rangeStart parses the first byte of "bytes START-END/TOTAL".
func rangeStart(cr string) (int64, bool) {
	rest, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return 0, false
	}
	start, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(start), 10, 64)
	return n, err == nil
}

// verify checks a downloaded file against the hub's listing: its size,
// then the SHA-256 of the whole file for LFS files, or the Git blob id
// (SHA-1 of "blob <size>\x00" and the content) for the others.
func verify(path string, f *sibling) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return err
	}
	if fi.Size() != f.size() {
		return fmt.Errorf("%s is corrupt: %d bytes, the hub lists %d", f.Name, fi.Size(), f.size())
	}
	var h hash.Hash
	var want, kind string
	if f.LFS != nil {
		h, want, kind = sha256.New(), f.LFS.SHA256, "sha256"
	} else {
		h, want, kind = sha1.New(), f.BlobID, "git blob id"
		fmt.Fprintf(h, "blob %d\x00", fi.Size())
	}
	if _, err := io.Copy(h, file); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("%s is corrupt: %s %s, the hub lists %s", f.Name, kind, got, want)
	}
	return nil
}

// link makes the snapshot entry pointer a relative symlink to blob, as
// huggingface_hub does, or a copy of it where symlinks are unavailable.
func link(blob, pointer string) error {
	dir := filepath.Dir(pointer)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	rel, err := filepath.Rel(dir, blob)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	for range 3 {
		if err := os.Remove(pointer); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("hub: %w", err)
		}
		err := symlink(rel, pointer)
		if err == nil {
			return nil
		}
		if !errors.Is(err, os.ErrExist) {
			break // no symlinks here: copy
		}
		// A concurrent pull linked it between the remove and here; a
		// copy would replace its symlink (TestPullConcurrent saw that).
		if target, err := os.Readlink(pointer); err == nil && target == rel {
			return nil
		}
	}
	return copyFile(blob, pointer)
}

// copyFile copies src to dst through a temporary file, so dst is whole
// or absent.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".copy-*")
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	_, err = io.Copy(tmp, in)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("hub: copying %s to %s: %w", src, dst, err)
	}
	return nil
}
