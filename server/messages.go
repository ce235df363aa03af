package server

import (
	"encoding/json"
	"fmt"
	"sync"
	"unicode/utf8"

	"go.uber.org/zap"
)

// MessageConn carries whole JSON-RPC messages, one per call, as a
// browser's MessagePort between a page and a web worker does: no
// Content-Length framing, so none of its failures.
type MessageConn interface {
	// Read returns the next message's bytes, and an error (io.EOF when
	// the client is gone) once there are no more.
	Read() ([]byte, error)
	// Write sends one message.
	Write(msg []byte) error
	// Close ends the connection; a Read in progress returns.
	Close() error
}

// messageStream is a MessageConn as bodies: messages that are not JSON,
// or over the size limit, are answered here, as frameStream answers bad
// frames.
type messageStream struct {
	conn       MessageConn
	limit      int64
	log        *zap.Logger
	warn       func(string)
	warnedUTF8 bool
	wmu        sync.Mutex // writes from jsonrpc2 and from here
}

func newMessageStream(conn MessageConn, limit int64, log *zap.Logger) *messageStream {
	return &messageStream{conn: conn, limit: limit, log: log}
}

func (s *messageStream) readBody() ([]byte, error) {
	for {
		msg, err := s.conn.Read()
		if err != nil {
			return nil, err
		}
		switch {
		case int64(len(msg)) > s.limit:
			s.replyError(scanID(msg[:min(len(msg), idScanBytes)]), codeInvalidRequest,
				fmt.Sprintf("invalid request: message of %d bytes exceeds the limit of %d bytes", len(msg), s.limit))
			continue
		case !json.Valid(msg):
			s.replyError(scanID(msg), codeParseError, "parse error: the message is not valid JSON ("+describeJSONError(msg)+")")
			continue
		}
		if !utf8.Valid(msg) {
			reportInvalidUTF8(s.log, s.warn, &s.warnedUTF8, msg)
		}
		return msg, nil
	}
}

func (s *messageStream) writeBody(body []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.conn.Write(body)
}

func (s *messageStream) replyError(id json.RawMessage, code int64, msg string) {
	writeErrorReply(s.log, s.writeBody, id, code, msg)
}

func (s *messageStream) Close() error { return s.conn.Close() }
