package completion

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// prose returns n sentences of made-up English, each of 3 to maxWords
// words, with a paragraph break (blank line) after every perPara sentences
// (0: never) and no punctuation at all if bare.
func prose(seed uint64, n, maxWords, perPara int, bare bool) string {
	words := strings.Fields("the quick brown fox jumps over a lazy dog while writers edit long documents " +
		"about gardens rivers and mountains near small towns where people read books every evening")
	rng := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	for i := range n {
		k := 3 + rng.IntN(maxWords-2)
		for j := range k {
			w := words[rng.IntN(len(words))]
			if j == 0 && !bare {
				w = strings.ToUpper(w[:1]) + w[1:]
			}
			b.WriteString(w)
			if j < k-1 {
				b.WriteByte(' ')
			}
		}
		if !bare {
			b.WriteByte('.')
		}
		switch {
		case perPara > 0 && (i+1)%perPara == 0:
			b.WriteString("\n\n")
		default:
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// checkPrompt checks what every prompt must satisfy.
func checkPrompt(t *testing.T, p Prompt, before, after string, budget int) (keptBefore, keptAfter string) {
	t.Helper()
	tok := loadT5(t)
	if len(p.IDs) > budget {
		t.Fatalf("%d tokens over the budget of %d", len(p.IDs), budget)
	}
	if !slices.Equal(p.IDs, tok.Encode(p.Text)) {
		t.Fatalf("IDs are not the encoding of Text %q", p.Text)
	}
	if p.TrimmedBefore < 0 || p.TrimmedBefore > len(before) || p.TrimmedAfter < 0 || p.TrimmedAfter > len(after) {
		t.Fatalf("trimmed %d and %d of %d and %d bytes", p.TrimmedBefore, p.TrimmedAfter, len(before), len(after))
	}
	keptBefore, keptAfter = before[p.TrimmedBefore:], after[:len(after)-p.TrimmedAfter]
	if want := keptBefore + "<extra_id_0>" + keptAfter; p.Text != want {
		t.Fatalf("Text %q, want the kept parts around the sentinel %q", p.Text, want)
	}
	if !utf8.ValidString(keptBefore) || !utf8.ValidString(keptAfter) {
		t.Fatalf("cut inside a UTF-8 sequence: %q / %q", keptBefore, keptAfter)
	}
	return keptBefore, keptAfter
}

func TestBuildCompleteWholeWhenItFits(t *testing.T) {
	tok := loadT5(t)
	p, err := BuildComplete(tok, "", "The cat sat on the ", " and purred.", 64)
	if err != nil {
		t.Fatal(err)
	}
	if p.TrimmedBefore != 0 || p.TrimmedAfter != 0 || p.Text != "The cat sat on the <extra_id_0> and purred." {
		t.Fatalf("%+v", p)
	}
	// Exactly as many tokens as the budget: still whole.
	p2, err := BuildComplete(tok, "", "The cat sat on the ", " and purred.", len(p.IDs))
	if err != nil || p2.TrimmedBefore != 0 || p2.TrimmedAfter != 0 {
		t.Fatalf("%+v %v", p2, err)
	}
	// One fewer: something goes.
	p3, err := BuildComplete(tok, "", "The cat sat on the ", " and purred.", len(p.IDs)-1)
	if err != nil || p3.TrimmedBefore+p3.TrimmedAfter == 0 || len(p3.IDs) > len(p.IDs)-1 {
		t.Fatalf("%+v %v", p3, err)
	}
}

// TestBuildCompleteBudgets checks every budget from the template alone up,
// at several cursor positions: never over, and close to full.
func TestBuildCompleteBudgets(t *testing.T) {
	tok := loadT5(t)
	doc := prose(1, 120, 9, 4, false)
	fixed := len(tok.Encode("<extra_id_0>"))
	for _, cursor := range []int{0, 37, len(doc) / 3, len(doc) - 50, len(doc)} {
		before, after := doc[:cursor], doc[cursor:]
		whole := len(tok.Encode(before + "<extra_id_0>" + after))
		for budget := fixed; budget <= 300; budget += 1 + budget/8 {
			p, err := BuildComplete(tok, "", before, after, budget)
			if err != nil {
				t.Fatal(err)
			}
			checkPrompt(t, p, before, after, budget)
			// Preferring boundaries gives up at most a quarter of a side,
			// plus a word or two of rounding.
			if want := min(whole, budget); len(p.IDs) < want*5/8 {
				t.Errorf("cursor %d budget %d: only %d tokens used of %d possible", cursor, budget, len(p.IDs), want)
			}
		}
	}
	if _, err := BuildComplete(tok, "", "a", "b", fixed-1); !errors.Is(err, ErrPromptTooLong) {
		t.Fatalf("budget below the template: %v", err)
	}
	p, err := BuildComplete(tok, "", doc, doc, fixed)
	if err != nil || p.Text != "<extra_id_0>" || p.TrimmedBefore != len(doc) || p.TrimmedAfter != len(doc) {
		t.Fatalf("budget of the template alone: %+v %v", p, err)
	}
}

// TestBuildCompleteShares checks that before gets three quarters of what
// the template leaves when both sides are long, and the rest goes where it
// is needed.
func TestBuildCompleteShares(t *testing.T) {
	tok := loadT5(t)
	doc := prose(2, 400, 9, 0, false)
	count := func(s string) int { return len(tok.Encode(s)) - 1 }
	const budget = 200
	avail := budget - len(tok.Encode("<extra_id_0>"))
	for _, tc := range []struct {
		name               string
		before, after      string
		minB, maxB, maxA   int
		wholeB, wholeAfter bool
	}{
		{"both long", doc[:len(doc)/2], doc[len(doc)/2:], avail * 5 / 8, avail * 3 / 4, avail / 4, false, false},
		// Before gets all the rest, less at most a sentence.
		{"short after", doc[:len(doc)/2], " the end.", avail - 3 - 15, avail - 3, 4, false, true},
		{"short before", "It began. ", doc, 3, 3, avail, true, false},
	} {
		p, err := BuildComplete(tok, "", tc.before, tc.after, budget)
		if err != nil {
			t.Fatal(err)
		}
		kb, ka := checkPrompt(t, p, tc.before, tc.after, budget)
		nb, na := count(kb), count(ka)
		if nb < tc.minB || nb > tc.maxB || na > tc.maxA || (p.TrimmedBefore == 0) != tc.wholeB || (p.TrimmedAfter == 0) != tc.wholeAfter {
			t.Errorf("%s: before %d tokens (want %d to %d), after %d (at most %d), trimmed %d and %d", tc.name, nb, tc.minB, tc.maxB, na, tc.maxA, p.TrimmedBefore, p.TrimmedAfter)
		}
		if nb+na < avail*5/8 {
			t.Errorf("%s: %d + %d tokens of %d", tc.name, nb, na, avail)
		}
	}
}

// TestBuildCompleteBoundaries checks the preferred cuts: paragraphs where
// there are any, else sentences, else words. Sentences and paragraphs are
// short beside the budgets, so that each side, after's quarter included,
// has one of the preferred kind within the quarter it may give up.
func TestBuildCompleteBoundaries(t *testing.T) {
	tok := loadT5(t)
	for _, tc := range []struct {
		name         string
		doc          string
		budgets      []int
		startB, endA func(dropped, kept string) bool
		atWord       bool // the cursor between words, not inside one
	}{
		{"paragraphs", prose(3, 400, 4, 2, false), []int{200, 300, 400},
			func(d, k string) bool { return strings.HasSuffix(d, ".\n\n") && !unicode.IsSpace(rune(k[0])) },
			func(k, d string) bool { return strings.HasSuffix(k, ".") && strings.HasPrefix(d, "\n\n") }, false},
		{"sentences", prose(4, 400, 5, 0, false), []int{160, 240, 320},
			func(d, k string) bool { return strings.HasSuffix(d, ". ") && unicode.IsUpper(rune(k[0])) },
			func(k, d string) bool { return strings.HasSuffix(k, ".") && strings.HasPrefix(d, " ") }, false},
		{"words", prose(5, 400, 9, 0, true), []int{20, 40, 64, 100},
			func(d, k string) bool { return strings.HasSuffix(d, " ") && k[0] != ' ' },
			func(k, d string) bool { return !strings.HasSuffix(k, " ") && strings.HasPrefix(d, " ") }, false},
		// Too short a budget for a sentence within a quarter: still words,
		// which the sides hold whole in their far half.
		{"sentences, small budgets", prose(4, 400, 9, 0, false), []int{20, 30, 40},
			func(d, k string) bool { return strings.HasSuffix(d, " ") && k[0] != ' ' },
			func(k, d string) bool { return !strings.HasSuffix(k, " ") && strings.HasPrefix(d, " ") }, true},
	} {
		for _, budget := range tc.budgets {
			for _, frac := range []int{3, 5, 7} {
				cursor := len(tc.doc) * frac / 10
				if tc.atWord {
					cursor += strings.IndexByte(tc.doc[cursor:], ' ')
				}
				before, after := tc.doc[:cursor], tc.doc[cursor:]
				p, err := BuildComplete(tok, "", before, after, budget)
				if err != nil {
					t.Fatal(err)
				}
				kb, ka := checkPrompt(t, p, before, after, budget)
				if p.TrimmedBefore == 0 || p.TrimmedAfter == 0 {
					t.Fatalf("%s: nothing trimmed", tc.name)
				}
				if !tc.startB(before[:p.TrimmedBefore], kb) {
					t.Errorf("%s budget %d: before cut at %q|%q", tc.name, budget, tail(before[:p.TrimmedBefore]), head(kb))
				}
				if !tc.endA(ka, after[len(ka):]) {
					t.Errorf("%s budget %d: after cut at %q|%q", tc.name, budget, tail(ka), head(after[len(ka):]))
				}
			}
		}
	}
}

func head(s string) string { return s[:min(len(s), 12)] }
func tail(s string) string { return s[max(0, len(s)-12):] }

// TestBuildCompleteNeverSplitsClusters cuts inside one long word of
// letters, CJK characters, accents and emoji sequences at every budget, and
// checks each cut falls between the clusters the word was built from.
func TestBuildCompleteNeverSplitsClusters(t *testing.T) {
	tok := loadT5(t)
	units := []string{"ab", "東", "👨\u200d👩\u200d👧", "cd", "🇯🇵", "ef", "👍🏽", "e\u0301", "京", "1\ufe0f\u20e3", "gh", "🇫🇷🇩🇪", "í", "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", "x"}
	var word strings.Builder
	cuts := map[int]bool{0: true}
	for i := range 60 {
		u := units[i%len(units)]
		if u == "🇫🇷🇩🇪" { // two flags: a cut may fall between them
			word.WriteString("🇫🇷")
			cuts[word.Len()] = true
			u = "🇩🇪"
		}
		if u[0] < utf8.RuneSelf && len(u) > 1 && u[1] < utf8.RuneSelf { // ASCII letters: one cluster each
			for j := range len(u) {
				word.WriteByte(u[j])
				cuts[word.Len()] = true
			}
			continue
		}
		word.WriteString(u)
		cuts[word.Len()] = true
	}
	w := word.String()
	fixed := len(tok.Encode("<extra_id_0>"))
	sawCut := 0
	for budget := fixed + 1; budget < fixed+80; budget++ {
		p, err := BuildComplete(tok, "", w, w, budget)
		if err != nil {
			t.Fatal(err)
		}
		checkPrompt(t, p, w, w, budget)
		if !cuts[p.TrimmedBefore] || !cuts[len(w)-p.TrimmedAfter] {
			t.Fatalf("budget %d: cut at %d and %d, inside a cluster", budget, p.TrimmedBefore, len(w)-p.TrimmedAfter)
		}
		if p.TrimmedBefore > 0 && p.TrimmedBefore < len(w) {
			sawCut++
		}
	}
	if sawCut < 40 {
		t.Fatalf("only %d budgets cut inside the word", sawCut)
	}
}

// TestBuildCompleteKeepsScriptClusters cuts inside one long word of
// letters and clusters that only the full UAX #29 rules keep whole: a
// Devanagari conjunct (GB9c), a Hangul syllable of jamo (GB6-8) and an
// Arabic number sign before its digit (GB9b). Each character costs a
// token, so that the budgets that fit end inside those clusters.
func TestBuildCompleteKeepsScriptClusters(t *testing.T) {
	encode := func(s string) []int {
		return make([]int, utf8.RuneCountInString(s)+1) // one id a character, then </s>
	}
	units := []string{"ab", "\u0915\u094d\u0937", "cd", "\u1100\u1161\u11a8", "ef", "\u0600\u0661", "gh", "\u0915\u094d\u0924\u093f"}
	var word strings.Builder
	cuts := map[int]bool{0: true}
	for i := range 60 {
		u := units[i%len(units)]
		if u[0] < utf8.RuneSelf { // ASCII letters: one cluster each
			for j := range len(u) {
				word.WriteByte(u[j])
				cuts[word.Len()] = true
			}
			continue
		}
		word.WriteString(u)
		cuts[word.Len()] = true
	}
	w := word.String()
	fixed := len(encode("<extra_id_0>"))
	sawCut := 0
	for budget := fixed + 1; budget < fixed+80; budget++ {
		p, err := buildComplete(encode, "", w, w, budget)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.IDs) > budget {
			t.Fatalf("budget %d: %d tokens", budget, len(p.IDs))
		}
		if !cuts[p.TrimmedBefore] || !cuts[len(w)-p.TrimmedAfter] {
			t.Fatalf("budget %d: cut at %d and %d, inside a cluster: %+q", budget, p.TrimmedBefore, len(w)-p.TrimmedAfter, p.Text)
		}
		if p.TrimmedBefore > 0 && p.TrimmedBefore < len(w) {
			sawCut++
		}
	}
	if sawCut < 40 {
		t.Fatalf("only %d budgets cut inside the word", sawCut)
	}
}

// TestBuildCompleteLargeDocument checks that a 10 MB document costs about
// what a small one does: the bytes encoded stay near the budget's window.
func TestBuildCompleteLargeDocument(t *testing.T) {
	tok := loadT5(t)
	doc := strings.Repeat(prose(6, 500, 9, 3, false), 1+10<<20/len(prose(6, 500, 9, 3, false)))
	encoded := 0
	encode := func(s string) []int {
		encoded += len(s)
		return tok.Encode(s)
	}
	for _, budget := range []int{64, 512} {
		encoded = 0
		before, after := doc[:len(doc)/2], doc[len(doc)/2:]
		p, err := buildComplete(encode, "", before, after, budget)
		if err != nil {
			t.Fatal(err)
		}
		checkPrompt(t, p, before, after, budget)
		// Each probe encodes at most twice what fits, about 5 bytes a
		// token; a few dozen probes.
		if limit := 40 * 10 * budget; encoded > limit {
			t.Errorf("budget %d: encoded %d bytes, more than %d", budget, encoded, limit)
		}
		if len(p.IDs) < budget*5/8 {
			t.Errorf("budget %d: %d tokens", budget, len(p.IDs))
		}
	}
}

// TestBuildCompleteJoins uses a template whose text joins the words around
// the cursor, so that the sides' counts alone do not add up to the prompt's.
func TestBuildCompleteJoins(t *testing.T) {
	tok := loadT5(t)
	doc := prose(7, 100, 9, 0, true)
	for budget := 10; budget < 120; budget += 7 {
		p, err := BuildComplete(tok, "x{before}y<extra_id_0>z{after}w", doc, doc, budget)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.IDs) > budget || !slices.Equal(p.IDs, tok.Encode(p.Text)) {
			t.Fatalf("budget %d: %d tokens", budget, len(p.IDs))
		}
		if want := "x" + doc[p.TrimmedBefore:] + "y<extra_id_0>z" + doc[:len(doc)-p.TrimmedAfter] + "w"; p.Text != want {
			t.Fatalf("Text %q, want %q", p.Text, want)
		}
	}
}

func TestTemplates(t *testing.T) {
	for _, tc := range []struct {
		tmpl    string
		rewrite bool
		err     string // "" for valid
	}{
		{"", false, ""},
		{DefaultCompleteTemplate, false, ""},
		{"Continue: {before}", false, ""},
		{"{after} <> {before} {not a placeholder} {} {", false, ""},
		{"{before}<extra_id_0>{text}", false, "{text}"},
		{"{before} {foo_1}", false, "{foo_1}"},
		{"{after}<extra_id_0>", false, "{before}"},
		{"{before}{before}", false, "twice"},
		{"", true, ""},
		{"{text}", true, ""},
		{"{instruction}: {text}", true, ""},
		{"{instruction}", true, "{text}"},
		{"{instruction} {before} {text}", true, "{before}"},
		{"{text} {Text}", true, "{Text}"},
	} {
		check, kind := CheckCompleteTemplate, "complete"
		if tc.rewrite {
			check, kind = CheckRewriteTemplate, "rewrite"
		}
		err := check(tc.tmpl)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s template %q: %v", kind, tc.tmpl, err)
		case tc.err != "" && (!errors.Is(err, ErrTemplate) || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "completion: "+kind+" template: ")):
			t.Errorf("%s template %q: error %v, want one naming %s", kind, tc.tmpl, err, tc.err)
		}
	}
	tok := loadT5(t)
	p, err := BuildComplete(tok, "{after} <> {before} {x y} {", "B", "A", 100)
	if err != nil || p.Text != "A <> B {x y} {" {
		t.Fatalf("literal braces: %q %v", p.Text, err)
	}
	if _, err := BuildComplete(tok, "{text}", "B", "A", 100); !errors.Is(err, ErrTemplate) {
		t.Fatalf("BuildComplete with a bad template: %v", err)
	}
}

