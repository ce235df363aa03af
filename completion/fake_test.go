package completion

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/nib-editor/nib/model"
)

// dist is a pseudo language model: the log-probabilities of every next
// token, by id, given a row's whole history (its prompt id, the start token
// and every token fed since).
type dist func(hist []int) []float32

// hashLM is a deterministic pseudo language model over vocab tokens: the
// logits are a hash of the history and the token, scaled by sharp, and the
// EOS logit grows with the history's length so that sequences end at
// varied lengths. The log-softmax is exact (computed in float64, rounded to
// float32).
func hashLM(vocab, eos int, sharp, eosGrowth float64) dist {
	return func(hist []int) []float32 {
		h := uint64(14695981039346656037)
		for _, t := range hist {
			h = mix(h ^ uint64(t+1))
		}
		logits := make([]float64, vocab)
		for v := range logits {
			u := float64(mix(h^uint64(v+1)*0x9e3779b97f4a7c15)>>11) / (1 << 53)
			logits[v] = sharp * u
		}
		if eos >= 0 {
			logits[eos] += eosGrowth*float64(len(hist)-2) - sharp/2
		}
		return logSoftmax(logits)
	}
}

// countLM puts almost all probability on the token after the last one
// fed (mod vocab), so that its greedy output is predictable.
func countLM(vocab int) dist {
	return func(hist []int) []float32 {
		logits := make([]float64, vocab)
		logits[(hist[len(hist)-1]+1)%vocab] = 8
		return logSoftmax(logits)
	}
}

// mix is splitmix64's finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func logSoftmax(logits []float64) []float32 {
	m := math.Inf(-1)
	for _, l := range logits {
		m = max(m, l)
	}
	sum := 0.0
	for _, l := range logits {
		sum += math.Exp(l - m)
	}
	lse := m + math.Log(sum)
	out := make([]float32, len(logits))
	for i, l := range logits {
		out[i] = float32(l - lse)
	}
	return out
}

// topK returns the k most likely tokens of lp, best first, ties to the
// lower id, as a Stepper must.
func topK(lp []float32, k int) model.Candidates {
	ids := make([]int, len(lp))
	for i := range ids {
		ids[i] = i
	}
	slices.SortStableFunc(ids, func(a, b int) int {
		switch {
		case lp[a] > lp[b]:
			return -1
		case lp[a] < lp[b]:
			return 1
		}
		return 0
	})
	ids = ids[:min(k, len(ids))]
	c := model.Candidates{IDs: ids, LogProbs: make([]float32, len(ids))}
	for i, id := range ids {
		c.LogProbs[i] = lp[id]
	}
	return c
}

var errBoom = errors.New("boom")

// fakeStepper runs a dist over rows that start as one prompt id each. It
// fails the test on any misuse of the Stepper contract and records every
// call.
type fakeStepper struct {
	t     testing.TB
	lm    dist
	hists [][]int
	// rows and ks are, per Step call, the number of rows and the k asked.
	rows, ks []int
	keeps    [][]int
	// failAt is the Step call (1-based) that returns errBoom; 0 for none.
	failAt int
}

func newFake(t testing.TB, lm dist, prompts ...int) *fakeStepper {
	f := &fakeStepper{t: t, lm: lm}
	for _, p := range prompts {
		f.hists = append(f.hists, []int{p})
	}
	return f
}

func (f *fakeStepper) Rows() int { return len(f.hists) }

func (f *fakeStepper) Step(ctx context.Context, tokens []int, k int) ([]model.Candidates, error) {
	f.t.Helper()
	if len(tokens) != len(f.hists) {
		f.t.Errorf("Step with %d tokens for %d rows", len(tokens), len(f.hists))
		return nil, errors.New("bad Step")
	}
	if k < 1 {
		f.t.Errorf("Step with k = %d", k)
	}
	f.rows = append(f.rows, len(f.hists))
	f.ks = append(f.ks, k)
	if len(f.rows) == f.failAt {
		return nil, errBoom
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]model.Candidates, len(f.hists))
	for i := range f.hists {
		f.hists[i] = append(f.hists[i], tokens[i])
		out[i] = topK(f.lm(f.hists[i]), k)
	}
	return out, nil
}

func (f *fakeStepper) Keep(rows []int) error {
	f.t.Helper()
	if len(rows) == 0 {
		f.t.Errorf("Keep with no rows")
		return errors.New("bad Keep")
	}
	next := make([][]int, len(rows))
	for i, r := range rows {
		if r < 0 || r >= len(f.hists) {
			f.t.Errorf("Keep(%v) with %d rows", rows, len(f.hists))
			return errors.New("bad Keep")
		}
		next[i] = slices.Clone(f.hists[r])
	}
	f.keeps = append(f.keeps, slices.Clone(rows))
	f.hists = next
	return nil
}
