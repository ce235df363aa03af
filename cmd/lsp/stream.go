package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"
)

// frameStream is LSP's base protocol (Content-Length framed JSON) as a
// jsonrpc2.ObjectStream, hardened for a daemon that must outlive its
// client's mistakes. Every bad frame is answered with a JSON-RPC error
// (under the request's id when one can be read from it, else null) and
// reading goes on with the next frame; only the end of the input (or a
// read error) ends the stream. sourcegraph/jsonrpc2's own codec instead
// closes the connection on the first bad frame and allocates whatever
// Content-Length says.
//
// What it survives:
//   - malformed JSON (-32700) and JSON that is no request or response
//     (-32600);
//   - a message over the size limit (-32600), skipped without being held
//     in memory;
//   - a Content-Length that is too short: the body is cut inside its JSON
//     (-32700), and the rest of it is skipped up to the next header;
//   - a Content-Length that is too long: the body is a whole JSON value
//     followed by the next message's header, or a whole JSON value after
//     which the client sends nothing for stallTimeout (-32600); the next
//     message is read from where the lying one really ended;
//   - garbage between messages, header lines that are not headers, and
//     header blocks without a Content-Length (-32700): input is skipped up
//     to the next "Content-Length:", wherever it is;
//   - the input ending inside a message (-32700, then io.ErrUnexpectedEOF).
//
// Text that is not valid UTF-8 is decoded as encoding/json does (each bad
// byte becomes U+FFFD), logged, and reported once through warn.
type frameStream struct {
	in    *input
	w     io.Writer
	close func() error
	limit int64
	log   *zap.Logger
	// stall is how long a body that is already a whole JSON value waits
	// for the rest of a Content-Length before the length is taken for a
	// lie.
	stall time.Duration
	// warn, if set, tells the user about a problem that has no request to
	// answer (invalid UTF-8). It is called on the read loop.
	warn       func(msg string)
	warnedUTF8 bool

	wmu sync.Mutex // serialises writes: replies from here and from jsonrpc2
}

const (
	// maxHeaderLine bounds one header line; real headers are a few dozen
	// bytes.
	maxHeaderLine = 4096
	// stallTimeout is the default frameStream.stall.
	stallTimeout = 250 * time.Millisecond
	// idScanBytes is how much of a skipped oversized message is kept to
	// find its id.
	idScanBytes = 4096
)

// marker starts every message; after an error, input is skipped to it.
const marker = "content-length:"

func newFrameStream(r io.Reader, w io.Writer, closeFn func() error, limit int64, log *zap.Logger) *frameStream {
	if log == nil {
		log = zap.NewNop()
	}
	return &frameStream{in: newInput(r), w: w, close: closeFn, limit: limit, log: log, stall: stallTimeout}
}

// WriteObject writes one framed message.
func (s *frameStream) WriteObject(obj any) error {
	data, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	return s.writeFrame(data)
}

func (s *frameStream) writeFrame(data []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	frame := make([]byte, 0, len(data)+32)
	frame = append(frame, "Content-Length: "...)
	frame = strconv.AppendInt(frame, int64(len(data)), 10)
	frame = append(frame, "\r\n\r\n"...)
	frame = append(frame, data...)
	_, err := s.w.Write(frame)
	return err
}

// Close stops reading and closes the underlying connection.
func (s *frameStream) Close() error {
	s.in.stop()
	if s.close == nil {
		return nil
	}
	return s.close()
}

// ReadObject reads the next well-formed message into v, answering and
// skipping bad ones.
func (s *frameStream) ReadObject(v any) error {
	for {
		body, err := s.next()
		if errors.Is(err, errSkip) {
			continue
		}
		if err != nil {
			return err
		}
		if !json.Valid(body) {
			s.badBody(body)
			if err := s.resync(); !errors.Is(err, errSkip) {
				return err
			}
			continue
		}
		if !utf8.Valid(body) {
			s.invalidUTF8(body)
		}
		if err := json.Unmarshal(body, v); err != nil {
			s.replyError(scanID(body), codeInvalidRequest, "invalid request: "+strings.TrimPrefix(err.Error(), "jsonrpc2: "))
			continue
		}
		return nil
	}
}

// errSkip marks a frame that was answered or dropped; reading continues.
var errSkip = errors.New("frame skipped")

