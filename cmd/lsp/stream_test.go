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
	"testing"
	"time"

	"github.com/sourcegraph/jsonrpc2"
)

// frame frames body as a client would.
func frame(body string) string {
	return fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body)
}

// request is a well-formed request body with id and a text param.
func request(id int, text string) string {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "m", "params": map[string]any{"text": text}})
	return string(b)
}

// pieceReader hands out its data in reads of the sizes in pieces, in turn
// (at least one byte each), as a pipe may.
type pieceReader struct {
	data   []byte
	pieces []byte
	i      int
}

func (r *pieceReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := len(r.data)
	if len(r.pieces) > 0 {
		n = int(r.pieces[r.i%len(r.pieces)])%64 + 1
		r.i++
	}
	n = min(n, len(p), len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once,
// with a channel that signals each write.
type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{wrote: make(chan struct{}, 1)} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.b.Write(p)
	select {
	case s.wrote <- struct{}{}:
	default:
	}
	return n, err
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.b.Bytes()...)
}

// reply is an error response the stream wrote.
type reply struct {
	ID      json.RawMessage
	Code    int64
	Message string
}

// parseReplies reads out as frames, each of which must be a well-formed
// JSON-RPC error response: the exact header, a body of that length, and
// only the members jsonrpc "2.0", id (null, a number or a string) and
// error {code, message}.
func parseReplies(t testing.TB, out []byte) []reply {
	t.Helper()
	var replies []reply
	for len(out) > 0 {
		rest, ok := bytes.CutPrefix(out, []byte("Content-Length: "))
		if !ok {
			t.Fatalf("output does not start with a header: %q", clip(string(out)))
		}
		num, rest, ok := bytes.Cut(rest, []byte("\r\n\r\n"))
		n, err := strconv.Atoi(string(num))
		if !ok || err != nil || n > len(rest) {
			t.Fatalf("bad frame header %q in the output", clip(string(out)))
		}
		body := rest[:n]
		out = rest[n:]
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("reply %q is not a JSON object: %v", body, err)
		}
		var r reply
		var e struct {
			Code    *int64  `json:"code"`
			Message *string `json:"message"`
		}
		if string(m["jsonrpc"]) != `"2.0"` || len(m) != 3 || m["id"] == nil || json.Unmarshal(m["error"], &e) != nil || e.Code == nil || e.Message == nil || *e.Message == "" {
			t.Fatalf("reply %s is not a JSON-RPC error response", body)
		}
		switch id := m["id"]; {
		case string(id) == "null":
		case id[0] == '"' || id[0] == '-' || '0' <= id[0] && id[0] <= '9':
			r.ID = id
		default:
			t.Fatalf("reply %s has an id that is neither null, a number nor a string", body)
		}
		r.Code, r.Message = *e.Code, *e.Message
		replies = append(replies, r)
	}
	return replies
}

// readAll reads every message of r through a frameStream with the given
// size limit and returns the requests delivered, the error replies
// written and the error that ended the stream. Reading must end within
// ten seconds.
func readAll(t testing.TB, r io.Reader, limit int64) ([]jsonrpc2.Request, []reply, error) {
	t.Helper()
	out := newSyncBuffer()
	s := newFrameStream(r, out, nil, limit, nil)
	type result struct {
		msgs []jsonrpc2.Request
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var res result
		for {
			var m jsonrpc2.Request
			if err := s.ReadObject(&m); err != nil {
				res.err = err
				done <- res
				return
			}
			res.msgs = append(res.msgs, m)
		}
	}()
	select {
	case res := <-done:
		return res.msgs, parseReplies(t, out.Bytes()), res.err
	case <-time.After(10 * time.Second):
		t.Fatalf("the stream is still reading 10 s after its input ended")
		return nil, nil, nil
	}
}

// texts returns the text param of each request.
func texts(t testing.TB, msgs []jsonrpc2.Request) []string {
	t.Helper()
	var out []string
	for _, m := range msgs {
		var p struct{ Text string }
		if m.Params == nil || json.Unmarshal(*m.Params, &p) != nil {
			t.Fatalf("message %+v has no text param", m)
		}
		out = append(out, p.Text)
	}
	return out
}

