package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sourcegraph/jsonrpc2"
	"go.uber.org/zap"
)

// Request ids as sent.
//
// JSON-RPC and LSP ids are integers or strings, and a reply must carry the
// id exactly as the request did. sourcegraph/jsonrpc2 keeps an id as a
// uint64 or a Go string: a negative id comes back as 2^64 minus it, and a
// string holding an escaped lone surrogate comes back with U+FFFD in its
// place. idStream sits between the frame stream and jsonrpc2 and hands
// jsonrpc2 such an id as a string that spells the id's JSON text after
// rawIDPrefix; replies to it are written with the original text again.
// Ids jsonrpc2 keeps faithfully pass through unchanged, so a client's id
// and the id nib's logs and errors show are the same.

// rawIDPrefix starts the string that stands for an id jsonrpc2 cannot
// keep. A client's own string id that starts with it is wrapped too, so
// the mapping stays one to one.
const rawIDPrefix = "nib:raw-id:"

// wireID turns an id's JSON text into the jsonrpc2.ID nib works with. It
// fails for JSON that is no integer or string (null, a fraction, an
// object...), which is no valid request id.
func wireID(raw json.RawMessage) (jsonrpc2.ID, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return jsonrpc2.ID{}, fmt.Errorf("the id is empty")
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return jsonrpc2.ID{}, fmt.Errorf("the id %s is not a valid JSON string", clip(string(raw)))
		}
		// Escapes may decode to something else (a lone surrogate to
		// U+FFFD) and invalid UTF-8 is replaced: keep such ids as text.
		if bytes.IndexByte(raw, '\\') >= 0 || strings.HasPrefix(s, rawIDPrefix) || !utf8.Valid(raw) {
			return jsonrpc2.ID{Str: rawIDPrefix + string(raw), IsString: true}, nil
		}
		return jsonrpc2.ID{Str: s, IsString: true}, nil
	case c == '-' || '0' <= c && c <= '9':
		if !isJSONInteger(raw) {
			return jsonrpc2.ID{}, fmt.Errorf("the id %s is not an integer", clip(string(raw)))
		}
		// jsonrpc2 reads ids through int64 and keeps them as uint64.
		if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil && n >= 0 {
			return jsonrpc2.ID{Num: uint64(n)}, nil
		}
		return jsonrpc2.ID{Str: rawIDPrefix + string(raw), IsString: true}, nil
	case c == 'n' && string(raw) == "null":
		return jsonrpc2.ID{}, fmt.Errorf("the id is null: LSP request ids are integers or strings")
	}
	return jsonrpc2.ID{}, fmt.Errorf("the id %s is neither an integer nor a string", clip(string(raw)))
}

// idJSON is the JSON text of an id as the client sent it.
func idJSON(id jsonrpc2.ID) json.RawMessage {
	if id.IsString && strings.HasPrefix(id.Str, rawIDPrefix) {
		return json.RawMessage(id.Str[len(rawIDPrefix):])
	}
	b, _ := json.Marshal(id)
	return b
}

// idText is an id for logs and messages, as the client sent it.
func idText(id jsonrpc2.ID) string { return string(idJSON(id)) }