// next reads one frame's body. It returns errSkip after a bad frame (which
// it has answered), io.EOF at the end of the input between messages, and
// io.ErrUnexpectedEOF when the input ends inside one.
func (s *frameStream) next() ([]byte, error) {
	in := s.in
	// Blank lines and spaces between messages are tolerated.
	for {
		in.buf = bytes.TrimLeft(in.buf, " \t\r\n")
		if len(in.buf) > 0 {
			break
		}
		if err := in.more(0); err != nil {
			return nil, err
		}
	}
	length := int64(-1)
	scanned := 0 // in.buf[:scanned] holds no line end and no marker
	for {
		i := bytes.IndexByte(in.buf[scanned:], '\n')
		end := len(in.buf)
		if i >= 0 {
			i += scanned
			end = i
		}
		from := max(0, scanned-len(marker)+1)
		if m := indexMarker(in.buf[from:end]); m >= 0 && from+m > 0 {
			// Garbage glued to the front of a header: drop it and start
			// the header block again there.
			m += from
			s.replyError(nil, codeParseError, fmt.Sprintf("parse error: %d bytes that are no message before a header: %q", m, clip(string(in.buf[:m]))))
			in.buf = in.buf[m:]
			length, scanned = -1, 0
			continue
		}
		if end > maxHeaderLine {
			s.replyError(nil, codeParseError, fmt.Sprintf("parse error: header line longer than %d bytes: %q", maxHeaderLine, clip(string(in.buf[:end]))))
			return nil, s.resync() // keeps what may start a marker
		}
		if i < 0 {
			scanned = len(in.buf)
			if err := in.more(0); err != nil {
				return nil, s.ended(err, "inside the headers", nil)
			}
			continue
		}
		scanned = 0
		line := bytes.TrimSuffix(in.buf[:i], []byte("\r"))
		if len(line) == 0 {
			in.buf = in.buf[i+1:]
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !isToken(name) {
			s.replyError(nil, codeParseError, fmt.Sprintf("parse error: %q is not a header line", clip(string(line))))
			in.buf = in.buf[i+1:]
			return nil, s.resync()
		}
		in.buf = in.buf[i+1:]
		if !strings.EqualFold(string(name), "Content-Length") {
			continue // Content-Type and the like
		}
		v := string(bytes.TrimSpace(value))
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			s.replyError(nil, codeParseError, fmt.Sprintf("parse error: bad Content-Length %q", clip(v)))
			return nil, s.resync()
		}
		if length >= 0 && n != length {
			// The first header block was cut short and a new message
			// began: read that one.
			s.replyError(nil, codeParseError, fmt.Sprintf("parse error: a header block with two Content-Length headers (%d, then %d); reading the message of the second", length, n))
		}
		length = n
	}
	if length < 0 {
		s.replyError(nil, codeParseError, "parse error: message without a Content-Length header")
		return nil, s.resync()
	}
	if length > s.limit {
		return nil, s.skip(length)
	}
	return s.body(int(length))
}

// body reads a body of n bytes, watching for a Content-Length that is too
// long.
func (s *frameStream) body(n int) ([]byte, error) {
	in := s.in
	searched := 0 // in.buf[:searched] holds no marker
	for len(in.buf) < n {
		if m := indexMarker(in.buf[max(0, searched-len(marker)+1):]); m >= 0 {
			m += max(0, searched-len(marker)+1)
			if endsValue(in.buf[:m]) && json.Valid(in.buf[:m]) {
				body := in.buf[:m]
				in.buf = in.buf[m:]
				s.tooLong(n, body)
				return nil, errSkip
			}
		}
		searched = len(in.buf)
		wait := time.Duration(0)
		if endsValue(in.buf) && json.Valid(in.buf) {
			wait = s.stall
		}
		err := in.more(wait)
		if errors.Is(err, errStalled) {
			body := in.buf
			in.buf = nil
			s.tooLong(n, body)
			return nil, errSkip
		}
		if err != nil {
			return nil, s.ended(err, fmt.Sprintf("%d bytes into a message of %d", len(in.buf), n), in.buf)
		}
	}
	body := in.buf[:n:n]
	if !json.Valid(body) {
		// The next message may have come with this one: a whole JSON
		// value followed by a header is a Content-Length too long.
		if m := indexMarker(body); m >= 0 && endsValue(body[:m]) && json.Valid(body[:m]) {
			in.buf = in.buf[m:]
			s.tooLong(n, body[:m])
			return nil, errSkip
		}
	}
	in.buf = in.buf[n:]
	return body, nil
}