// TestFrameStream feeds each kind of bad frame followed by a good one: the
// bad frame is answered with an error naming the problem (under its id
// where it has one), and the good one is delivered.
func TestFrameStream(t *testing.T) {
	good := frame(request(100, "after"))
	cases := []struct {
		name  string
		input string
		code  int64
		id    string // "" for null
		want  string
		// delivered are the texts of the messages delivered; nil means
		// only the good one after the bad.
		delivered []string
	}{
		{"malformed JSON", frame(`{"jsonrpc":"2.0","id":3,"method":"m",}`), -32700, "3", "not valid JSON (invalid character '}'", nil},
		{"Content-Length too short", "Content-Length: 20\r\n\r\n" + request(4, "cut here"), -32700, "4", "ends inside its JSON after 20 bytes: is its Content-Length too short?", nil},
		{"Content-Length too long", "Content-Length: 150\r\n\r\n" + request(5, "x"), -32600, "5", "Content-Length is 150 but the message's JSON ends after", nil},
		{"not a request", frame(`{"jsonrpc":"2.0","id":6}`), -32600, "6", "invalid request", nil},
		{"string id", frame(`{"jsonrpc":"2.0","id":"a\"b","method":}`), -32700, `"a\"b"`, "not valid JSON", nil},
		{"over the limit", frame(request(7, strings.Repeat("x", 300))), -32600, "7", "exceeds the limit of 200 bytes", nil},
		{"garbage before a header", "hello" + frame(request(8, "kept")), -32700, "", `5 bytes that are no message before a header: "hello"`, []string{"kept", "after"}},
		{"no Content-Length", "Content-Type: text/plain\r\n\r\n" + request(9, "x"), -32700, "", "without a Content-Length", nil},
		{"bad Content-Length", "Content-Length: 12x\r\n\r\n" + request(10, "x"), -32700, "", `bad Content-Length "12x"`, nil},
		{"negative Content-Length", "Content-Length: -4\r\n\r\n" + request(10, "x"), -32700, "", `bad Content-Length "-4"`, nil},
		{"two Content-Lengths", "Content-Length: 4\r\n" + frame(request(10, "second")), -32700, "", "two Content-Length headers (4, then 6", []string{"second", "after"}},
		{"space before the colon", "Content-Length : 4\r\n\r\n{}{}", -32700, "", `"Content-Length : 4" is not a header line`, nil},
		{"not a header", "{\"jsonrpc\": \"2.0\"}\r\n\r\n", -32700, "", "is not a header line", nil},
		{"overlong header", strings.Repeat("X", maxHeaderLine+10) + "\r\n", -32700, "", "header line longer than 4096 bytes", nil},
		{"JSON-RPC batch", frame(`[` + request(11, "x") + `]`), -32600, "", "invalid request", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := c.delivered
			if want == nil {
				want = []string{"after"}
			}
			for _, pieces := range [][]byte{nil, {0}, {6, 60, 2}} {
				msgs, replies, err := readAll(t, &pieceReader{data: []byte(c.input + good), pieces: pieces}, 200)
				if err != io.EOF {
					t.Fatalf("pieces %v: stream ended with %v, want io.EOF", pieces, err)
				}
				if got := texts(t, msgs); strings.Join(got, ",") != strings.Join(want, ",") {
					t.Fatalf("pieces %v: delivered %q, want %q", pieces, got, want)
				}
				if len(replies) != 1 {
					t.Fatalf("pieces %v: %d replies %+v, want 1", pieces, len(replies), replies)
				}
				r := replies[0]
				if r.Code != c.code || string(r.ID) != c.id || !strings.Contains(r.Message, c.want) {
					t.Errorf("pieces %v: reply %d %s %q, want %d %s mentioning %q", pieces, r.Code, r.ID, r.Message, c.code, c.id, c.want)
				}
			}
		})
	}
}

// TestFrameStreamLenient: lowercase headers, bare \n line endings, blank
// lines between messages and other headers are accepted.
func TestFrameStreamLenient(t *testing.T) {
	b1, b2, b3 := request(1, "one"), request(2, "two"), request(3, "three")
	input := fmt.Sprintf("\r\n\r\ncontent-length: %d\n\n%s  \n"+
		"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length:%d\r\n\r\n%s"+
		"Content-Length: %d\r\nContent-Length: %d\r\n\r\n%s", len(b1), b1, len(b2), b2, len(b3), len(b3), b3)
	msgs, replies, err := readAll(t, strings.NewReader(input), 1<<20)
	if err != io.EOF || len(replies) != 0 {
		t.Fatalf("ended with %v and replies %+v", err, replies)
	}
	if got := texts(t, msgs); strings.Join(got, ",") != "one,two,three" {
		t.Fatalf("delivered %q", got)
	}
}