func TestBuildRewrite(t *testing.T) {
	tok := loadT5(t)
	p, err := BuildRewrite(tok, "", "Fix the grammar", "she go to school yesterday", 64)
	if err != nil {
		t.Fatal(err)
	}
	if p.Text != "Fix the grammar:\n\nshe go to school yesterday" || !slices.Equal(p.IDs, tok.Encode(p.Text)) || p.TrimmedBefore != 0 || p.TrimmedAfter != 0 {
		t.Fatalf("%+v", p)
	}
	if _, err := BuildRewrite(tok, "", "Fix the grammar", "she go to school yesterday", len(p.IDs)); err != nil {
		t.Fatalf("at exactly the budget: %v", err)
	}
	sel := prose(8, 40, 9, 0, false)
	n := len(tok.Encode(sel)) - 1
	total := len(tok.Encode("Fix the grammar:\n\n" + sel))
	_, err = BuildRewrite(tok, "", "Fix the grammar", sel, 100)
	want := fmt.Sprintf("the selection has %d tokens and the prompt %d, the budget is 100", n, total)
	if !errors.Is(err, ErrPromptTooLong) || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one saying %q", err, want)
	}
	if _, err := BuildRewrite(tok, "{instruction}", "x", "y", 100); !errors.Is(err, ErrTemplate) {
		t.Fatalf("template without {text}: %v", err)
	}
}

func BenchmarkBuildComplete(b *testing.B) {
	tok := loadT5(b)
	small := prose(9, 40, 9, 4, false)
	large := strings.Repeat(small, 1+10<<20/len(small))
	for _, bc := range []struct {
		name string
		doc  string
	}{{"2KB", small}, {"10MB", large}} {
		for _, budget := range []int{128, 512} {
			b.Run(fmt.Sprintf("%s/budget%d", bc.name, budget), func(b *testing.B) {
				before, after := bc.doc[:len(bc.doc)/2], bc.doc[len(bc.doc)/2:]
				for b.Loop() {
					if _, err := BuildComplete(tok, "", before, after, budget); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