// skip discards a body of n bytes over the limit, keeping only its start
// to find the request's id.
func (s *frameStream) skip(n int64) error {
	in := s.in
	var head []byte
	left := n
	for left > 0 {
		if len(in.buf) == 0 {
			if err := in.more(0); err != nil {
				return s.ended(err, fmt.Sprintf("%d bytes into a message of %d", n-left, n), head)
			}
		}
		k := int(min(left, int64(len(in.buf))))
		if len(head) < idScanBytes {
			head = append(head, in.buf[:min(k, idScanBytes-len(head))]...)
		}
		in.buf = in.buf[k:]
		left -= int64(k)
	}
	s.log.Warn("protocol: message over the size limit skipped", zap.Int64("bytes", n), zap.Int64("limit", s.limit))
	s.replyError(scanID(head), codeInvalidRequest, fmt.Sprintf("invalid request: message of %d bytes exceeds the limit of %d bytes (nib --max-message-bytes)", n, s.limit))
	return errSkip
}

// tooLong answers a message whose Content-Length promised more than its
// JSON value.
func (s *frameStream) tooLong(n int, body []byte) {
	s.replyError(scanID(body), codeInvalidRequest, fmt.Sprintf("invalid request: Content-Length is %d but the message's JSON ends after %d bytes", n, len(body)))
}

// badBody answers a body that is not JSON, saying whether it was cut short
// (a Content-Length too short, or a truncated message) or is malformed.
func (s *frameStream) badBody(body []byte) {
	desc := describeJSONError(body)
	msg := "parse error: the message is not valid JSON (" + desc + ")"
	if desc == "unexpected end of JSON input" {
		msg = fmt.Sprintf("parse error: the message ends inside its JSON after %d bytes: is its Content-Length too short?", len(body))
	}
	s.replyError(scanID(body), codeParseError, msg)
}

// ended handles the end of the input inside a message: it answers the
// message (its id read from partial, when it has one) and returns
// io.ErrUnexpectedEOF, or err itself when it is no end of input.
func (s *frameStream) ended(err error, where string, partial []byte) error {
	if !errors.Is(err, io.EOF) {
		return err
	}
	s.replyError(scanID(partial), codeParseError, "parse error: the input ended "+where)
	return io.ErrUnexpectedEOF
}

// resync skips input up to the next "Content-Length:", wherever it is, so
// that a garbled frame costs only itself. It returns errSkip, or the read
// error that ended the input (io.EOF, the garbage having been answered).
func (s *frameStream) resync() error {
	in := s.in
	for {
		if m := indexMarker(in.buf); m >= 0 {
			in.buf = in.buf[m:]
			return errSkip
		}
		// Keep what may be the start of a marker.
		if k := len(in.buf) - (len(marker) - 1); k > 0 {
			in.buf = in.buf[k:]
		}
		if err := in.more(0); err != nil {
			return err
		}
	}
}

// invalidUTF8 logs a message whose strings are not UTF-8 and warns the
// user once.
func (s *frameStream) invalidUTF8(body []byte) {
	at := 0
	for at < len(body) {
		r, size := utf8.DecodeRune(body[at:])
		if r == utf8.RuneError && size == 1 {
			break
		}
		at += size
	}
	s.log.Warn("protocol: message is not valid UTF-8; each invalid byte reads as U+FFFD", zap.Int("byte", at), zap.Int("bytes", len(body)))
	if s.warn != nil && !s.warnedUTF8 {
		s.warnedUTF8 = true
		s.warn(fmt.Sprintf("nib: the editor sent text that is not valid UTF-8 (byte %d of a message); each invalid byte reads as U+FFFD, so positions after it may not match", at))
	}
}

