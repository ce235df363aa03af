package completion

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/nib-editor/nib/model/tokenizer"
)

// Detokenizer and SentenceStop serve these tests only: the service decodes
// whole texts (OutputText) and stops at sentence ends through
// CompleteRequest.StopAtSentenceEnd.

// Detokenizer turns the ids of one alternative, given in full as they grow
// (as Request.OnToken passes them), into the text to add each time.
//
// A T5 piece decodes the same whatever follows it and Decode drops only
// the first piece's leading U+2581, which OutputText settles from the
// first piece on, so the text of a longer sequence always extends the text
// of its prefix: Next never takes back what it returned. The one exception
// is a sequence that does not extend the previous one (beam search's best
// beam changing): then Next says so and returns the whole text afresh.
type Detokenizer struct {
	tok    *tokenizer.Tokenizer
	before string
	text   string
}

// NewDetokenizer returns a Detokenizer for output that follows before in
// the document (see OutputText; "" for text that stands alone, such as a
// rewrite).
func NewDetokenizer(tok *tokenizer.Tokenizer, before string) *Detokenizer {
	// Only before's last character matters; keep no more of a document.
	_, size := utf8.DecodeLastRuneInString(before)
	return &Detokenizer{tok: tok, before: before[len(before)-size:]}
}

// Next returns the text ids add to what it returned before. When the text
// of ids does not extend that text, reset is true and delta is the whole
// text, to replace everything returned before.
func (d *Detokenizer) Next(ids []int) (delta string, reset bool) {
	text := OutputText(d.tok, ids, d.before)
	old := d.text
	d.text = text
	if strings.HasPrefix(text, old) {
		return text[len(old):], false
	}
	return text, true
}

// Text returns the whole text of the ids of the last call to Next.
func (d *Detokenizer) Text() string { return d.text }

// SentenceStop returns a Params.Stop predicate that ends an alternative as
// soon as its decoded text ends a sentence (SentenceEnd), the token that
// ended it kept.
func SentenceStop(tok *tokenizer.Tokenizer) func(ids []int) bool {
	return func(ids []int) bool { return SentenceEnd(tok.Decode(ids)) }
}

// shared is the real T5 tokenizer beside every checkout and CI run.
const shared = "../../shared/tokenizer"

var t5 = sync.OnceValues(func() (*tokenizer.Tokenizer, error) { return tokenizer.Load(shared) })

func loadT5(t testing.TB) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := t5()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// goldenTexts are the texts of the tokenizer's golden file: every kind of
// script, spacing and special token it was checked on.
func goldenTexts(t testing.TB) []string {
	t.Helper()
	f, err := os.Open(shared + "/golden.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var texts []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var c struct{ Text string }
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, c.Text)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(texts) < 20 {
		t.Fatalf("only %d golden texts", len(texts))
	}
	return texts
}

// TestDetokenizerStreams feeds every golden text's ids one token at a time
// and checks that the deltas never take anything back and add up to the
// whole text.
func TestDetokenizerStreams(t *testing.T) {
	tok := loadT5(t)
	for _, text := range goldenTexts(t) {
		ids := tok.Encode(text)
		ids = ids[:len(ids)-1] // as generated: the EOS is not part of the output
		for _, before := range []string{"", "Hello", "Hello ", "line\n"} {
			d := NewDetokenizer(tok, before)
			var streamed strings.Builder
			for i := range ids {
				delta, reset := d.Next(ids[:i+1])
				if reset {
					t.Fatalf("%q after %q: reset at token %d", text, before, i)
				}
				streamed.WriteString(delta)
				if d.Text() != streamed.String() {
					t.Fatalf("%q: Text %q, streamed %q", text, d.Text(), streamed.String())
				}
			}
			want := OutputText(tok, ids, before)
			if streamed.String() != want {
				t.Fatalf("%q after %q: streamed %q, want %q", text, before, streamed.String(), want)
			}
			if plain := tok.Decode(ids); want != plain && want != " "+plain {
				t.Fatalf("%q after %q: %q is not Decode's %q", text, before, want, plain)
			}
		}
	}
}

func TestOutputTextLeadingSpace(t *testing.T) {
	tok := loadT5(t)
	enc := func(s string) []int { ids := tok.Encode(s); return ids[:len(ids)-1] }
	piece := func(p string) int {
		id, ok := tok.PieceToID(p)
		if !ok {
			t.Fatalf("no piece %q", p)
		}
		return id
	}
	sentinel := tok.Sentinel(0)
	for _, tc := range []struct {
		before string
		ids    []int
		want   string
	}{
		{"Hello", enc("world"), " world"},
		{"Hello ", enc("world"), "world"},
		{"Hello\n", enc("world"), "world"},
		{"", enc("world"), "world"},
		{"Hello", append([]int{sentinel}, enc("world is big")...), " world is big"},
		// "Hello, world" is ▁Hello , ▁world: a comma that follows a word
		// directly has no U+2581.
		{"Hello", []int{piece(","), piece("▁world")}, ", world"},
		{"Hello", []int{sentinel, piece(","), piece("▁world")}, ", world"},
		// A lone "," encodes as ▁ and ,: the model wrote a space.
		{"Hello", enc(", world"), " , world"},
		{"Hello", []int{piece("▁"), piece("s")}, " s"},
		{"Hello", []int{piece("s")}, "s"},
		{"Hello", []int{sentinel, tok.EOS()}, ""},
		{"Hello", nil, ""},
	} {
		if got := OutputText(tok, tc.ids, tc.before); got != tc.want {
			t.Errorf("OutputText(%v after %q) = %q, want %q", tc.ids, tc.before, got, tc.want)
		}
	}
}

func TestDetokenizerReset(t *testing.T) {
	tok := loadT5(t)
	a := tok.Encode("The cat sat")
	b := tok.Encode("The dog")
	d := NewDetokenizer(tok, "x")
	if delta, reset := d.Next(a[:2]); delta != " The cat" || reset {
		t.Fatalf("Next = %q, %v", delta, reset)
	}
	if delta, reset := d.Next(b[:2]); delta != " The dog" || !reset {
		t.Fatalf("switching beams: Next = %q, %v, want the whole text and a reset", delta, reset)
	}
	// A switch to a sequence whose text extends the old one needs no reset.
	s, _ := tok.PieceToID("s")
	if delta, reset := d.Next(append(b[:2:2], s)); delta != "s" || reset {
		t.Fatalf("Next = %q, %v", delta, reset)
	}
}

func TestSentenceStop(t *testing.T) {
	tok := loadT5(t)
	stop := SentenceStop(tok)
	ids := tok.Encode("He left. Then")
	var firstStop int
	for i := range ids {
		if stop(ids[:i+1]) {
			firstStop = i + 1
			break
		}
	}
	if got := tok.Decode(ids[:firstStop]); got != "He left." {
		t.Fatalf("stopped at %q", got)
	}
}
