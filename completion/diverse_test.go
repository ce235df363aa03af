package completion

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestDiverseDecode: Diverse's first alternative is exactly the greedy
// answer, its others are samples (as Sample draws them from the same
// seeds), 2n-1 are drawn, and each alternative's end is reported once,
// with the sequence Decode returns for it.
func TestDiverseDecode(t *testing.T) {
	lm := hashLM(20, 1, 2, 0.3)
	const prompt, maxTokens = 8, 12
	p := Params{Strategy: Diverse, N: 3, MaxTokens: maxTokens, EOS: 1, Seed: 7}
	done := map[int]Sequence{}
	r := Request{Params: p, OnDone: func(alt int, seq Sequence) {
		if _, twice := done[alt]; twice {
			t.Errorf("alternative %d ended twice", alt)
		}
		done[alt] = seq
	}}
	res, _, _ := solo(t, lm, prompt, r)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got, want := len(res.Alternatives), DiverseRows(3); got != want {
		t.Fatalf("%d alternatives drawn, want %d", got, want)
	}
	if g := greedyChain(lm, prompt, 1, maxTokens); !slices.Equal(res.Alternatives[0].IDs, g.IDs) {
		t.Errorf("alternative 0 is %v, the greedy answer %v", res.Alternatives[0].IDs, g.IDs)
	}
	for a, seq := range res.Alternatives {
		if !reflect.DeepEqual(done[a], seq) {
			t.Errorf("alternative %d: OnDone got %+v, Decode returned %+v", a, done[a], seq)
		}
	}
	// The samples are Sample's, with Diverse's defaults.
	sp := p
	sp.Strategy, sp.N, sp.Temperature, sp.TopP = Sample, DiverseRows(3), diverseTemperature, diverseTopP
	sampled, _, _ := solo(t, lm, prompt, Request{Params: sp})
	if !reflect.DeepEqual(sampled.Alternatives[1:], res.Alternatives[1:]) {
		t.Errorf("samples differ from Sample's with the same seeds:\n%+v\n%+v", res.Alternatives[1:], sampled.Alternatives[1:])
	}
	// One alternative asked for is greedy decoding.
	p.N = 1
	one, _, _ := solo(t, lm, prompt, Request{Params: p})
	if len(one.Alternatives) != 1 || !slices.Equal(one.Alternatives[0].IDs, res.Alternatives[0].IDs) {
		t.Errorf("N 1 gave %+v, want the greedy answer alone", one.Alternatives)
	}
}

// TestDistinct: the greedy answer comes first whenever it ends, samples
// that end before it wait, near-identical ones are dropped, at most n are
// kept, and each index is reported once with the text it keeps.
func TestDistinct(t *testing.T) {
	words := []string{"she", "goes", "home", "She", "Goes", "went", ".", " ", ",", "He"}
	texts := func(ids []int) string {
		var b strings.Builder
		for _, id := range ids {
			b.WriteString(words[id])
		}
		return b.String()
	}
	seq := func(ids ...int) Sequence { return Sequence{IDs: ids, Finish: FinishEOS} }
	var streamed []string
	d := newDistinct(3, texts, func(alt int, text string) { streamed = append(streamed, fmt.Sprintf("%d:%s", alt, text)) })
	d.token(0, []int{3})             // "She" streams
	d.token(2, []int{0, 7, 1})       // a sample's tokens do not
	d.done(2, seq(3, 7, 5, 7, 2, 6)) // "She went home." ends before the greedy answer: held
	d.done(1, seq(0, 7, 1, 7, 2))    // "she goes home": held
	if len(d.kept) != 0 || len(streamed) != 1 {
		t.Fatalf("before the greedy answer ended: kept %v, streamed %q", d.kept, streamed)
	}
	d.done(0, seq(3, 7, 1, 7, 2, 6)) // "She goes home."
	d.done(3, seq(9, 7, 5, 7, 2, 6)) // "He went home."
	d.done(4, seq(9, 7, 1, 7, 2))    // a fourth distinct one: over n
	want := []string{"0:She", "1:She went home.", "2:He went home."}
	if !slices.Equal(streamed, want) {
		t.Errorf("reported %q, want %q", streamed, want)
	}
	var kept []string
	for _, s := range d.kept {
		kept = append(kept, texts(s.IDs))
	}
	if want := []string{"She goes home.", "She went home.", "He went home."}; !slices.Equal(kept, want) {
		t.Errorf("kept %q, want %q", kept, want)
	}
}

func TestNearKey(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"She goes home.", "she goes home", true},
		{"She goes home.", "  She, goes   home!", true},
		{"Café au lait", "café au lait.", true},
		{"She goes home.", "She went home.", false},
		{"It costs 10 dollars", "It costs 12 dollars", false},
		{"don't", "dont", false},
	} {
		if got := nearKey(c.a) == nearKey(c.b); got != c.same {
			t.Errorf("%q and %q near-identical: %v, want %v", c.a, c.b, got, c.same)
		}
	}
}
