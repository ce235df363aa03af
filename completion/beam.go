package completion

import (
	"cmp"
	"math"
	"slices"

	"github.com/nib-editor/nib/model"
)

// beam is beam search as Hugging Face's generate(num_beams=width) does it
// (transformers 4.5x to 5.x, _beam_search), for one request:
//
//   - Each step ranks every running beam's candidates by the beam's sum of
//     log-probabilities plus the candidate's, best first, and looks at the
//     best k = max(2, 1+end ids)*width.
//   - A candidate that ends the sequence (EOS, a stop id, Stop, or
//     MaxTokens) becomes a finished hypothesis only if it ranks among the
//     best width; its score is its sum divided by its length (end id
//     included) to the LengthPenalty. At most width finished hypotheses
//     are kept, best score first.
//   - The best width candidates that do not end become the running beams.
//   - Once width hypotheses have finished, EarlyStopping says whether the
//     running beams could still beat the worst of them (see its modes).
//
// The N best finished hypotheses are returned. Where Hugging Face pads the
// first step with copies of the start scored -1e9, which matter only when
// the vocabulary has fewer than 2*width tokens, this search simply runs
// fewer beams.
type beam struct {
	set      *settings
	onToken  func(int, []int)
	running  []hypothesis // row i continues running[i]; best sum first
	finished []hypothesis // at most width, best score first
	done     bool         // ended normally, finished holds the result
	reported []int        // ids last passed to onToken
	silent   bool         // nothing reported yet
}

// hypothesis is a beam, running or finished.
type hypothesis struct {
	seq   Sequence
	score float64 // of a finished one: its sum over its length, end id included
}

// candidate is one continuation of a running beam.
type candidate struct {
	beam int
	id   int
	lp   float64
	sum  float64
}

func newBeam(s *settings, onToken func(int, []int)) *beam {
	return &beam{set: s, onToken: onToken, running: []hypothesis{{}}, silent: true}
}

func (b *beam) need() int { return b.set.k }

// score is the length-penalised score of a sum over n tokens.
func (b *beam) score(sum float64, n int) float64 {
	return sum / math.Pow(float64(n), b.set.LengthPenalty)
}

func (b *beam) advance(c []model.Candidates) (src, next []int) {
	width, k := b.set.width, b.set.k
	cands := make([]candidate, 0, len(c)*k)
	for j, row := range c {
		for i := range min(k, len(row.IDs)) {
			lp := logProb(row, i)
			cands = append(cands, candidate{beam: j, id: row.IDs[i], lp: lp, sum: b.running[j].seq.LogProb + lp})
		}
	}
	// Stable: equal sums keep beam order, then the Stepper's order, which
	// puts lower ids first, as a top-k over Hugging Face's flattened
	// (beam, token) scores does.
	slices.SortStableFunc(cands, func(x, y candidate) int { return cmp.Compare(y.sum, x.sum) })
	cands = cands[:min(len(cands), k)]

	var running []hypothesis
	for rank, cd := range cands {
		if len(running) == width && rank >= width {
			break // nothing further can run or finish
		}
		parent := b.running[cd.beam].seq
		seq := Sequence{IDs: slices.Clip(parent.IDs), LogProb: parent.LogProb}
		if b.set.extend(&seq, cd.id, cd.lp) {
			if len(running) < width {
				running = append(running, hypothesis{seq: seq})
				src = append(src, cd.beam)
				next = append(next, cd.id)
			}
			continue
		}
		if rank < width {
			n := len(parent.IDs) + 1 // an end id counts, though it is not kept
			b.add(hypothesis{seq: seq, score: b.score(seq.LogProb, n)})
		}
	}
	b.running = running
	b.done = b.stop()
	b.report()
	if b.done {
		return nil, nil
	}
	return src, next
}

// add keeps h if it is among the width best finished hypotheses; ties keep
// the earlier.
func (b *beam) add(h hypothesis) {
	i, _ := slices.BinarySearchFunc(b.finished, h.score, func(f hypothesis, s float64) int {
		if f.score >= s {
			return -1
		}
		return 1
	})
	if i >= b.set.width {
		return
	}
	b.finished = slices.Insert(b.finished, i, h)
	if len(b.finished) > b.set.width {
		b.finished = b.finished[:b.set.width]
	}
}

// stop reports whether the search is over after a step.
func (b *beam) stop() bool {
	if len(b.running) == 0 {
		return true // every continuation ended, MaxTokens included
	}
	if len(b.finished) < b.set.width {
		return false
	}
	length := len(b.running[0].seq.IDs)
	switch b.set.EarlyStopping {
	case EarlyStopEager:
		return true
	case EarlyStopNever:
		if b.set.LengthPenalty > 0 {
			length = b.set.MaxTokens
		}
	}
	best := b.score(b.running[0].seq.LogProb, length)
	return !(best > b.finished[len(b.finished)-1].score)
}

// all returns the finished hypotheses and, unless the search ended
// normally, the running beams scored as they stand, best first.
func (b *beam) all() []hypothesis {
	if b.done {
		return b.finished
	}
	all := slices.Clone(b.finished)
	for _, h := range b.running {
		h.score = b.score(h.seq.LogProb, max(len(h.seq.IDs), 1))
		all = append(all, h)
	}
	slices.SortStableFunc(all, func(x, y hypothesis) int { return cmp.Compare(y.score, x.score) })
	return all
}

// report tells onToken about the best sequence when it has changed.
func (b *beam) report() {
	if b.onToken == nil {
		return
	}
	all := b.all()
	if len(all) == 0 {
		return
	}
	ids := all[0].seq.IDs
	if !b.silent && slices.Equal(ids, b.reported) {
		return
	}
	b.reported, b.silent = ids, false
	b.onToken(0, slices.Clip(ids))
}

func (b *beam) result() []Sequence {
	all := b.all()
	out := make([]Sequence, 0, min(len(all), b.set.N))
	for _, h := range all[:min(len(all), b.set.N)] {
		out = append(out, h.seq)
	}
	return out
}
