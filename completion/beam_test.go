package completion

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"testing"
)

// scored is a complete sequence with its beam score.
type scored struct {
	seq   Sequence
	score float64
}

// enumerate lists every sequence lm can produce from prompt under p's
// ending rules, scored as beam search scores finished hypotheses.
func enumerate(lm dist, prompt int, p Params) []scored {
	var out []scored
	var walk func(hist, ids []int, sum float64)
	walk = func(hist, ids []int, sum float64) {
		lp := lm(hist)
		for v := range lp {
			s := sum + float64(lp[v])
			n := len(ids) + 1
			end := func(ids []int, why FinishReason) {
				out = append(out, scored{Sequence{ids, s, why}, s / math.Pow(float64(n), p.LengthPenalty)})
			}
			next := append(slices.Clip(ids), v)
			switch {
			case v == p.EOS:
				end(ids, FinishEOS)
			case slices.Contains(p.StopIDs, v):
				end(ids, FinishStop)
			case p.Stop != nil && p.Stop(next):
				end(next, FinishStop)
			case n == p.MaxTokens:
				end(next, FinishLength)
			default:
				walk(append(slices.Clip(hist), v), next, s)
			}
		}
	}
	walk([]int{prompt, start}, nil, 0)
	slices.SortStableFunc(out, func(a, b scored) int { return cmp.Compare(b.score, a.score) })
	return out
}

// TestBeamFindsTheBestSequences compares beam search with an exhaustive
// enumeration on models small enough that a beam as wide as every step's
// candidates prunes nothing: then the N best must come back exactly.
func TestBeamFindsTheBestSequences(t *testing.T) {
	lastIs3 := func(ids []int) bool { return ids[len(ids)-1] == 3 }
	for _, tc := range []struct {
		name  string
		vocab int
		p     Params // MaxTokens, EOS, StopIDs, Stop, Beams
	}{
		// Most candidates in a step: 4 beams of 3 tokens.
		{"vocab 3", 3, Params{MaxTokens: 3, EOS: 2, Beams: 12}},
		// 2 running beams of 4 tokens.
		{"stop id", 4, Params{MaxTokens: 2, EOS: 0, StopIDs: []int{3}, Beams: 8}},
		// 4 running beams of 4 tokens.
		{"stop predicate", 4, Params{MaxTokens: 3, EOS: 0, Stop: lastIs3, Beams: 16}},
	} {
		for _, lp := range []float64{1, 2, 0.5, -1} {
			for _, mode := range []EarlyStopping{EarlyStopNever, EarlyStopHeuristic} {
				if mode == EarlyStopHeuristic && lp > 0 {
					continue // the heuristic is exact only when longer cannot score higher
				}
				for seed := range 6 {
					name := fmt.Sprintf("%s/penalty %v/mode %d/seed %d", tc.name, lp, mode, seed)
					lm := hashLM(tc.vocab, tc.p.EOS, 3, 0.4)
					prompt := 500 + seed
					p := tc.p
					p.Strategy, p.LengthPenalty, p.EarlyStopping = Beam, lp, mode
					all := enumerate(lm, prompt, p)
					for _, n := range []int{1, 3, 5} {
						p.N = n
						res, f, _ := solo(t, lm, prompt, Request{Params: p})
						if res.Err != nil {
							t.Fatal(res.Err)
						}
						if len(res.Alternatives) != n {
							t.Fatalf("%s N %d: %d alternatives", name, n, len(res.Alternatives))
						}
						for i, got := range res.Alternatives {
							want := all[i].seq
							if !slices.Equal(got.IDs, want.IDs) || got.Finish != want.Finish || math.Abs(got.LogProb-want.LogProb) > 1e-12 {
								t.Fatalf("%s N %d: alternative %d is %+v, want %+v (score %v)\nall: %v", name, n, i, got, want, all[i].score, all)
							}
						}
						if slices.Max(f.rows) > p.Beams {
							t.Fatalf("%s: %v rows per step, more than the width %d", name, f.rows, p.Beams)
						}
					}
				}
			}
		}
	}
}

