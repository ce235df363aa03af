package server

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestParamsStrict: params are read as the wire spells them. Each request
// is refused with -32602 and a message naming the wire field.
func TestParamsStrict(t *testing.T) {
	c := startTestServer(t, serverOptions{})
	c.initialize(`{}`)
	c.send(`{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///a.txt","languageId":"plaintext","version":1,"text":"Hello there."}}}`)
	doc := `"textDocument":{"uri":"file:///a.txt"}`
	for i, tc := range []struct{ method, params, want string }{
		{"nib/complete", `{` + doc + `}`, `nib/complete: field "position" is missing`},
		{"nib/complete", `{` + doc + `,"position":null}`, `nib/complete: field "position" is null`},
		{"nib/complete", `{` + doc + `,"position":{"line":0}}`, `field "position.character" is missing`},
		{"textDocument/inlineCompletion", `{` + doc + `,"position":null}`, `field "position" is null`},
		{"nib/complete", `{"TEXTDOCUMENT":{"uri":"file:///a.txt"},"position":{"line":0,"character":0}}`, `field "TEXTDOCUMENT" is unknown: names are case-sensitive, and this one is "textDocument"`},
		{"nib/complete", `{"textDocument":{"URI":"file:///a.txt"},"position":{"line":0,"character":0}}`, `field "textDocument.URI" is unknown`},
		{"nib/complete", `{` + doc + `,"position":{"line":0,"character":0},"n":"two"}`, `nib/complete: field "n": string is not an integer`},
		{"nib/rewrite", `{` + doc + `,"range":{"start":{"line":0,"character":0},"end":{"line":0,"character":5}},"instruction":"x","temperature":true}`, `field "temperature": boolean is not a number`},
		{"nib/rewrite", `{` + doc + `,"instruction":"x"}`, `field "range" is missing`},
		{"nib/complete", `{` + doc + `,"position":{"line":0,"character":1.5}}`, `field "position.character": 1.5 is not an integer`},
		{"textDocument/codeAction", `{` + doc + `,"range":{"start":{"line":0,"character":0}}}`, `field "range.end" is missing`},
		{"workspace/executeCommand", `{"command":"nib.rewrite","arguments":[{` + doc + `,"range":{"start":{"line":0,"character":0},"end":{"line":0,"character":5}},"Instruction":"x"}]}`, `field "arguments.Instruction" is unknown`},
	} {
		id := fmt.Sprint(100 + i)
		c.send(`{"jsonrpc":"2.0","id":` + id + `,"method":"` + tc.method + `","params":` + tc.params + `}`)
		m := c.reply(id)
		if m.errorCode() != codeInvalidParams || !strings.Contains(m.errorMessage(), tc.want) {
			t.Errorf("%s %s: %s, want -32602 with %q", tc.method, tc.params, m["error"], tc.want)
		}
	}
	// A notification with a case-mangled field is refused and the user
	// is told; the document is not opened.
	c.send(`{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"TextDocument":{"uri":"file:///b.txt","languageId":"plaintext","version":1,"text":"x"}}}`)
	c.wait("a message about the bad didOpen", func(m msg) bool {
		return string(m["method"]) == `"window/showMessage"` && strings.Contains(string(m["params"]), `field \"TextDocument\" is unknown`)
	})
	c.send(`{"jsonrpc":"2.0","id":"b","method":"textDocument/codeAction","params":{"textDocument":{"uri":"file:///b.txt"},"range":{"start":{"line":0,"character":0},"end":{"line":0,"character":0}}}}`)
	if m := c.reply(`"b"`); m.errorCode() != codeInvalidParams || !strings.Contains(m.errorMessage(), "not open") {
		t.Errorf("code action on a document whose didOpen was refused: %s", m["error"])
	}
}

// TestSettingsStrict: settings names are case-sensitive too.
func TestSettingsStrict(t *testing.T) {
	st := defaultSettings()
	if _, err := st.merge([]byte(`{"MaxInputTokens": 100}`)); err == nil || !strings.Contains(err.Error(), `field "MaxInputTokens" is unknown: names are case-sensitive, and this one is "maxInputTokens"`) {
		t.Errorf("merge of a case-mangled name: %v", err)
	}
	next, err := st.merge([]byte(`{"maxInputTokens": 100, "someFutureSetting": 1}`))
	if err != nil || next.MaxInputTokens != 100 {
		t.Errorf("merge: %v, %d", err, next.MaxInputTokens)
	}
}

func TestCheckJSON(t *testing.T) {
	type inner struct {
		A int `json:"a" nib:"required"`
	}
	type embedded struct {
		N *int `json:"n,omitempty"`
	}
	type outer struct {
		In   inner          `json:"in"`
		List []inner        `json:"list"`
		M    map[string]int `json:"m"`
		U    uint8          `json:"u"`
		embedded
	}
	typ := reflect.TypeFor[outer]()
	for in, want := range map[string]string{
		`{}`:                           "",
		`{"in":null}`:                  "",
		`{"in":{}}`:                    `field "in.a" is missing`,
		`{"in":{"a":1},"future":[1]}`:  "",
		`{"list":[{"a":1},{"a":"x"}]}`: `field "list.a": string is not an integer`,
		`{"m":{"k":"v"}}`:              `field "m.k": string is not an integer`,
		`{"u":256}`:                    `field "u": 256 is not an unsigned integer of 8 bits`,
		`{"u":-1}`:                     `field "u": -1 is not an unsigned integer`,
		`{"n":[]}`:                     `field "n": array is not an integer`,
		`{"N":1}`:                      `field "N" is unknown`,
		`[]`:                           `field "params": array is not an object`,
	} {
		err := checkJSON("", []byte(in), typ)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", in, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
}
