package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"go.uber.org/zap"
)

// frameStream is LSP's base protocol (Content-Length framed JSON) as a
// jsonrpc2.ObjectStream, hardened for a daemon that must outlive its
// client's mistakes: a message over the size limit is skipped without
// being held in memory, malformed JSON is answered with -32700 and a
// message that is neither a request nor a response with -32600, and
// reading goes on with the next frame in every case. Only the end of the
// input (or a read error) ends the stream. sourcegraph/jsonrpc2's own
// codec instead closes the connection on the first bad frame and allocates
// whatever Content-Length says.
type frameStream struct {
	r     *bufio.Reader
	w     io.Writer
	close func() error
	limit int64
	log   *zap.Logger

	wmu sync.Mutex // serialises writes: replies from here and from jsonrpc2
}

// maxHeaderLine bounds one header line; real headers are a few dozen bytes.
const maxHeaderLine = 4096

func newFrameStream(r io.Reader, w io.Writer, closeFn func() error, limit int64, log *zap.Logger) *frameStream {
	return &frameStream{r: bufio.NewReaderSize(r, 64<<10), w: w, close: closeFn, limit: limit, log: log}
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
	if _, err := fmt.Fprintf(s.w, "Content-Length: %d\r\n\r\n", len(data)); err != nil {
		return err
	}
	_, err := s.w.Write(data)
	return err
}

// Close closes the underlying connection.
func (s *frameStream) Close() error {
	if s.close == nil {
		return nil
	}
	return s.close()
}

// ReadObject reads the next well-formed message into v, answering and
// skipping bad ones.
func (s *frameStream) ReadObject(v any) error {
	for {
		body, err := s.readFrame()
		if errors.Is(err, errSkip) {
			continue
		}
		if err != nil {
			return err
		}
		if !json.Valid(body) {
			s.replyError(nil, -32700, "parse error: the message is not valid JSON ("+describeJSONError(body)+")")
			continue
		}
		if err := json.Unmarshal(body, v); err != nil {
			s.replyError(requestID(body), -32600, "invalid request: "+strings.TrimPrefix(err.Error(), "jsonrpc2: "))
			continue
		}
		return nil
	}
}

// errSkip marks a frame that was answered or dropped; reading continues.
var errSkip = errors.New("frame skipped")

// readFrame reads headers and a body. Errors other than errSkip end the
// stream: io.EOF at a message boundary, io.ErrUnexpectedEOF inside one.
func (s *frameStream) readFrame() ([]byte, error) {
	length := int64(-1)
	sawHeader := false
	for {
		line, err := s.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && sawHeader {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if line == "" {
			if !sawHeader {
				continue // stray blank lines between messages
			}
			break
		}
		sawHeader = true
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			s.log.Warn("protocol: header line without a colon; skipping to the next message", zap.String("line", clip(line)))
			s.replyError(nil, -32700, fmt.Sprintf("parse error: bad header line %q", clip(line)))
			return nil, s.resync()
		}
		if strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
			if err != nil || n < 0 {
				s.replyError(nil, -32700, fmt.Sprintf("parse error: bad Content-Length %q", clip(strings.TrimSpace(value))))
				return nil, s.resync()
			}
			length = n
		}
	}
	if length < 0 {
		s.replyError(nil, -32700, "parse error: message without a Content-Length header")
		return nil, errSkip
	}
	if length > s.limit {
		s.log.Warn("protocol: message over the size limit skipped", zap.Int64("bytes", length), zap.Int64("limit", s.limit))
		if _, err := io.CopyN(io.Discard, s.r, length); err != nil {
			return nil, io.ErrUnexpectedEOF
		}
		s.replyError(nil, -32600, fmt.Sprintf("invalid request: message of %d bytes exceeds the limit of %d (setting maxMessageBytes)", length, s.limit))
		return nil, errSkip
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(s.r, body); err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	return body, nil
}

// readLine reads one header line without its line ending (\r\n, or a bare
// \n from lenient clients), refusing overlong lines.
func (s *frameStream) readLine() (string, error) {
	var sb strings.Builder
	for {
		b, err := s.r.ReadByte()
		if err != nil {
			return "", err
		}
		if b == '\n' {
			return strings.TrimSuffix(sb.String(), "\r"), nil
		}
		if sb.Len() >= maxHeaderLine {
			s.replyError(nil, -32700, fmt.Sprintf("parse error: header line longer than %d bytes", maxHeaderLine))
			return "", s.resync()
		}
		sb.WriteByte(b)
	}
}

// resync skips input up to the next line that starts a header block, so
// that a garbled frame costs only itself. It returns errSkip, or the read
// error that ended the input.
func (s *frameStream) resync() error {
	for {
		peek, err := s.r.Peek(len("Content-Length:"))
		if err == nil && strings.EqualFold(string(peek), "Content-Length:") {
			return errSkip
		}
		if _, err := s.r.ReadBytes('\n'); err != nil {
			if errors.Is(err, io.EOF) {
				return io.EOF
			}
			return err
		}
	}
}

// replyError writes an error response outside jsonrpc2, for messages it
// never sees. id is nil when the request's id could not be read.
func (s *frameStream) replyError(id json.RawMessage, code int64, msg string) {
	if id == nil {
		id = json.RawMessage("null")
	}
	data, err := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   struct {
			Code    int64  `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}{JSONRPC: "2.0", ID: id, Error: struct {
		Code    int64  `json:"code"`
		Message string `json:"message"`
	}{code, msg}})
	if err != nil {
		return
	}
	s.log.Warn("protocol: bad message", zap.Int64("code", code), zap.String("error", msg))
	if err := s.writeFrame(data); err != nil {
		s.log.Warn("protocol: writing an error reply", zap.Error(err))
	}
}

// requestID digs the id out of a message that failed to decode as a
// request, so that the error reply reaches the right caller.
func requestID(body []byte) json.RawMessage {
	var m struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &m) != nil || len(m.ID) == 0 {
		return nil
	}
	switch m.ID[0] {
	case '"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return m.ID
	}
	return nil
}

// describeJSONError says where a body stops being JSON.
func describeJSONError(body []byte) string {
	var v any
	err := json.NewDecoder(bytes.NewReader(body)).Decode(&v)
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("%s at byte %d", syn.Error(), syn.Offset)
	case err != nil:
		return err.Error()
	}
	return "trailing data after the first value"
}

// clip shortens s for error messages.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