// TestFrameStreamEndsInsideMessage: the input ending inside the headers or
// a body ends the stream with io.ErrUnexpectedEOF, after answering the
// truncated request under its id.
func TestFrameStreamEndsInsideMessage(t *testing.T) {
	body := request(12, "truncated")
	for _, c := range []struct {
		input, id, want string
	}{
		{"Content-Length: 50\r\nContent-Ty", "", "the input ended inside the headers"},
		{fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body[:20]), "12", "the input ended 20 bytes into a message of"},
		{fmt.Sprintf("Content-Length: %d\r\n\r\n", 1000), "", "the input ended 0 bytes into a message of 1000"},
		{"Content-Length: 5000\r\n\r\n" + `{"id":13,"method":"m","params":{"text":"` + strings.Repeat("x", 300), "13", "the input ended 3"},
	} {
		msgs, replies, err := readAll(t, strings.NewReader(frame(request(1, "first"))+c.input), 200)
		if err != io.ErrUnexpectedEOF {
			t.Errorf("%q: ended with %v, want io.ErrUnexpectedEOF", c.input, err)
		}
		if len(msgs) != 1 {
			t.Errorf("%q: %d messages delivered, want the one before", c.input, len(msgs))
		}
		if len(replies) != 1 || string(replies[0].ID) != c.id || !strings.Contains(replies[0].Message, c.want) {
			t.Errorf("%q: replies %+v, want one with id %q mentioning %q", c.input, replies, c.id, c.want)
		}
	}
}

// TestFrameStreamStall: a Content-Length longer than a message that ends
// in silence is noticed once the client falls silent; the message is
// answered and what comes later is read.
func TestFrameStreamStall(t *testing.T) {
	pr, pw := io.Pipe()
	out := newSyncBuffer()
	s := newFrameStream(pr, out, nil, 1<<20, nil)
	s.stall = 20 * time.Millisecond
	got := make(chan jsonrpc2.Request, 1)
	go func() {
		var m jsonrpc2.Request
		if err := s.ReadObject(&m); err == nil {
			got <- m
		}
		close(got)
	}()
	body := request(21, "too long")
	// Written in two pieces, with the JSON whole only at the end: a
	// pause inside a body is no lie.
	fmt.Fprintf(pw, "Content-Length: %d\r\n\r\n%s", len(body)+40, body[:10])
	time.Sleep(3 * s.stall) // the writer's pause, not a synchronisation
	io.WriteString(pw, body[10:])
	for len(parseReplies(t, out.Bytes())) == 0 {
		select {
		case <-out.wrote:
		case <-time.After(10 * time.Second):
			t.Fatal("no reply 10 s after the client fell silent")
		}
	}
	r := parseReplies(t, out.Bytes())
	if len(r) != 1 || string(r[0].ID) != "21" || !strings.Contains(r[0].Message, fmt.Sprintf("Content-Length is %d", len(body)+40)) {
		t.Fatalf("replies %+v", r)
	}
	io.WriteString(pw, frame(request(22, "next")))
	m, ok := <-got
	if !ok || m.ID.Num != 22 {
		t.Fatalf("after the lie: %+v, %v; want request 22", m, ok)
	}
	pw.Close()
}

// TestFrameStreamInvalidUTF8: strings that are not UTF-8 are read with
// U+FFFD for each bad byte, as encoding/json does, and the user is warned
// once.
func TestFrameStreamInvalidUTF8(t *testing.T) {
	body := `{"jsonrpc":"2.0","id":1,"method":"m","params":{"text":"a` + "\xff\xe4\xb8" + `b"}}`
	input := frame(body) + frame(body)
	out := newSyncBuffer()
	s := newFrameStream(strings.NewReader(input), out, nil, 1<<20, nil)
	var warnings []string
	s.warn = func(msg string) { warnings = append(warnings, msg) }
	for range 2 {
		var m jsonrpc2.Request
		if err := s.ReadObject(&m); err != nil {
			t.Fatal(err)
		}
		if got := texts(t, []jsonrpc2.Request{m}); got[0] != "a\uFFFD\uFFFD\uFFFDb" {
			t.Errorf("text %q, want each invalid byte as U+FFFD", got[0])
		}
	}
	at := fmt.Sprintf("not valid UTF-8 (byte %d of a message)", strings.IndexByte(body, 0xff))
	if len(warnings) != 1 || !strings.Contains(warnings[0], at) {
		t.Errorf("warnings %q, want one naming the byte", warnings)
	}
}

