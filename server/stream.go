package server

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
//   - a Content-Length that is too long, over the limit or not: the body
//     is a whole JSON value followed by the next message's header
//     (-32600), or holds a header line of the next message after JSON
//     that was cut or is malformed (-32700; -32600 over the limit); the
//     next message is read from that header;
//   - a Content-Length that is too long, then silence: a body that is a
//     whole JSON object or array after which nothing comes for
//     stallTimeout is read as the message (over the limit, answered with
//     -32600); whitespace that comes later pays what the length still
//     claimed, so a body whose counted trailing whitespace is merely slow
//     is read as it should be;
//   - garbage between messages, header lines that are not headers or are
//     too long, and header blocks without a Content-Length (-32700):
//     input is skipped up to the next "Content-Length:", wherever it is;
//   - the input ending inside a message (-32700, then io.ErrUnexpectedEOF).
//
// Every check of a body looks at each of its bytes a bounded number of
// times however it is split into reads, so a large message costs time
// linear in its size.
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
	// for the rest of its Content-Length before it is read as what came.
	stall time.Duration
	// owed is what the Content-Length of a message read after a stall
	// still claimed: whitespace that comes next pays it, anything else
	// shows that the length was too long (logged).
	owed int64
	// warn, if set, tells the user about a problem that has no request to
	// answer (invalid UTF-8). It is called on the read loop.
	warn       func(msg string)
	warnedUTF8 bool

	// examined counts the bytes the body checks looked at, and held is
	// the most bytes of input held at once while reading a body: the
	// tests check that large bodies cost linear time and that messages
	// over the limit are not held.
	examined int64
	held     int

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
		body, err := s.readBody()
		if err != nil {
			return err
		}
		if err := json.Unmarshal(body, v); err != nil {
			s.replyError(scanID(body), codeInvalidRequest, "invalid request: "+strings.TrimPrefix(err.Error(), "jsonrpc2: "))
			continue
		}
		return nil
	}
}

// readBody reads the next well-formed message's body (bodies): valid
// JSON, answered and skipped otherwise. The body is valid until the next
// read.
func (s *frameStream) readBody() ([]byte, error) {
	for {
		body, err := s.next()
		if errors.Is(err, errSkip) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !utf8.Valid(body) {
			s.invalidUTF8(body)
		}
		return body, nil
	}
}

// writeBody frames and writes one message body (bodies).
func (s *frameStream) writeBody(body []byte) error { return s.writeFrame(body) }

// errSkip marks a frame that was answered or dropped; reading continues.
var errSkip = errors.New("frame skipped")

