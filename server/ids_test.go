package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sourcegraph/jsonrpc2"
)

// TestRequestIDsAsSent: every integer and string id is answered under the
// id's own JSON text, whatever jsonrpc2 makes of it: negative numbers,
// numbers past uint64, escaped lone surrogates, strings that look like
// nib's own stand-ins.
func TestRequestIDsAsSent(t *testing.T) {
	c := startTestServer(t, serverOptions{})
	c.initialize(`{}`)
	for _, id := range []string{
		`-1`, `-2147483648`, `-9223372036854775808`, `18446744073709551615`,
		`18446744073709551616`, `123456789012345678901234567890`, `0`, `7`,
		`"\ud800"`, `"a\udc00b"`, `"\u00e9t\u00e9"`, `"été"`, `"x\"y"`,
		`"` + rawIDPrefix + `-1"`, `""`,
	} {
		c.send(`{"jsonrpc":"2.0","id":` + id + `,"method":"nib/stats"}`)
		m := c.reply(id)
		if m["error"] != nil || m["result"] == nil {
			t.Errorf("id %s: %s", id, c.dump())
		}
	}
	// Two requests whose ids differ only as JSON texts jsonrpc2 would
	// confuse (-1 and 2^64-1) are two requests.
	if n := c.count(func(m msg) bool { return string(m["id"]) == `18446744073709551615` }); n != 1 {
		t.Errorf("%d replies under 18446744073709551615, want 1 (the -1 reply must not be one)", n)
	}
}

// TestRequestIDsInvalid: a request whose id is null, a fraction, a
// boolean or an object gets -32600 (with a null id, as it has no usable
// one), not silence, and the connection goes on.
func TestRequestIDsInvalid(t *testing.T) {
	c := startTestServer(t, serverOptions{})
	c.initialize(`{}`)
	for _, tc := range []struct{ id, want string }{
		{`null`, "the id is null"},
		{`1.5`, "the id 1.5 is not an integer"},
		{`1e3`, "the id 1e3 is not an integer"},
		{`true`, "neither an integer nor a string"},
		{`{"a":1}`, "neither an integer nor a string"},
	} {
		before := c.count(func(m msg) bool { return m.errorCode() == codeInvalidRequest })
		c.send(`{"jsonrpc":"2.0","id":` + tc.id + `,"method":"nib/stats"}`)
		c.send(`{"jsonrpc":"2.0","id":"after","method":"nib/stats"}`)
		c.reply(`"after"`)
		var got []msg
		c.wait("-32600", func(m msg) bool {
			if m.errorCode() == codeInvalidRequest {
				got = append(got, m)
			}
			return len(got) > before
		})
		m := got[before]
		if string(m["id"]) != "null" || !strings.Contains(m.errorMessage(), tc.want) {
			t.Errorf("id %s: reply %v %q, want a null id and %q", tc.id, string(m["id"]), m.errorMessage(), tc.want)
		}
		c.mu.Lock()
		c.msgs = nil
		c.mu.Unlock()
	}
}

// TestCancelNegativeID: $/cancelRequest names a request by the id it was
// sent with, negative too.
func TestCancelNegativeID(t *testing.T) {
	started := make(chan struct{}, 1)
	testRequests["$/nib/test/block"] = func(*server, *jsonrpc2.Request) (func(context.Context) (any, error), error) {
		return func(ctx context.Context) (any, error) {
			started <- struct{}{}
			<-ctx.Done()
			return nil, ctx.Err()
		}, nil
	}
	t.Cleanup(func() { delete(testRequests, "$/nib/test/block") })
	c := startTestServer(t, serverOptions{testHooks: true})
	c.initialize(`{}`)
	for _, id := range []string{`-5`, `"\udbff"`} {
		c.send(`{"jsonrpc":"2.0","id":` + id + `,"method":"$/nib/test/block"}`)
		<-started
		c.send(`{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":` + id + `}}`)
		if m := c.reply(id); m.errorCode() != codeRequestCancelled {
			t.Errorf("cancelled request %s answered %s", id, c.dump())
		}
	}
}

func TestWireID(t *testing.T) {
	for raw, want := range map[string]jsonrpc2.ID{
		`42`:             {Num: 42},
		` 42 `:           {Num: 42},
		`"abc"`:          {Str: "abc", IsString: true},
		`-1`:             {Str: rawIDPrefix + `-1`, IsString: true},
		`"\ud800"`:       {Str: rawIDPrefix + `"\ud800"`, IsString: true},
		`"nib:raw-id:x"`: {Str: rawIDPrefix + `"nib:raw-id:x"`, IsString: true},
	} {
		got, err := wireID(json.RawMessage(raw))
		if err != nil || got != want {
			t.Errorf("wireID(%s) = %+v, %v; want %+v", raw, got, err, want)
		}
		if back := strings.TrimSpace(raw); string(idJSON(got)) != back {
			t.Errorf("idJSON(wireID(%s)) = %s, want %s", raw, idJSON(got), back)
		}
	}
	for _, raw := range []string{`null`, `01`, `-`, `1.0`, `[]`, `"unterminated`, ``} {
		if id, err := wireID(json.RawMessage(raw)); err == nil {
			t.Errorf("wireID(%s) = %+v, want an error", raw, id)
		}
	}
}

func TestLoneSurrogate(t *testing.T) {
	for in, want := range map[string]int{
		`"abc"`:                  -1,
		`"\ud83d\ude00"`:         -1,
		`"\\ud800"`:              -1, // an escaped backslash, then text
		`"\ud800"`:               1,
		`"x\udc00"`:              2,
		`"\ud83d\u0041"`:         1,
		`"\ud83d"`:               1,
		`"\n\ud83d\ude00\udfff"`: 15,
	} {
		if got := loneSurrogate([]byte(in)); got != want {
			t.Errorf("loneSurrogate(%s) = %d, want %d", in, got, want)
		}
	}
}

// TestLoneSurrogateReported: text with an escaped lone surrogate is read
// (as U+FFFD), logged, and the user is told once.
func TestLoneSurrogateReported(t *testing.T) {
	c := startTestServer(t, serverOptions{})
	c.initialize(`{}`)
	for i := 0; i < 2; i++ {
		c.send(`{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///s` + string(rune('0'+i)) + `.txt","languageId":"plaintext","version":1,"text":"a\ud800b"}}}`)
	}
	c.send(`{"jsonrpc":"2.0","id":1,"method":"nib/stats"}`)
	c.reply("1")
	shown := func(m msg) bool {
		return string(m["method"]) == `"window/showMessage"` && strings.Contains(string(m["params"]), "lone UTF-16 surrogate")
	}
	if n := c.count(shown); n != 1 {
		t.Errorf("%d messages about the lone surrogate, want 1:\n%s", n, c.dump())
	}
	if n := c.logs.FilterMessageSnippet("escaped lone surrogate").Len(); n != 2 {
		t.Errorf("%d log lines about lone surrogates, want 2", n)
	}
}
