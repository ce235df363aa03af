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
	"testing"
	"time"

	"github.com/sourcegraph/jsonrpc2"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
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

// maxOutput bounds what a syncBuffer keeps, so that a stream answering
// the same frame for ever fails its test instead of filling the memory.
const maxOutput = 1 << 20

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len()+len(p) > maxOutput {
		return 0, errors.New("more output than any test expects")
	}
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

// TestFrameStreamStall: a body whose JSON is whole before its
// Content-Length is, after which the client falls silent, is read as the
// message once the silence shows it (the client waits for the answer);
// what comes next is read, and the length is logged as too long when a
// header comes where its missing bytes should.
func TestFrameStreamStall(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	l := startLive(t, 1<<20, 20*time.Millisecond, zap.New(core))
	body := request(21, "too long")
	// Written in two pieces, with the JSON whole only at the end: a
	// pause inside a body is no lie.
	l.write(t, fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body)+40, body[:10]))
	time.Sleep(3 * l.s.stall) // the writer's pause, not a synchronisation
	l.write(t, body[10:])
	if m := l.next(t); m.ID.Num != 21 {
		t.Fatalf("delivered %+v, want request 21", m)
	}
	l.write(t, frame(request(22, "next")))
	if m := l.next(t); m.ID.Num != 22 {
		t.Fatalf("after the lie: %+v, want request 22", m)
	}
	if r := parseReplies(t, l.out.Bytes()); len(r) != 0 {
		t.Fatalf("replies %+v, want none", r)
	}
	lie := logs.FilterMessageSnippet("Content-Length of a message read after the client fell silent was too long").All()
	if len(lie) != 1 || lie[0].ContextMap()["by"] != int64(40) {
		t.Errorf("logged %+v, want the length 40 bytes too long", logs.All())
	}
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
// pieces of arbitrary sizes. The stream must never panic, must end with
// io.EOF once the input does, must write only well-formed error
// responses, and must deliver every frame after the garbage, unchanged and
// in order, last: whatever body a header in the garbage claims, it cannot
// hide the header line of the first frame. When the garbage does not
// itself claim a body (it holds no "Content-Length:"), nothing else is
// delivered.
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
	// An overlong line that starts with a header, and bare-CR line ends.
	f.Add([]byte("Content-Length: 1"+strings.Repeat("x", 5000)), "after a long line", []byte{63})
	f.Add([]byte("Content-Length: 600\r\r"+strings.Repeat("}", 5000)), "after bare CRs", []byte{})
	// Content-Lengths over the limit on short or cut messages.
	f.Add([]byte("Content-Length: 513\r\n\r\n"+request(1, "short")), "after 513", []byte{9})
	f.Add([]byte("Content-Length: 4611686018427387904\r\n\r\n{\"id\":1,\"method\":\"m"), "after 2^62", []byte{})
	// A length that runs past a cut body into the next header.
	f.Add([]byte("Content-Length: 103\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":4242,\"method\":\"nib/st"), "after a cut body", []byte{4, 60})
	f.Add([]byte("Content-Length: 60\r\n\r\n"), "after no body", []byte{})
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
		if err != io.EOF {
			t.Fatalf("stream ended with %v, want io.EOF after whole frames", err)
		}
		if len(msgs) < len(want) {
			t.Fatalf("%d messages delivered, want the %d frames at the end", len(msgs), len(want))
		}
		got := texts(t, msgs[len(msgs)-len(want):])
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("delivered %q, want %q at the end", got, want)
		}
		if indexMarker(garbage) < 0 && len(msgs) != len(want) {
			t.Fatalf("garbage without a Content-Length delivered messages: %+v", msgs[:len(msgs)-len(want)])
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
// chunks, as a pipe delivers a large didOpen: the framing alone, and
// ReadObject, which adds jsonrpc2's decoding of the request.
func BenchmarkFrameLargeBody(b *testing.B) {
	const size = 32 << 20
	bodies := largeBodies(size)
	for _, name := range []string{"braces", "a", "objects", "raw-objects"} {
		input := []byte(frame(bodies[name]))
		b.Run(name+"/frame", func(b *testing.B) {
			b.SetBytes(int64(len(input)))
			for b.Loop() {
				s := newFrameStream(&chunkReader{data: input, size: 64 << 10}, io.Discard, nil, 1<<30, nil)
				if body, err := s.next(); err != nil || len(body) != len(bodies[name]) {
					b.Fatalf("read %d bytes, %v", len(body), err)
				}
				s.Close()
			}
		})
		b.Run(name+"/ReadObject", func(b *testing.B) {
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

// liveStream is a frameStream reading from a pipe the test writes to with
// pauses of its own, delivering each message it reads on msgs.
type liveStream struct {
	s    *frameStream
	w    *io.PipeWriter
	out  *syncBuffer
	msgs chan jsonrpc2.Request
	done chan error // what ended the stream
}

func startLive(t *testing.T, limit int64, stall time.Duration, log *zap.Logger) *liveStream {
	t.Helper()
	pr, pw := io.Pipe()
	l := &liveStream{w: pw, out: newSyncBuffer(), msgs: make(chan jsonrpc2.Request, 16), done: make(chan error, 1)}
	l.s = newFrameStream(pr, l.out, nil, limit, log)
	l.s.stall = stall
	go func() {
		for {
			var m jsonrpc2.Request
			if err := l.s.ReadObject(&m); err != nil {
				l.done <- err
				return
			}
			l.msgs <- m
		}
	}()
	t.Cleanup(func() { pw.Close(); l.s.Close() })
	return l
}

// write writes s whole; the pipe returns once the stream has read it.
func (l *liveStream) write(t *testing.T, s string) {
	t.Helper()
	if _, err := io.WriteString(l.w, s); err != nil {
		t.Fatal(err)
	}
}

// next waits for the next message delivered.
func (l *liveStream) next(t *testing.T) jsonrpc2.Request {
	t.Helper()
	select {
	case m := <-l.msgs:
		return m
	case err := <-l.done:
		t.Fatalf("stream ended with %v; replies %+v", err, parseReplies(t, l.out.Bytes()))
	case <-time.After(10 * time.Second):
		t.Fatalf("no message 10 s after it was written; replies %+v", parseReplies(t, l.out.Bytes()))
	}
	return jsonrpc2.Request{}
}

// replies waits until the stream has written n error replies and returns
// them.
func (l *liveStream) replies(t *testing.T, n int) []reply {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if r := parseReplies(t, l.out.Bytes()); len(r) >= n {
			return r
		}
		select {
		case <-l.out.wrote:
		case <-deadline:
			t.Fatalf("%d replies 10 s on, want %d", len(parseReplies(t, l.out.Bytes())), n)
		}
	}
}

// checkOneReply asserts that replies is one error with the code and id
// whose message holds each of want.
func checkOneReply(t *testing.T, replies []reply, code int64, id string, want ...string) {
	t.Helper()
	if len(replies) != 1 {
		t.Fatalf("%d replies %+v, want 1", len(replies), replies)
	}
	r := replies[0]
	if r.Code != code || string(r.ID) != id {
		t.Errorf("reply %d %s %q, want %d %s", r.Code, r.ID, r.Message, code, id)
	}
	for _, w := range want {
		if !strings.Contains(r.Message, w) {
			t.Errorf("reply %q does not mention %q", r.Message, w)
		}
	}
}

// TestFrameStreamOverlongLine: a header line over maxHeaderLine, even one
// that starts with "Content-Length:" and never ends (a body glued to its
// header, bare-CR line ends), is answered once and skipped to the next
// header, whether the next frame comes with it or after a pause.
func TestFrameStreamOverlongLine(t *testing.T) {
	good := frame(request(100, "after"))
	big := request(1, strings.Repeat("x", 5000))
	for _, c := range []struct{ name, input string }{
		{"a length glued to 5000 bytes", "Content-Length: 1" + strings.Repeat("x", 5000)},
		{"bare CR line ends", fmt.Sprintf("Content-Length: %d\r\r%s", len(big), big)},
		{"bare CR, blank line too", fmt.Sprintf("Content-Length: %d\r\r\r\r%s", len(big), big)},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, pieces := range [][]byte{nil, {0}, {6, 60, 2}} {
				msgs, replies, err := readAll(t, &pieceReader{data: []byte(c.input + good), pieces: pieces}, 1<<20)
				if err != io.EOF {
					t.Fatalf("pieces %v: stream ended with %v, want io.EOF", pieces, err)
				}
				if got := texts(t, msgs); strings.Join(got, ",") != "after" {
					t.Fatalf("pieces %v: delivered %q, want the good frame", pieces, got)
				}
				checkOneReply(t, replies, -32700, "", "header line longer than 4096 bytes")
			}
			// The next frame only after the long line was answered.
			l := startLive(t, 1<<20, time.Minute, nil)
			l.write(t, c.input)
			checkOneReply(t, l.replies(t, 1), -32700, "", "header line longer than 4096 bytes")
			l.write(t, good)
			if m := l.next(t); m.ID.Num != 100 {
				t.Fatalf("delivered %+v, want request 100", m)
			}
			checkOneReply(t, parseReplies(t, l.out.Bytes()), -32700, "", "header line longer")
		})
	}
}

// TestFrameStreamOverLimitLie: a Content-Length over the limit on a short
// message is answered with -32600 naming the length and the limit, and the
// next message is read: one right behind, one after the short message's
// JSON was cut, and one after a silence.
func TestFrameStreamOverLimitLie(t *testing.T) {
	good := frame(request(100, "after"))
	short := request(31, "short")
	cut := `{"jsonrpc":"2.0","id":33,"method":"m","par`
	for _, c := range []struct {
		name, input, id string
		want            []string
	}{
		{"one byte over", "Content-Length: 201\r\n\r\n" + short, "31",
			[]string{"Content-Length is 201, over the limit of 200 bytes", "JSON ends after " + strconv.Itoa(len(short)) + " bytes"}},
		{"2^62", "Content-Length: 4611686018427387904\r\n\r\n" + short, "31",
			[]string{"Content-Length is 4611686018427387904, over the limit of 200 bytes"}},
		{"cut JSON", "Content-Length: 4611686018427387904\r\n\r\n" + cut, "33",
			[]string{"Content-Length is 4611686018427387904, over the limit of 200 bytes", fmt.Sprintf("another message begins %d bytes into it", len(cut))}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, pieces := range [][]byte{nil, {0}, {6, 60, 2}} {
				msgs, replies, err := readAll(t, &pieceReader{data: []byte(c.input + good), pieces: pieces}, 200)
				if err != io.EOF {
					t.Fatalf("pieces %v: stream ended with %v, want io.EOF", pieces, err)
				}
				if got := texts(t, msgs); strings.Join(got, ",") != "after" {
					t.Fatalf("pieces %v: delivered %q, want the good frame", pieces, got)
				}
				checkOneReply(t, replies, -32600, c.id, c.want...)
			}
		})
	}
	t.Run("silence", func(t *testing.T) {
		l := startLive(t, 200, 20*time.Millisecond, nil)
		l.write(t, "Content-Length: 201\r\n\r\n"+short)
		checkOneReply(t, l.replies(t, 1), -32600, "31", "Content-Length is 201, over the limit of 200 bytes", "nothing more came")
		l.write(t, good)
		if m := l.next(t); m.ID.Num != 100 {
			t.Fatalf("delivered %+v, want request 100", m)
		}
	})
}

// TestFrameStreamCutByHeader: a Content-Length that runs past a body cut
// short (or malformed), into the next message's header, costs only that
// body: it is answered under its id and the next message is read, also
// when the next message is shorter than the overrun and nothing follows.
func TestFrameStreamCutByHeader(t *testing.T) {
	good := frame(request(100, "after"))
	cut := `{"jsonrpc":"2.0","id":4242,"method":"nib/st`
	bad := `{"jsonrpc":"2.0","id":4243,"method":"m",}`
	for _, c := range []struct {
		name, input, id string
		code            int64
		want            string
	}{
		{"60 too long", fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(cut)+60, cut), "4242", -32700,
			fmt.Sprintf("cut off after %d bytes by the header of another message", len(cut))},
		{"longer than what follows", fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(cut)+500, cut), "4242", -32700,
			fmt.Sprintf("cut off after %d bytes by the header of another message", len(cut))},
		{"ending in the next marker", fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(cut)+4, cut), "4242", -32700,
			fmt.Sprintf("cut off after %d bytes by the header of another message", len(cut))},
		{"ending in the next length", fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(cut)+17, cut), "4242", -32700,
			fmt.Sprintf("cut off after %d bytes by the header of another message", len(cut))},
		{"malformed", fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(bad)+60, bad), "4243", -32700,
			"not valid JSON (invalid character '}'"},
		{"no body at all", "Content-Length: 60\r\n\r\n", "", -32700,
			"cut off after 0 bytes by the header of another message"},
		{"a whole value, a space, a header", fmt.Sprintf("Content-Length: %d\r\n\r\n%s \n", len(request(5, "x"))+80, request(5, "x")), "5", -32600,
			fmt.Sprintf("Content-Length is %d but the message's JSON ends after", len(request(5, "x"))+80)},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, pieces := range [][]byte{nil, {0}, {6, 60, 2}} {
				msgs, replies, err := readAll(t, &pieceReader{data: []byte(c.input + good), pieces: pieces}, 1<<20)
				if err != io.EOF {
					t.Fatalf("pieces %v: stream ended with %v, want io.EOF", pieces, err)
				}
				if got := texts(t, msgs); strings.Join(got, ",") != "after" {
					t.Fatalf("pieces %v: delivered %q, want the good frame", pieces, got)
				}
				checkOneReply(t, replies, c.code, c.id, c.want)
			}
		})
	}
	// The window ends inside the next marker and the client pauses
	// there: what may be a header is taken for one.
	t.Run("pause inside the next marker", func(t *testing.T) {
		l := startLive(t, 1<<20, 20*time.Millisecond, nil)
		l.write(t, fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(cut)+4, cut)+good[:4])
		checkOneReply(t, l.replies(t, 1), -32700, "4242", fmt.Sprintf("cut off after %d bytes", len(cut)))
		l.write(t, good[4:])
		if m := l.next(t); m.ID.Num != 100 {
			t.Fatalf("delivered %+v, want request 100", m)
		}
	})
}