// next reads one frame's body, which is valid JSON. It returns errSkip
// after a bad frame (which it has answered), io.EOF at the end of the
// input between messages, and io.ErrUnexpectedEOF when the input ends
// inside one.
func (s *frameStream) next() ([]byte, error) {
	in := s.in
	// Blank lines and spaces between messages are tolerated; they may
	// also be the slow end of a message read after a stall.
	for {
		rest := bytes.TrimLeft(in.buf, " \t\r\n")
		s.owed -= int64(len(in.buf) - len(rest))
		in.buf = rest
		if len(in.buf) > 0 {
			break
		}
		if err := in.more(0); err != nil {
			return nil, err
		}
	}
	if s.owed > 0 {
		s.log.Warn("protocol: the Content-Length of a message read after the client fell silent was too long", zap.Int64("by", s.owed))
	}
	s.owed = 0
	length := int64(-1)
	scanned := 0 // in.buf[:scanned] holds no line end and no marker
	for {
		i := bytes.IndexByte(in.buf[scanned:], '\n')
		end := len(in.buf)
		if i >= 0 {
			i += scanned
			end = i
		}
		// A marker after the line's first byte: garbage glued to the
		// front of a header. Drop it and start the header block again
		// there.
		if from := max(1, scanned-len(marker)+1); from < end {
			if m := indexMarker(in.buf[from:end]); m >= 0 {
				m += from
				msg := fmt.Sprintf("parse error: %d bytes that are no message before a header: %q", m, clip(string(in.buf[:m])))
				if m > maxHeaderLine {
					msg = overlong(in.buf[:m])
				}
				s.replyError(nil, codeParseError, msg)
				in.buf = in.buf[m:]
				length, scanned = -1, 0
				continue
			}
		}
		if end > maxHeaderLine {
			s.replyError(nil, codeParseError, overlong(in.buf[:end]))
			// No marker starts in in.buf[1:end] (looked for above), but one
			// may start at 0: step past it, or resync finds it again.
			in.buf = in.buf[1:]
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
	return s.body(length)
}

// overlong is the error for a header line over maxHeaderLine.
func overlong(line []byte) string {
	return fmt.Sprintf("parse error: header line longer than %d bytes: %q", maxHeaderLine, clip(string(line)))
}

// body reads the body of a message whose Content-Length is n. It returns
// the body when it is valid JSON; otherwise it answers the message and
// returns errSkip (or the read error that ended the input), with in.buf at
// where reading goes on. A body over the limit is examined as it passes
// and dropped, only its start kept to find the request's id.
//
// A Content-Length can be too long, and the body's window then holds
// what comes after the message. Three signs show it, each found by work
// linear in the body however it arrives:
//   - a whole JSON object or array, spaces, and "Content-Length:": the
//     next message is right behind;
//   - a header line "Content-Length: N" anywhere: its line end cannot be
//     in a JSON string, nor its name outside one, so the body was cut (or
//     is malformed) and the next message begins there;
//   - a whole JSON object or array, spaces, and no byte for s.stall: the
//     client waits for an answer. What came is read as the message (the
//     JSON cannot go on but with whitespace); if the rest was only slow,
//     next takes it as whitespace between messages.
func (s *frameStream) body(n int64) ([]byte, error) {
	in := s.in
	keep := n <= s.limit
	var (
		sc       = valueScan{after: -1}
		dropped  int64  // bytes of the message dropped from in.buf (over the limit)
		head     []byte // the start of what was dropped, for the id
		searched int    // no header can start in in.buf[:searched]
		// settle is what bytes that may start a header are taken for
		// when the window is whole: lineMore to wait for more bytes,
		// lineHeader once they stall, lineNone once the input ended.
		settle  = lineMore
		invalid bool // the whole window was found not to be JSON
	)
	for {
		s.held = max(s.held, cap(in.buf))
		avail := int(min(int64(len(in.buf)), n-dropped)) // the message's bytes in in.buf
		whole := dropped+int64(avail) == n
		fed := int(sc.pos - dropped)
		s.examined += int64(avail - fed)
		sc.feed(in.buf[fed:avail])
		if whole && keep && !invalid {
			body := in.buf[:n:n]
			s.examined += n
			if json.Valid(body) {
				in.buf = in.buf[n:]
				return body, nil
			}
			invalid = true
		}
		m, undecided := s.findHeader(&searched, avail, settle, &sc, dropped)
		if m >= 0 {
			return nil, s.cut(n, keep, m, &sc, dropped, head)
		}
		if whole && undecided {
			// The window ends in what may start the next header: the next
			// bytes tell. If they stall, it is taken for one (next reports
			// it if it is none): a lost header would lose its message.
			switch err := in.more(s.stall); {
			case errors.Is(err, errStalled):
				settle = lineHeader
			case err != nil:
				settle = lineNone
			}
			continue
		}
		if whole {
			if keep {
				body := in.buf[:n]
				in.buf = in.buf[n:]
				s.badBody(body)
				return nil, s.resync()
			}
			head = appendHead(head, in.buf[:avail])
			in.buf = in.buf[avail:]
			s.log.Warn("protocol: message over the size limit skipped", zap.Int64("bytes", n), zap.Int64("limit", s.limit))
			s.replyError(scanID(head), codeInvalidRequest, fmt.Sprintf("invalid request: message of %d bytes exceeds the limit of %d bytes (nib --max-message-bytes)", n, s.limit))
			return nil, errSkip
		}
		if !keep {
			// Drop what was examined, keeping a header that may be
			// starting.
			d := min(searched, avail)
			head = appendHead(head, in.buf[:d])
			in.buf = in.buf[d:]
			dropped += int64(d)
			searched -= d
		}
		wait := time.Duration(0)
		if sc.ended() && sc.after < 0 {
			wait = s.stall
		}
		err := in.more(wait)
		if errors.Is(err, errStalled) {
			return s.stalled(n, keep, &sc, dropped, head)
		}
		if err != nil {
			partial := in.buf
			if !keep {
				partial = appendHead(head, in.buf)
			}
			return nil, s.ended(err, fmt.Sprintf("%d bytes into a message of %d", dropped+int64(len(in.buf)), n), partial)
		}
	}
}

// findHeader looks for where the next message begins inside the body
// window in.buf[*from:avail] (see body). It returns the index of the
// marker that starts it, or -1 with *from moved to where to look on once
// more bytes come, and undecided set when the bytes there may start a
// header but the input so far ends too soon to tell. settle, unless it is
// lineMore, is what such bytes are taken for instead.
func (s *frameStream) findHeader(from *int, avail int, settle lineKind, sc *valueScan, dropped int64) (int, bool) {
	buf := s.in.buf
	for *from < avail {
		lo := *from
		hi := min(len(buf), avail+len(marker)-1)
		s.examined += int64(hi - lo)
		i := indexMarker(buf[lo:hi])
		if i < 0 {
			// What may be a marker cut by the end of the input so far.
			p := max(lo, len(buf)-len(marker)+1)
			for p < avail && !bytes.EqualFold(buf[p:], []byte(marker[:len(buf)-p])) {
				p++
			}
			if p < avail && settle == lineHeader {
				return p, false
			}
			if settle == lineNone {
				p = avail
			}
			*from = min(p, avail)
			return -1, p < avail
		}
		m := lo + i
		if sc.ended() && sc.after == dropped+int64(m) {
			return m, false // a whole value, spaces, and a marker
		}
		switch headerLine(buf[m:]) {
		case lineHeader:
			return m, false
		case lineMore:
			switch settle {
			case lineHeader:
				return m, false
			case lineMore:
				*from = m
				return -1, true
			}
		}
		*from = m + 1
	}
	return -1, false
}

// lineKind says whether bytes starting with the marker start a header
// line.
type lineKind int

const (
	lineNone   lineKind = iota // no header line
	lineHeader                 // "Content-Length: N" and its line end
	lineMore                   // a header line so far; more bytes decide
)

// headerLine tells whether b, which starts with the marker, starts with a
// whole header line "Content-Length: N". Its line end is what makes it
// one: a JSON string holds no raw line end.
func headerLine(b []byte) lineKind {
	digits, after := 0, false
	for i := len(marker); i < len(b); i++ {
		if i > maxHeaderLine {
			return lineNone
		}
		switch c := b[i]; {
		case c == ' ' || c == '\t':
			after = digits > 0
		case '0' <= c && c <= '9' && !after:
			digits++
		case c == '\n':
			return lineOf(digits > 0)
		case c == '\r':
			if i+1 == len(b) {
				return lineMore
			}
			return lineOf(digits > 0 && b[i+1] == '\n')
		default:
			return lineNone
		}
	}
	return lineMore
}

// lineOf is lineHeader if ok, else lineNone.
func lineOf(ok bool) lineKind {
	if ok {
		return lineHeader
	}
	return lineNone
}

// cut ends a message whose body window holds the start of the next
// message at in.buf[m], answers it, and leaves in.buf there.
func (s *frameStream) cut(n int64, keep bool, m int, sc *valueScan, dropped int64, head []byte) error {
	in := s.in
	body := in.buf[:m]
	in.buf = in.buf[m:]
	if !keep {
		head = appendHead(head, body)
		got := dropped + int64(m)
		msg := fmt.Sprintf("invalid request: Content-Length is %d, over the limit of %d bytes (nib --max-message-bytes), but the header of another message begins %d bytes into it", n, s.limit, got)
		if sc.ended() && sc.after == got {
			msg = fmt.Sprintf("invalid request: Content-Length is %d, over the limit of %d bytes (nib --max-message-bytes), but the message's JSON ends after %d bytes", n, s.limit, sc.end)
		}
		s.replyError(scanID(head), codeInvalidRequest, msg)
		return errSkip
	}
	s.examined += int64(m)
	if json.Valid(body) {
		s.tooLong(int(n), body)
		return errSkip
	}
	desc := describeJSONError(body)
	msg := fmt.Sprintf("parse error: the message is not valid JSON (%s); the header of another message begins %d bytes into it (its Content-Length is %d)", desc, m, n)
	if desc == "unexpected end of JSON input" {
		msg = fmt.Sprintf("parse error: the message's JSON is cut off after %d bytes by the header of another message (its Content-Length is %d)", m, n)
	}
	s.replyError(scanID(body), codeParseError, msg)
	return errSkip
}

// stalled handles a body that is a whole JSON object or array (and
// spaces) after which nothing came for s.stall: it is read as the
// message, or answered when over the limit; whitespace that comes later
// pays what the Content-Length still claimed.
func (s *frameStream) stalled(n int64, keep bool, sc *valueScan, dropped int64, head []byte) ([]byte, error) {
	in := s.in
	body := in.buf
	in.buf = nil
	if !keep {
		s.replyError(scanID(appendHead(head, body)), codeInvalidRequest, fmt.Sprintf("invalid request: Content-Length is %d, over the limit of %d bytes (nib --max-message-bytes), but the message's JSON ends after %d bytes and nothing more came", n, s.limit, sc.end))
		return nil, errSkip
	}
	s.owed = n - int64(len(body))
	s.log.Info("protocol: a message's JSON is whole but not its Content-Length, and nothing more came; reading the JSON as the message", zap.Int64("length", n), zap.Int("bytes", len(body)))
	s.examined += int64(len(body))
	if !json.Valid(body) {
		s.badBody(body)
		return nil, errSkip
	}
	return body, nil
}

// appendHead appends to head what fits of b in idScanBytes.
func appendHead(head, b []byte) []byte {
	return append(head, b[:min(len(b), max(0, idScanBytes-len(head)))]...)
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
func (s *frameStream) invalidUTF8(body []byte) { reportInvalidUTF8(s.log, s.warn, &s.warnedUTF8, body) }

// reportInvalidUTF8 logs a message that is not valid UTF-8 and, the first
// time (*warned false), tells the user through warn.
func reportInvalidUTF8(log *zap.Logger, warn func(string), warned *bool, body []byte) {
	at := 0
	for at < len(body) {
		r, size := utf8.DecodeRune(body[at:])
		if r == utf8.RuneError && size == 1 {
			break
		}
		at += size
	}
	log.Warn("protocol: message is not valid UTF-8; each invalid byte reads as U+FFFD", zap.Int("byte", at), zap.Int("bytes", len(body)))
	if warn != nil && !*warned {
		*warned = true
		warn(fmt.Sprintf("nib: the editor sent text that is not valid UTF-8 (byte %d of a message); each invalid byte reads as U+FFFD, so positions after it may not match", at))
	}
}

// replyError writes an error response outside jsonrpc2, for messages it
// never sees. id is nil when the request's id could not be read.
func (s *frameStream) replyError(id json.RawMessage, code int64, msg string) {
	writeErrorReply(s.log, s.writeFrame, id, code, msg)
}

// writeErrorReply logs a bad message and writes its JSON-RPC error
// response with write; id is nil when the message's id could not be read.
func writeErrorReply(log *zap.Logger, write func([]byte) error, id json.RawMessage, code int64, msg string) {
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
		log.Error("protocol: encoding an error reply", zap.Error(err))
		return
	}
	log.Warn("protocol: bad message", zap.Int64("code", code), zap.String("error", msg))
	if err := write(data); err != nil {
		log.Warn("protocol: writing an error reply", zap.Error(err))
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

// valueScan follows a body, chunk by chunk, to where its first top-level
// JSON object or array ends. It carries its string, escape and depth
// state across chunks, so each byte is looked at once however the body
// is split; it does not validate (json.Valid does, once, where it
// matters). A body that starts with anything else never ends here.
type valueScan struct {
	pos   int64 // bytes fed
	state scanState
	depth int
	end   int64 // offset just after the value, once it ended
	// after is the offset of the first byte after the value that is no
	// space: -1 while there is none.
	after int64
}

type scanState uint8

const (
	scanStart  scanState = iota // before the value
	scanValue                   // in it, outside strings
	scanString                  // in a string
	scanEscape                  // after a backslash in a string
	scanEnded                   // after it
	scanOther                   // the body starts with no object or array
)

// ended reports whether the value has ended.
func (v *valueScan) ended() bool { return v.state == scanEnded }

// feed scans the next bytes of the body.
func (v *valueScan) feed(b []byte) {
	base := v.pos
	v.pos += int64(len(b))
	for i := 0; i < len(b); i++ {
		switch v.state {
		case scanStart:
			switch b[i] {
			case ' ', '\t', '\r', '\n':
			case '{', '[':
				v.state, v.depth = scanValue, 1
			default:
				v.state = scanOther
				return
			}
		case scanValue:
			switch b[i] {
			case '"':
				v.state = scanString
			case '{', '[':
				v.depth++
			case '}', ']':
				if v.depth--; v.depth == 0 {
					v.state, v.end = scanEnded, base+int64(i)+1
				}
			}
		case scanString:
			for ; i < len(b) && b[i] != '"' && b[i] != '\\'; i++ {
			}
			if i == len(b) {
				return
			}
			if b[i] == '"' {
				v.state = scanValue
			} else {
				v.state = scanEscape
			}
		case scanEscape:
			v.state = scanString
		case scanEnded:
			if v.after >= 0 {
				return
			}
			switch b[i] {
			case ' ', '\t', '\r', '\n':
			default:
				v.after = base + int64(i)
				return
			}
		case scanOther:
			return
		}
	}
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
