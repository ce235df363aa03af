package completion

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/nib-editor/nib/model"
)

// greedy extends one sequence by the most likely token at every step.
type greedy struct {
	set   *settings
	hooks hooks
	seq   Sequence
}

func (g *greedy) need() int { return 1 }

func (g *greedy) advance(c []model.Candidates) (src, next []int) {
	id := c[0].IDs[0]
	if !g.set.grow(&g.seq, 0, id, logProb(c[0], 0), g.hooks) {
		return nil, nil
	}
	return []int{0}, []int{id}
}

func (g *greedy) result() []Sequence { return []Sequence{g.seq} }

// grow extends alternative alt's seq by id as extend does, tells
// h.onToken when id was added and h.onDone when seq ended, and reports
// whether seq goes on.
func (s *settings) grow(seq *Sequence, alt, id int, lp float64, h hooks) bool {
	n := len(seq.IDs)
	more := s.extend(seq, id, lp)
	if h.onToken != nil && len(seq.IDs) > n {
		h.onToken(alt, slices.Clip(seq.IDs))
	}
	if !more && h.onDone != nil {
		done := *seq
		done.IDs = slices.Clip(done.IDs)
		h.onDone(alt, done)
	}
	return more
}

// sampler draws N independent alternatives, each from its own generator.
// For Diverse, alternative 0 takes the most likely token instead: it is
// the greedy answer.
type sampler struct {
	set   *settings
	hooks hooks
	alts  []Sequence
	rngs  []*rand.Rand
	// rows holds the alternative each row continues; nil before the first
	// step, when every alternative reads the request's one row.
	rows    []int
	weights []float64 // scratch for pick
}

func newSampler(s *settings, h hooks) *sampler {
	sm := &sampler{set: s, hooks: h, alts: make([]Sequence, s.width), rngs: make([]*rand.Rand, s.width)}
	for a := range sm.rngs {
		sm.rngs[a] = rand.New(rand.NewPCG(s.Seed, uint64(a)))
	}
	return sm
}

func (sm *sampler) need() int { return sm.set.TopK }

func (sm *sampler) advance(c []model.Candidates) (src, next []int) {
	var rows []int
	for a := range sm.alts {
		row := 0
		if sm.rows != nil {
			row = slices.Index(sm.rows, a)
			if row < 0 {
				continue // ended
			}
		}
		i := 0 // Diverse's first alternative is greedy
		if a > 0 || sm.set.Strategy != Diverse {
			i = sm.pick(c[row], sm.rngs[a])
		}
		id := c[row].IDs[i]
		if sm.set.grow(&sm.alts[a], a, id, logProb(c[row], i), sm.hooks) {
			src = append(src, row)
			next = append(next, id)
			rows = append(rows, a)
		}
	}
	sm.rows = rows
	return src, next
}

func (sm *sampler) result() []Sequence { return sm.alts }

// pick draws the index of a candidate of c: the first TopK candidates are
// weighted by exp(logprob/Temperature), cut to the smallest prefix whose
// share of that weight reaches TopP (the candidates come best first), and
// one is drawn in proportion to its weight. It uses one number from rng.
func (sm *sampler) pick(c model.Candidates, rng *rand.Rand) int {
	n := min(sm.set.TopK, len(c.IDs))
	best := math.Inf(-1)
	for i := range n {
		best = max(best, logProb(c, i))
	}
	if math.IsInf(best, -1) {
		return 0 // nothing has any probability; take the best-ranked
	}
	w := sm.weights[:0]
	total := 0.0
	for i := range n {
		x := math.Exp((logProb(c, i) - best) / sm.set.Temperature)
		w = append(w, x)
		total += x
	}
	sm.weights = w
	if sm.set.TopP < 1 {
		mass := 0.0
		for i, x := range w {
			mass += x
			if mass >= sm.set.TopP*total {
				w = w[:i+1]
				break
			}
		}
		total = mass
	}
	r := rng.Float64() * total
	for i, x := range w {
		if r < x {
			return i
		}
		r -= x
	}
	return len(w) - 1 // rounding left r just above the last weight
}