// hfBeam is a transcription of Hugging Face's vectorised _beam_search
// (transformers 4.57, generation/utils.py) for one input, eos the only end
// token, on flat arrays in the shapes of its tensors: running beams padded
// with -1e9 scores, finished slots too, top-k over beam*vocab. It returns
// the first n finished sequences (end token stripped) and their scores.
func hfBeam(lm dist, prompt, vocab, numBeams, n, maxNew, eos int, lengthPenalty float64, mode EarlyStopping) ([][]int, []float64) {
	type seq struct {
		ids      []int // generated, end token included
		score    float64
		finished bool
	}
	running := make([]seq, numBeams)
	for b := 1; b < numBeams; b++ {
		running[b].score = -1e9
	}
	finished := make([]seq, numBeams)
	for b := range finished {
		finished[b].score = -1e9
	}
	unsatisfied := true
	keep := 2 * numBeams
	topk := func(scores []float64, k int) []int {
		idx := make([]int, len(scores))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
		return idx[:k]
	}
	for cur := 0; ; cur++ {
		flat := make([]float64, numBeams*vocab)
		for b, r := range running {
			lp := lm(append([]int{prompt, start}, r.ids...))
			for v := range vocab {
				flat[b*vocab+v] = r.score + float64(lp[v])
			}
		}
		top := topk(flat, keep)
		cands := make([]seq, keep)
		hits := make([]bool, keep)
		for i, fi := range top {
			b, v := fi/vocab, fi%vocab
			cands[i] = seq{ids: append(slices.Clip(running[b].ids), v), score: flat[fi]}
			hits[i] = v == eos || cur+1 >= maxNew
		}
		// Running beams for the next step: the best that did not end.
		runScores := make([]float64, keep)
		for i := range cands {
			runScores[i] = cands[i].score
			if hits[i] {
				runScores[i] += -1e9
			}
		}
		next := make([]seq, numBeams)
		for j, i := range topk(runScores, numBeams) {
			next[j] = seq{ids: cands[i].ids, score: runScores[i]}
		}
		// Finished beams: the top numBeams candidates that ended.
		allFinished := true
		for _, f := range finished {
			allFinished = allFinished && f.finished
		}
		merged := slices.Clone(finished)
		for i, c := range cands {
			did := hits[i] && i < numBeams
			s := c.score / math.Pow(float64(cur+1), lengthPenalty)
			if allFinished && mode == EarlyStopEager {
				s += -1e9
			}
			if !unsatisfied {
				s += -1e9
			}
			if !did {
				s += -1e9
			}
			merged = append(merged, seq{ids: c.ids, score: s, finished: did})
		}
		mergedScores := make([]float64, len(merged))
		for i := range merged {
			mergedScores[i] = merged[i].score
		}
		for j, i := range topk(mergedScores, numBeams) {
			finished[j] = merged[i]
		}
		running = next
		// The stopping condition, after cur_len += 1.
		length := cur + 1
		if mode == EarlyStopNever && lengthPenalty > 0 {
			length = maxNew
		}
		best := running[0].score / math.Pow(float64(length), lengthPenalty)
		worst := math.Inf(1)
		allFinished = true
		for _, f := range finished {
			worst = min(worst, f.score)
			allFinished = allFinished && f.finished
		}
		improvable := false
		for _, f := range finished {
			w := -1e9
			if f.finished {
				w = worst
			}
			improvable = improvable || best > w
		}
		unsatisfied = unsatisfied && improvable
		allHit := !slices.Contains(hits, false)
		if !unsatisfied || (allFinished && mode == EarlyStopEager) || allHit {
			break
		}
	}
	var ids [][]int
	var scores []float64
	for _, f := range finished[:n] {
		out := f.ids
		if out[len(out)-1] == eos {
			out = out[:len(out)-1]
		}
		ids = append(ids, out)
		scores = append(scores, f.score)
	}
	return ids, scores
}

// TestBeamMatchesHuggingFace compares beam search, pruning included, with
// the transcription of Hugging Face's on a vocabulary large enough
// (2*width <= vocab) that Hugging Face's -1e9 padding beams never surface.
func TestBeamMatchesHuggingFace(t *testing.T) {
	const vocab, eos = 20, 1
	for _, width := range []int{2, 3, 4} {
		for _, lp := range []float64{1, 0.6, 2, -0.5} {
			for _, mode := range []EarlyStopping{EarlyStopHeuristic, EarlyStopNever, EarlyStopEager} {
				for seed := range 8 {
					lm := hashLM(vocab, eos, 3, 0.25+0.05*float64(seed%3))
					prompt := 900 + seed
					n := 1 + seed%width
					wantIDs, wantScores := hfBeam(lm, prompt, vocab, width, n, 9, eos, lp, mode)
					p := Params{Strategy: Beam, N: n, Beams: width, MaxTokens: 9, EOS: eos, LengthPenalty: lp, EarlyStopping: mode}
					res, f, _ := solo(t, lm, prompt, Request{Params: p})
					if res.Err != nil {
						t.Fatal(res.Err)
					}
					name := fmt.Sprintf("width %d penalty %v mode %d seed %d", width, lp, mode, seed)
					if len(res.Alternatives) != n {
						t.Fatalf("%s: %d alternatives, want %d", name, len(res.Alternatives), n)
					}
					for i, a := range res.Alternatives {
						length := len(a.IDs)
						if a.Finish == FinishEOS {
							length++
						}
						score := a.LogProb / math.Pow(float64(length), lp)
						if !slices.Equal(a.IDs, wantIDs[i]) || math.Abs(score-wantScores[i]) > 1e-9 {
							t.Fatalf("%s: alternative %d is %v scoring %v, Hugging Face's %v scoring %v", name, i, a.IDs, score, wantIDs[i], wantScores[i])
						}
					}
					for s, k := range f.ks {
						if k != 2*width {
							t.Fatalf("%s: step %d asked k %d, want %d", name, s, k, 2*width)
						}
					}
				}
			}
		}
	}
}