// FuzzFrame reads arbitrary bytes followed by well-formed frames, in
// pieces of arbitrary sizes. The stream must never panic, must end (with
// io.EOF or io.ErrUnexpectedEOF) once the input does, must write only
// well-formed error responses, and, when the garbage does not itself
// claim a body (it holds no "Content-Length:"), must deliver every frame
// after it, unchanged and in order.
func FuzzFrame(f *testing.F) {
	f.Add([]byte(""), "hello", []byte{0})
	f.Add([]byte("garbage"), "text with Content-Length: 5 inside", []byte{3, 9})
	f.Add([]byte("Content-Length: 3\r\n\r\n{}}"), "x", []byte{})
	f.Add([]byte("Content-Length: 40\r\n\r\n{\"id\":1}"), "é\xff", []byte{1})
	f.Add([]byte("X: y\r\n\r\n{\"jsonrpc\":\"2.0\"}\n"), "\r\n\r\n", []byte{2, 200})
	f.Add([]byte("Content-Length: 99999999\r\n\r\n"), "", []byte{63})
	f.Add([]byte("content-length: 12\n\n[1,2,3]     "), "}", []byte{5})
	f.Add([]byte("Content-Length: 5\r\nContent-Length: 5\r\n\r\n{\"a\":"), "]", []byte{})
	f.Add([]byte(strings.Repeat("h", maxHeaderLine+1)), "long", []byte{63, 63})
	f.Add([]byte("Content-Length: 10\r\n\r\n"+request(1, "short")), "after short", []byte{7})
	f.Add([]byte("Content-Length: 300\r\n\r\n"+request(1, "long")), "after long", []byte{7})
	f.Add([]byte("\r\n\r\nContent-Type: a\r\n"), "ok", []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, garbage []byte, payload string, pieces []byte) {
		const limit = 512
		var want []string
		var input bytes.Buffer
		input.Write(garbage)
		for i := range 3 {
			text := fmt.Sprintf("%d %s", i, payload)
			body := request(i, text)
			for len(body) > limit {
				text = text[:len(text)/2]
				body = request(i, text)
			}
			var m struct{ Params struct{ Text string } }
			json.Unmarshal([]byte(body), &m)
			want = append(want, m.Params.Text)
			input.WriteString(frame(body))
		}
		msgs, _, err := readAll(t, &pieceReader{data: input.Bytes(), pieces: pieces}, limit)
		if err != io.EOF && err != io.ErrUnexpectedEOF {
			t.Fatalf("stream ended with %v", err)
		}
		if indexMarker(garbage) >= 0 {
			return
		}
		if err != io.EOF {
			t.Fatalf("stream ended with %v, want io.EOF after whole frames", err)
		}
		got := texts(t, msgs)
		if len(got) < len(want) || strings.Join(got[len(got)-len(want):], "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("delivered %q, want %q at the end", got, want)
		}
		if len(got) != len(want) {
			t.Fatalf("garbage without a Content-Length delivered messages: %q", got[:len(got)-len(want)])
		}
	})
}

// errReader fails with err after its data.
type errReader struct {
	data []byte
	err  error
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestFrameStreamReadError: a read error other than the end of the input
// ends the stream with that error.
func TestFrameStreamReadError(t *testing.T) {
	boom := errors.New("boom")
	_, _, err := readAll(t, &errReader{data: []byte("Content-Length: 4\r\n"), err: boom}, 100)
	if !errors.Is(err, boom) {
		t.Fatalf("ended with %v, want boom", err)
	}
}

// chunkReader hands out its data in reads of at most size bytes, as a
// pipe with a full buffer does.
type chunkReader struct {
	data []byte
	size int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(r.size, len(p), len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// largeBodies are didOpen-like messages of about size bytes whose text
// (or params) stress the body checks: a string of '}' ends every chunk
// like a whole JSON value; nested objects keep the depth moving; 'a' is
// the plain case.
func largeBodies(size int) map[string]string {
	open := func(text string) string {
		b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": map[string]any{"textDocument": map[string]any{"uri": "file:///big.txt", "text": text}}})
		return string(b)
	}
	objects := strings.Repeat(`{"k":[1,2]},`, size/12)
	return map[string]string{
		"braces":      open(strings.Repeat("}", size)),
		"a":           open(strings.Repeat("a", size)),
		"objects":     open(objects),
		"raw-objects": `{"jsonrpc":"2.0","method":"m","params":[` + objects + `{}]}`,
	}
}

// BenchmarkFrameLargeBody reads one 32 MB message delivered in 64 KB
// chunks, as a pipe delivers a large didOpen.
func BenchmarkFrameLargeBody(b *testing.B) {
	const size = 32 << 20
	bodies := largeBodies(size)
	for _, name := range []string{"braces", "a", "objects", "raw-objects"} {
		input := []byte(frame(bodies[name]))
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(input)))
			for b.Loop() {
				s := newFrameStream(&chunkReader{data: input, size: 64 << 10}, io.Discard, nil, 1<<30, nil)
				var m jsonrpc2.Request
				if err := s.ReadObject(&m); err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
		})
	}
}
