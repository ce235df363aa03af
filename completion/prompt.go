package completion

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nib-editor/nib/model/tokenizer"
)

// Default prompt templates.
const (
	// DefaultCompleteTemplate asks T5 to fill the span at the cursor: it
	// answers "<extra_id_0> filler <extra_id_1>", so decoding stops at
	// <extra_id_1> (a Params.StopIDs entry) and the leading sentinel, a
	// special token, drops out of the text.
	DefaultCompleteTemplate = "{before}<extra_id_0>{after}"
	// DefaultRewriteTemplate gives FLAN-T5 the instruction, then the text.
	DefaultRewriteTemplate = "{instruction}:\n\n{text}"
)

var (
	// ErrTemplate is wrapped by every error about a template.
	ErrTemplate = errors.New("bad template")
	// ErrPromptTooLong is wrapped by the error of a rewrite whose prompt
	// cannot fit its budget.
	ErrPromptTooLong = errors.New("prompt over the token budget")
)

// windowPerToken bounds, per token of budget, how many bytes on each side
// of the cursor are looked at. Ordinary text runs 3 to 6 bytes a token; only
// runs of whitespace, which cost nothing, or of characters the vocabulary
// lacks, which fuse into one <unk>, go further, and text beyond the window
// is dropped even then.
const windowPerToken = 64

// Prompt is a model input built from a template.
type Prompt struct {
	// IDs encode Text, </s> last; there are at most as many as the budget.
	IDs []int
	// Text is the filled template.
	Text string
	// TrimmedBefore is how many bytes were dropped from the start of
	// before, and TrimmedAfter from the end of after, to fit the budget.
	TrimmedBefore, TrimmedAfter int
}

// template is a parsed template: literal text and placeholders in order.
type template struct {
	parts []templatePart
}

type templatePart struct {
	text string // literal text, when name is ""
	name string // placeholder name, without braces
}

// templateKind says what a template may and must hold.
type templateKind struct {
	name     string   // "complete" or "rewrite"
	def      string   // the template "" stands for
	allowed  []string // placeholder names
	required string
}

var (
	completeKind = templateKind{"complete", DefaultCompleteTemplate, []string{"before", "after"}, "before"}
	rewriteKind  = templateKind{"rewrite", DefaultRewriteTemplate, []string{"instruction", "text"}, "text"}
)

// CheckCompleteTemplate reports whether tmpl is a valid complete template:
// placeholders {before} (required) and {after}, each at most once; braces
// around anything but a name are literal text. "" is the default.
func CheckCompleteTemplate(tmpl string) error {
	_, err := parseTemplate(completeKind, tmpl)
	return err
}

// CheckRewriteTemplate reports whether tmpl is a valid rewrite template:
// placeholders {text} (required) and {instruction}, each at most once. ""
// is the default.
func CheckRewriteTemplate(tmpl string) error {
	_, err := parseTemplate(rewriteKind, tmpl)
	return err
}

func parseTemplate(kind templateKind, tmpl string) (*template, error) {
	if tmpl == "" {
		tmpl = kind.def
	}
	t := &template{}
	seen := map[string]bool{}
	lit := 0 // start of the literal text not yet added
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] != '{' {
			continue
		}
		j := i + 1
		for j < len(tmpl) && isNameByte(tmpl[j]) {
			j++
		}
		if j == i+1 || j == len(tmpl) || tmpl[j] != '}' {
			continue // not a placeholder: literal
		}
		name := tmpl[i+1 : j]
		if !slices.Contains(kind.allowed, name) {
			return nil, fmt.Errorf("completion: %s template: %w: unknown placeholder {%s}, want {%s}", kind.name, ErrTemplate, name, strings.Join(kind.allowed, "} or {"))
		}
		if seen[name] {
			return nil, fmt.Errorf("completion: %s template: %w: {%s} appears twice", kind.name, ErrTemplate, name)
		}
		seen[name] = true
		if lit < i {
			t.parts = append(t.parts, templatePart{text: tmpl[lit:i]})
		}
		t.parts = append(t.parts, templatePart{name: name})
		lit = j + 1
		i = j
	}
	if lit < len(tmpl) {
		t.parts = append(t.parts, templatePart{text: tmpl[lit:]})
	}
	if !seen[kind.required] {
		return nil, fmt.Errorf("completion: %s template: %w: it has no {%s}", kind.name, ErrTemplate, kind.required)
	}
	return t, nil
}

func isNameByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// render fills the placeholders from values, in the order of
// templateKind.allowed.
func (t *template) render(kind templateKind, values ...string) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.name == "" {
			b.WriteString(p.text)
		} else {
			b.WriteString(values[slices.Index(kind.allowed, p.name)])
		}
	}
	return b.String()
}

// BuildComplete fills the complete template tmpl ("" for the default) with
// the text before and after the cursor, trimmed to fit budget tokens, </s>
// included.
//
// Only the text nearest the cursor is kept: the start of before and the end
// of after are dropped. When both sides must be trimmed, before gets three
// quarters of the tokens the template leaves and after the rest; a side
// that needs less leaves the remainder to the other. Each side is cut where
// the most of it fits, then moved to the nearest paragraph boundary (a
// blank line, or a line break after a sentence end) or else sentence
// boundary that keeps three quarters of that text, or else to the nearest
// word boundary that keeps half; a cut inside a word falls between
// grapheme clusters, so that no character, accent or emoji sequence is
// split. Tokens are counted with tok on the whole prompt,
// so the budget holds exactly; only 64 bytes per token of budget on each
// side of the cursor are looked at, so a 10 MB document costs no more than
// a small one.
func BuildComplete(tok *tokenizer.Tokenizer, tmpl, before, after string, budget int) (Prompt, error) {
	return buildComplete(tok.Encode, tmpl, before, after, budget)
}

func buildComplete(encode func(string) []int, tmpl, before, after string, budget int) (Prompt, error) {
	t, err := parseTemplate(completeKind, tmpl)
	if err != nil {
		return Prompt{}, err
	}
	render := func(b, a string) string { return t.render(completeKind, b, a) }
	fixed := len(encode(render("", "")))
	if budget < fixed {
		return Prompt{}, fmt.Errorf("completion: %w: the complete template alone has %d tokens, the budget is %d", ErrPromptTooLong, fixed, budget)
	}
	b := side{text: before, before: true}
	a := side{text: after}
	window := windowPerToken * budget
	b.text = b.keep(b.floor(min(len(before), window)))
	a.text = a.keep(a.floor(min(len(after), window)))
	count := func(s string) int { return len(encode(s)) - 1 }

	avail := budget - fixed
	for {
		nb, na := allocate(b, a, avail, count)
		text := render(b.keep(nb), a.keep(na))
		ids := encode(text)
		if len(ids) <= budget {
			return Prompt{IDs: ids, Text: text, TrimmedBefore: len(before) - nb, TrimmedAfter: len(after) - na}, nil
		}
		// The sides fitted alone but not together: where they meet the
		// template's text, words can join. Ask for less; with nothing left
		// the prompt is the template alone, which fits.
		avail -= len(ids) - budget
	}
}

// allocate shares avail tokens between the sides and returns how many
// bytes of each to keep.
func allocate(b, a side, avail int, count func(string) int) (nb, na int) {
	shareA := avail / 4
	na, ta := a.fit(shareA, count)
	if na == len(a.text) {
		nb, _ = b.fit(avail-ta, count)
		return nb, na
	}
	nb, tb := b.fit(avail-shareA, count)
	if nb == len(b.text) {
		na, _ = a.fit(avail-tb, count)
	}
	return nb, na
}

// BuildRewrite fills the rewrite template tmpl ("" for the default) with
// the instruction and the selected text. Nothing is trimmed: if the prompt
// has more than budget tokens, </s> included, the error (wrapping
// ErrPromptTooLong) says how many the selection and the prompt have.
func BuildRewrite(tok *tokenizer.Tokenizer, tmpl, instruction, text string, budget int) (Prompt, error) {
	t, err := parseTemplate(rewriteKind, tmpl)
	if err != nil {
		return Prompt{}, err
	}
	s := t.render(rewriteKind, instruction, text)
	ids := tok.Encode(s)
	if len(ids) > budget {
		n := len(tok.Encode(text)) - 1
		return Prompt{}, fmt.Errorf("completion: %w: the selection has %d tokens and the prompt %d, the budget is %d", ErrPromptTooLong, n, len(ids), budget)
	}
	return Prompt{IDs: ids, Text: s}, nil
}