// isJSONInteger reports whether b is a JSON number without fraction or
// exponent.
func isJSONInteger(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 1 && b[0] == '0' {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// idStream is the frame stream as jsonrpc2 sees it: request ids are
// mapped as above, requests with an id that is no id are refused, and
// text with escaped lone surrogates is reported.
type idStream struct {
	conn bodies
	log  *zap.Logger
	// warn tells the user about a problem no request can be answered
	// with; warnedSurrogate: the user was told once about lone
	// surrogates.
	warn            func(msg string)
	warnedSurrogate bool
}

func newIDStream(conn bodies, log *zap.Logger, warn func(string)) *idStream {
	return &idStream{conn: conn, log: log, warn: warn}
}

// bodies is a connection that carries whole message bodies: the framed
// byte stream of stdio (frameStream) or a transport of whole messages
// such as a browser's MessagePort (messageStream).
type bodies interface {
	// readBody returns the next message that is valid JSON, answering
	// what is not (with replyError) itself.
	readBody() ([]byte, error)
	writeBody(body []byte) error
	// replyError answers a message jsonrpc2 never sees; id is nil when
	// the message's id could not be read.
	replyError(id json.RawMessage, code int64, msg string)
	Close() error
}

// Close closes the connection.
func (s *idStream) Close() error { return s.conn.Close() }

func (s *idStream) replyError(id json.RawMessage, code int64, msg string) {
	s.conn.replyError(id, code, msg)
}

// envelope reads a message's top-level members: with their names matched
// exactly, as jsonrpc2 does, where a struct would also take "ID" for "id".
func envelope(msg []byte) (id, method json.RawMessage, err error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(msg, &m); err != nil {
		return nil, nil, err
	}
	return m["id"], m["method"], nil
}

// ReadObject reads the next message into v (jsonrpc2's message type).
func (s *idStream) ReadObject(v any) error {
	for {
		body, err := s.conn.readBody()
		if err != nil {
			return err
		}
		s.checkSurrogates(body)
		rawID, method, err := envelope(body)
		if err != nil {
			s.replyError(scanID(body), codeInvalidRequest, "invalid request: "+strings.TrimPrefix(err.Error(), "json: "))
			continue
		}
		if string(method) == `"$/cancelRequest"` {
			if body, err = s.mapCancelID(body); err != nil {
				s.replyError(nil, codeInvalidRequest, "invalid request: "+err.Error())
				continue
			}
		}
		if method != nil && rawID != nil {
			id, err := wireID(rawID)
			if err != nil {
				s.replyError(nil, codeInvalidRequest, "invalid request: "+err.Error())
				continue
			}
			if id.IsString && strings.HasPrefix(id.Str, rawIDPrefix) {
				body, err = replaceID(body, id)
				if err != nil {
					s.replyError(nil, codeInvalidRequest, "invalid request: "+err.Error())
					continue
				}
			}
		}
		if err := json.Unmarshal(body, v); err != nil {
			s.replyError(scanID(body), codeInvalidRequest, "invalid request: "+strings.TrimPrefix(err.Error(), "jsonrpc2: "))
			continue
		}
		return nil
	}
}

// mapCancelID maps the id that a $/cancelRequest names as the request's
// own id was mapped. An id that is no id is left for the handler to
// refuse.
func (s *idStream) mapCancelID(body []byte) ([]byte, error) {
	var m struct {
		Params struct {
			ID json.RawMessage `json:"id"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &m) != nil || m.Params.ID == nil {
		return body, nil
	}
	id, err := wireID(m.Params.ID)
	if err != nil || !id.IsString || !strings.HasPrefix(id.Str, rawIDPrefix) {
		return body, nil
	}
	_, params, err := member(body, "params")
	if err != nil {
		return nil, err
	}
	tok, err := json.Marshal(id)
	if err != nil {
		return nil, err
	}
	if params, err = replaceMember(params, "id", tok); err != nil {
		return nil, err
	}
	return replaceMember(body, "params", params)
}

// WriteObject writes a message, putting back the ids idStream mapped.
func (s *idStream) WriteObject(obj any) error {
	data, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	if bytes.Contains(data, []byte(rawIDPrefix)) {
		rawID, method, err := envelope(data)
		if err == nil && method == nil && rawID != nil {
			var id jsonrpc2.ID
			if json.Unmarshal(rawID, &id) == nil && id.IsString && strings.HasPrefix(id.Str, rawIDPrefix) {
				if data, err = replaceMember(data, "id", idJSON(id)); err != nil {
					return err
				}
			}
		}
	}
	return s.conn.writeBody(data)
}

// replaceID rewrites the top-level "id" of a request to id.
func replaceID(body []byte, id jsonrpc2.ID) ([]byte, error) {
	b, err := json.Marshal(id)
	if err != nil {
		return nil, err
	}
	return replaceMember(body, "id", b)
}

// replaceMember returns msg with the value of its top-level member name
// replaced by value, everything else byte for byte as it was.
func replaceMember(msg []byte, name string, value []byte) ([]byte, error) {
	start, v, err := member(msg, name)
	if err != nil {
		return nil, err
	}
	end := start + len(v)
	out := make([]byte, 0, len(msg)-len(v)+len(value))
	out = append(out, msg[:start]...)
	out = append(out, value...)
	return append(out, msg[end:]...), nil
}

// member finds the value of msg's top-level member name (its name matched
// exactly): its offset and its text.
func member(msg []byte, name string) (int, []byte, error) {
	dec := json.NewDecoder(bytes.NewReader(msg))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return 0, nil, fmt.Errorf("the message is not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return 0, nil, err
		}
		afterKey := int(dec.InputOffset())
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return 0, nil, err
		}
		if tok != name {
			continue
		}
		end := int(dec.InputOffset())
		start := end - len(v)
		if start < afterKey {
			return 0, nil, fmt.Errorf("member %q has no value", name)
		}
		return start, msg[start:end], nil
	}
	return 0, nil, fmt.Errorf("the message has no member %q", name)
}

// checkSurrogates logs a message whose strings hold an escaped lone
// surrogate (valid JSON that encoding/json reads as U+FFFD) and tells the
// user once, as for invalid UTF-8.
func (s *idStream) checkSurrogates(body []byte) {
	at := loneSurrogate(body)
	if at < 0 {
		return
	}
	s.log.Warn("protocol: message holds an escaped lone surrogate; it reads as U+FFFD", zap.Int("byte", at), zap.Int("bytes", len(body)))
	if s.warn != nil && !s.warnedSurrogate {
		s.warnedSurrogate = true
		s.warn(fmt.Sprintf("nib: the editor sent a lone UTF-16 surrogate (\\u escape at byte %d of a message); it reads as U+FFFD, so positions after it may not match", at))
	}
}

// loneSurrogate returns the offset of the first \u escape in a valid JSON
// text that is a surrogate without its pair, or -1. Outside strings valid
// JSON has no backslash, so every backslash starts an escape.
func loneSurrogate(b []byte) int {
	for i := 0; ; {
		k := bytes.IndexByte(b[i:], '\\')
		if k < 0 {
			return -1
		}
		i += k
		if i+1 >= len(b) {
			return -1
		}
		if b[i+1] != 'u' {
			i += 2
			continue
		}
		r, ok := hex4(b, i+2)
		if !ok {
			return -1
		}
		switch {
		case 0xD800 <= r && r < 0xDC00:
			if i+11 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
				if lo, ok := hex4(b, i+8); ok && 0xDC00 <= lo && lo < 0xE000 {
					i += 12
					continue
				}
			}
			return i
		case 0xDC00 <= r && r < 0xE000:
			return i
		}
		i += 6
	}
}

// hex4 reads four hex digits at b[at:].
func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[at:at+4]), 16, 16)
	return rune(n), err == nil
}