// TestFrameStreamSlowTail: bytes of a body that come after a pause longer
// than the stall are the message's, not a sign of a lying Content-Length:
// a body whose JSON is whole and whose counted trailing whitespace comes
// late is read as the message, and so is the one after it.
func TestFrameStreamSlowTail(t *testing.T) {
	for _, tail := range []string{"\r\n", " \t \n\n"} {
		l := startLive(t, 1<<20, 20*time.Millisecond, nil)
		body := request(41, "slow") + tail
		l.write(t, fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body[:len(body)-len(tail)]))
		time.Sleep(5 * l.s.stall) // the client's pause, not a synchronisation
		for i := range tail {
			l.write(t, tail[i:i+1])
			time.Sleep(2 * l.s.stall)
		}
		l.write(t, frame(request(42, "next")))
		for _, id := range []uint64{41, 42} {
			if m := l.next(t); m.ID.Num != id {
				t.Fatalf("tail %q: delivered %+v, want request %d", tail, m, id)
			}
		}
		if r := parseReplies(t, l.out.Bytes()); len(r) != 0 {
			t.Fatalf("tail %q: replies %+v, want none", tail, r)
		}
	}
}

// TestFrameStreamLinear: a large body is read in time linear in its size,
// whatever its bytes: the bytes the body checks examine stay within a few
// times the message's size, where checking the whole body again after
// each chunk would examine it hundreds of times. A message over the limit
// is skipped with little of it held at once.
func TestFrameStreamLinear(t *testing.T) {
	const size = 8 << 20
	for name, body := range largeBodies(size) {
		input := frame(body) + frame(request(100, "after"))
		for _, limit := range []int64{1 << 30, 1 << 16} {
			out := newSyncBuffer()
			s := newFrameStream(&chunkReader{data: []byte(input), size: 64 << 10}, out, nil, limit, nil)
			var got []jsonrpc2.Request
			for {
				var m jsonrpc2.Request
				if err := s.ReadObject(&m); err != nil {
					if err != io.EOF {
						t.Fatalf("%s: %v", name, err)
					}
					break
				}
				got = append(got, m)
			}
			replies := parseReplies(t, out.Bytes())
			if limit > size {
				if len(got) != 2 || len(replies) != 0 {
					t.Fatalf("%s: %d messages and replies %+v, want 2 and none", name, len(got), replies)
				}
				if !bytes.Equal(*got[0].Params, json.RawMessage(body[strings.Index(body, `"params":`)+len(`"params":`):len(body)-1])) {
					t.Errorf("%s: params changed", name)
				}
			} else {
				if len(got) != 1 || len(replies) != 1 || !strings.Contains(replies[0].Message, "exceeds the limit") {
					t.Fatalf("%s over the limit: %d messages and replies %+v", name, len(got), replies)
				}
				if s.held > 1<<20 {
					t.Errorf("%s over the limit: %d bytes held at once", name, s.held)
				}
			}
			t.Logf("%s, limit %d: %.2f bytes examined per byte of input, %d held", name, limit, float64(s.examined)/float64(len(input)), s.held)
			if s.examined > 4*int64(len(input)) {
				t.Errorf("%s, limit %d: %d bytes examined for %d of input: not linear", name, limit, s.examined, len(input))
			}
		}
	}
}
