package completion

import (
	"strings"
	"unicode"
)

// distinct gathers the alternatives of a Diverse request as they finish:
// the greedy one first, then each sample that is not near-identical to one
// kept before, until n are kept. Samples that finish before the greedy
// answer wait for it, so that index 0 is always the greedy answer and
// every index, once reported, keeps its text. onText (may be nil) hears
// the greedy answer grow token by token and each later alternative whole,
// as it is kept.
type distinct struct {
	n        int
	texts    func(ids []int) string
	onText   func(alt int, text string)
	mainDone bool
	held     []Sequence
	kept     []Sequence
	keys     map[string]bool
}

func newDistinct(n int, texts func([]int) string, onText func(int, string)) *distinct {
	return &distinct{n: n, texts: texts, onText: onText, keys: map[string]bool{}}
}

// token is Request.OnToken: only the greedy answer streams.
func (d *distinct) token(alt int, ids []int) {
	if alt == 0 && d.onText != nil {
		d.onText(0, d.texts(ids))
	}
}

// done is Request.OnDone.
func (d *distinct) done(alt int, seq Sequence) {
	if alt != 0 && !d.mainDone {
		d.held = append(d.held, seq)
		return
	}
	d.add(seq)
	if alt == 0 {
		d.mainDone = true
		for _, h := range d.held {
			d.add(h)
		}
		d.held = nil
	}
}

func (d *distinct) add(seq Sequence) {
	if len(d.kept) >= d.n {
		return
	}
	text := d.texts(seq.IDs)
	key := nearKey(text)
	if d.keys[key] {
		return
	}
	d.keys[key] = true
	d.kept = append(d.kept, seq)
	if i := len(d.kept) - 1; i > 0 && d.onText != nil {
		d.onText(i, text)
	}
}

// nearKey is what two texts share when they are near-identical: their
// words, lower-cased, without punctuation or spacing. "She goes home." and
// "she goes home" share one; "She went home." does not.
func nearKey(text string) string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	})
	return strings.Join(words, " ")
}