// TestBeamEarlyStoppingModes checks that the modes cost what they should:
// eager stops no later than the heuristic, which stops no later than the
// exact bound, and only the exact bound never returns a worse best.
func TestBeamEarlyStoppingModes(t *testing.T) {
	lm := hashLM(20, 1, 3, 0.3)
	sawDifference := false
	for prompt := 700; prompt < 730; prompt++ {
		steps := map[EarlyStopping]int{}
		best := map[EarlyStopping]float64{}
		for _, mode := range []EarlyStopping{EarlyStopEager, EarlyStopHeuristic, EarlyStopNever} {
			p := Params{Strategy: Beam, N: 2, Beams: 3, MaxTokens: 14, EOS: 1, LengthPenalty: 1, EarlyStopping: mode}
			res, f, _ := solo(t, lm, prompt, Request{Params: p})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			a := res.Alternatives[0]
			n := len(a.IDs)
			if a.Finish == FinishEOS {
				n++
			}
			steps[mode], best[mode] = len(f.rows), a.LogProb/float64(n)
		}
		if !(steps[EarlyStopEager] <= steps[EarlyStopHeuristic] && steps[EarlyStopHeuristic] <= steps[EarlyStopNever]) {
			t.Fatalf("prompt %d: steps %v", prompt, steps)
		}
		if best[EarlyStopNever] < best[EarlyStopHeuristic] || best[EarlyStopNever] < best[EarlyStopEager] {
			t.Fatalf("prompt %d: best scores %v: the exact bound found worse", prompt, best)
		}
		sawDifference = sawDifference || steps[EarlyStopEager] < steps[EarlyStopNever]
	}
	if !sawDifference {
		t.Fatal("the modes never differed: the fixture tests nothing")
	}
}

// TestBeamBeatsGreedy is the classic case: the best first token leads
// nowhere good, and a beam of two finds the better sequence.
func TestBeamBeatsGreedy(t *testing.T) {
	// Tokens: 0 start, 1 eos, 2 "a", 3 "b". From the start, a is likelier
	// than b; after a everything is flat, after b eos is near certain.
	lm := func(hist []int) []float32 {
		switch hist[len(hist)-1] {
		case start:
			return logSoftmax([]float64{-50, -50, 1, 0.5})
		case 3:
			return logSoftmax([]float64{-50, 10, 0, 0})
		}
		return logSoftmax([]float64{-50, 0, 0, 0})
	}
	g, _, _ := solo(t, lm, 0, Request{Params: Params{MaxTokens: 5, EOS: 1}})
	b, _, _ := solo(t, lm, 0, Request{Params: Params{Strategy: Beam, N: 1, Beams: 2, MaxTokens: 5, EOS: 1}})
	if g.Alternatives[0].IDs[0] != 2 {
		t.Fatalf("greedy %v: the fixture should mislead it", g.Alternatives[0])
	}
	if got := b.Alternatives[0]; !slices.Equal(got.IDs, []int{3}) || got.Finish != FinishEOS || got.LogProb <= g.Alternatives[0].LogProb {
		t.Fatalf("beam %+v, greedy %+v", got, g.Alternatives[0])
	}
}

// TestBeamKWithStopIDs checks the number of candidates asked for: enough
// that width of them continue even if all end ids are among the best.
func TestBeamKWithStopIDs(t *testing.T) {
	lm := hashLM(30, 1, 3, 0.3)
	p := Params{Strategy: Beam, N: 4, MaxTokens: 4, EOS: 1, StopIDs: []int{7, 8}}
	_, f, _ := solo(t, lm, 3, Request{Params: p})
	for _, k := range f.ks {
		if k != 16 {
			t.Fatalf("k %v, want 4 * max(2, 1+3) = 16", f.ks)
		}
	}
	if !slices.Equal(f.rows[1:], []int{4, 4, 4}) {
		t.Fatalf("rows %v, want 1 then the width", f.rows)
	}
}

func TestBeamWidthOneIsGreedy(t *testing.T) {
	lm := hashLM(16, 1, 4, 0.3)
	for prompt := range 10 {
		g, _, _ := solo(t, lm, prompt, Request{Params: Params{MaxTokens: 10, EOS: 1}})
		b, f, _ := solo(t, lm, prompt, Request{Params: Params{Strategy: Beam, N: 1, MaxTokens: 10, EOS: 1}})
		if !slices.Equal(f.ks, slices.Repeat([]int{1}, len(f.ks))) || fmt.Sprint(g) != fmt.Sprint(b) {
			t.Fatalf("beam of 1 %+v (k %v), greedy %+v", b, f.ks, g)
		}
	}
}