// replyError writes an error response outside jsonrpc2, for messages it
// never sees. id is nil when the request's id could not be read.
func (s *frameStream) replyError(id json.RawMessage, code int64, msg string) {
	if id == nil {
		id = json.RawMessage("null")
	}
	type rpcError struct {
		Code    int64  `json:"code"`
		Message string `json:"message"`
	}
	data, err := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   rpcError        `json:"error"`
	}{JSONRPC: "2.0", ID: id, Error: rpcError{code, msg}})
	if err != nil {
		s.log.Error("protocol: encoding an error reply", zap.Error(err))
		return
	}
	s.log.Warn("protocol: bad message", zap.Int64("code", code), zap.String("error", msg))
	if err := s.writeFrame(data); err != nil {
		s.log.Warn("protocol: writing an error reply", zap.Error(err))
	}
}

// scanID reads the id of a request from the start of a message that may
// be cut short or malformed further on: the value of a top-level "id"
// member before the first error, if it is a number or a string. Every
// common client writes the id before the params.
func scanID(body []byte) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, ok := tok.(string)
		if !ok {
			return nil
		}
		if key != "id" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil
			}
			continue
		}
		v, err := dec.Token()
		if err != nil {
			return nil
		}
		switch v := v.(type) {
		case json.Number:
			return json.RawMessage(v.String())
		case string:
			b, _ := json.Marshal(v)
			return b
		}
		return nil
	}
}

// describeJSONError says where a body stops being JSON.
func describeJSONError(body []byte) string {
	var v any
	err := json.Unmarshal(body, &v)
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		if syn.Error() == "unexpected end of JSON input" {
			return syn.Error()
		}
		return fmt.Sprintf("%s at byte %d", syn.Error(), syn.Offset)
	case err != nil:
		return err.Error()
	}
	return "not JSON"
}

// indexMarker returns the index of the first "Content-Length:" in b, in
// any case, or -1.
func indexMarker(b []byte) int {
	for i := 0; i+len(marker) <= len(b); i++ {
		if c := b[i]; c != 'c' && c != 'C' {
			continue
		}
		if bytes.EqualFold(b[i:i+len(marker)], []byte(marker)) {
			return i
		}
	}
	return -1
}

// endsValue reports whether b's last non-space byte may end a JSON object
// or array: a cheap test before json.Valid.
func endsValue(b []byte) bool {
	b = bytes.TrimRight(b, " \t\r\n")
	return len(b) > 0 && (b[len(b)-1] == '}' || b[len(b)-1] == ']')
}

// isToken reports whether b is a header field name (RFC 9110 token).
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// clip shortens s for error messages.
func clip(s string) string {
	if len(s) > 80 {
		return strings.ToValidUTF8(s[:80], "\uFFFD") + "..."
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// input reads its source on a goroutine of its own, so that the frame
// parser can wait for more bytes with a timeout (a Content-Length that is
// too long is noticed when the client falls silent).
type input struct {
	chunks chan []byte
	quit   chan struct{}
	once   sync.Once
	err    error // why the source ended; read after chunks is closed
	ended  bool
	// buf holds the bytes read and not yet consumed.
	buf []byte
}

// errStalled: no input came within the time more was given.
var errStalled = errors.New("input stalled")

func newInput(r io.Reader) *input {
	in := &input{chunks: make(chan []byte), quit: make(chan struct{})}
	go in.pump(r)
	return in
}

func (in *input) pump(r io.Reader) {
	defer close(in.chunks)
	b := make([]byte, 64<<10)
	for {
		n, err := r.Read(b)
		if n > 0 {
			select {
			case in.chunks <- append([]byte(nil), b[:n]...):
			case <-in.quit:
				in.err = io.ErrClosedPipe
				return
			}
		}
		if err != nil {
			in.err = err
			return
		}
	}
}

// stop ends the pump once its current read returns.
func (in *input) stop() { in.once.Do(func() { close(in.quit) }) }

// more appends the next chunk of input to buf, waiting at most wait when
// wait is positive (then it returns errStalled). At the end of the input
// it returns the source's error, io.EOF for a clean end; after stop,
// io.ErrClosedPipe.
func (in *input) more(wait time.Duration) error {
	if in.ended {
		return in.err
	}
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case c, ok := <-in.chunks:
		if !ok {
			in.ended = true
			if in.err == nil {
				in.err = io.EOF
			}
			return in.err
		}
		if len(in.buf) == 0 {
			in.buf = c
		} else {
			in.buf = append(in.buf, c...)
		}
		return nil
	case <-timeout:
		return errStalled
	case <-in.quit:
		return io.ErrClosedPipe
	}
}
