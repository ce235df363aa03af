package tokenize

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// fixtureModel is a complete model folder with the real T5 tokenizer.
const fixtureModel = "../../../../../shared/fixtures/t5-tiny-gated"

func TestTokenizeGolden(t *testing.T) {
	f, err := os.Open("../../../../../shared/tokenizer/golden.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var in, want bytes.Buffer
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var c struct {
			Text string          `json:"text"`
			IDs  json.RawMessage `json:"ids"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		text, _ := json.Marshal(c.Text)
		in.Write(append(text, '\n'))
		var compact bytes.Buffer
		json.Compact(&compact, c.IDs)
		want.Write(append(compact.Bytes(), '\n'))
	}
	var out, errOut bytes.Buffer
	if err := Run(context.Background(), []string{"--model", fixtureModel}, &in, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if out.String() != want.String() {
		t.Errorf("stdout:\n%s\nwant:\n%s", out.String(), want.String())
	}
	if errOut.Len() != 0 {
		t.Errorf("stderr: %q", errOut.String())
	}
}

func TestTokenizeErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		args  []string
		stdin string
		out   string   // stdout expected before the error
		want  []string // substrings of the error; none: no error
	}{
		{name: "help", args: []string{"-h"}},
		{name: "no model", want: []string{"tokenize: --model is required"}},
		{name: "stray argument", args: []string{"--model", fixtureModel, "hello"}, want: []string{`unexpected argument "hello"`}},
		{name: "missing folder", args: []string{"--model", "no/such/dir"}, want: []string{"no/such/dir"}},
		{name: "bad second line", args: []string{"--model", fixtureModel}, stdin: "\"Hello world\"\nHello\n",
			out: "[8774,296,1]\n", want: []string{"tokenize: line 2:", "JSON string"}},
		{name: "blank line", args: []string{"--model", fixtureModel}, stdin: "\n", want: []string{"line 1"}},
		{name: "not a string", args: []string{"--model", fixtureModel}, stdin: "[1]\n", want: []string{"line 1"}},
		{name: "cancelled", ctx: cancelled, args: []string{"--model", fixtureModel}, stdin: "\"a\"\n", want: []string{"stopped before line 1"}},
		{name: "empty input", args: []string{"--model", fixtureModel}},
		{name: "no final newline", args: []string{"--model", fixtureModel}, stdin: `"Hello world"`, out: "[8774,296,1]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			var out, errOut bytes.Buffer
			err := Run(ctx, tc.args, strings.NewReader(tc.stdin), &out, &errOut)
			if out.String() != tc.out {
				t.Errorf("stdout %q, want %q", out.String(), tc.out)
			}
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
