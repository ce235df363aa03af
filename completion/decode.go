package completion

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/nib-editor/nib/model"
)

// Request is one decoding job for Decode.
type Request struct {
	// Ctx cancels the request; nil means context.Background(). Decode checks
	// it before and after each step.
	Ctx context.Context
	// Params says how to decode.
	Params Params
	// OnToken, if not nil, is called from Decode's goroutine as tokens are
	// produced, with an alternative's index and its whole id sequence so far
	// (not to be modified or kept). Greedy and Sample call it once per
	// token added to alternative alt (end ids are not added, so they cause
	// no call). Beam calls it only with alt 0, whenever the alternative
	// Decode would return first if it stopped now changes: the best of the
	// finished and running hypotheses by score. That sequence need not
	// extend the one reported before it.
	OnToken func(alt int, ids []int)
	// OnDone, if not nil, is called from Decode's goroutine when
	// alternative alt of Greedy, Sample or Diverse ends (by an end id,
	// MaxTokens or Stop), with the finished sequence (its IDs not to be
	// modified). Beam search does not call it: its alternatives are known
	// only when it stops.
	OnDone func(alt int, seq Sequence)
}

// hooks are a request's callbacks, as the strategies call them.
type hooks struct {
	onToken func(alt int, ids []int)
	onDone  func(alt int, seq Sequence)
}

// FinishReason says why an alternative ended.
type FinishReason string

const (
	// FinishEOS: the model produced Params.EOS.
	FinishEOS FinishReason = "eos"
	// FinishLength: MaxTokens tokens were generated.
	FinishLength FinishReason = "length"
	// FinishStop: the model produced one of Params.StopIDs, or Params.Stop
	// returned true.
	FinishStop FinishReason = "stop"
	// FinishNone marks an alternative that had not ended when its request
	// was cancelled or its decoding failed.
	FinishNone FinishReason = ""
)

// Sequence is one alternative.
type Sequence struct {
	// IDs are the generated ids, the start token and any EOS or stop id
	// left out.
	IDs []int
	// LogProb is the sum of the model's log-probabilities of the generated
	// tokens, including the EOS or stop id that ended it: the log of the
	// probability of the whole output. Temperature does not change it.
	LogProb float64
	// Finish says why it ended.
	Finish FinishReason
}

// Result is what Decode returns for one request.
type Result struct {
	// Alternatives are the request's sequences. Greedy gives one; Sample
	// gives N in the order of their seeds (alternative a was drawn with
	// (Seed, a)); Beam gives up to N, best score first.
	//
	// When Err is set they are what was decoded until then: for Greedy and
	// Sample each alternative so far, FinishNone where it had not ended;
	// for Beam the best N of the finished hypotheses and the running beams
	// together by score, running beams with FinishNone.
	Alternatives []Sequence
	// Err is the request's ctx.Err() if it was cancelled, the Stepper's
	// error (wrapped) if a step failed while it was running, or an error
	// wrapping ErrInvalidParams.
	Err error
}

// Decode runs reqs to completion on s, which holds one row per request (row
// i is request i, its input already encoded), and returns their results in
// the same order. start is the decoder's start token (0 for T5), fed to
// every row at the first step.
//
// The requests go in lockstep, one Step for all of them per token, with k
// the largest any of them needs: 1 for greedy, TopK for sampling, twice the
// beam width for beam search (more with several end ids). After each step,
// Keep expands each request to its rows (N for sampling, the beam width for
// beam search: at the first step by repeating its row) and drops the rows
// of alternatives that ended and of requests that were cancelled, so that
// finished work costs no further steps. A Stepper error fails every request
// still running. Decode calls Keep only with indices in range, and never
// with an empty list: it returns once no row is left.
func Decode(s Stepper, start int, reqs []Request) []Result {
	res := make([]Result, len(reqs))
	if n := s.Rows(); n != len(reqs) {
		err := fmt.Errorf("completion: the stepper has %d rows for %d requests", n, len(reqs))
		for i := range res {
			res[i].Err = err
		}
		return res
	}
	var (
		active []*job
		keep   []int
		tokens []int
	)
	for i, r := range reqs {
		set, err := r.Params.settle()
		if err != nil {
			res[i].Err = err
			continue
		}
		ctx := r.Ctx
		if ctx == nil {
			ctx = context.Background()
		}
		if err := ctx.Err(); err != nil {
			res[i].Err = err
			continue
		}
		active = append(active, &job{res: &res[i], ctx: ctx, rows: 1, strategy: newStrategy(set, hooks{r.OnToken, r.OnDone})})
		keep = append(keep, i)
		tokens = append(tokens, start)
	}
	if len(active) == 0 {
		return res
	}
	if !identity(keep, len(reqs)) {
		if err := s.Keep(keep); err != nil {
			fail(active, fmt.Errorf("completion: decoder keep: %w", err))
			return res
		}
	}
	if runner, ok := s.(GreedyRunner); ok && allGreedy(active) {
		rows := make([]int, len(active))
		for i := range rows {
			rows[i] = i
		}
		decodeAhead(runner, start, active, rows)
		return res
	}
	for {
		k := 0
		for _, j := range active {
			k = max(k, j.strategy.need())
		}
		ctx, done := stepContext(active)
		cands, err := s.Step(ctx, tokens, k)
		done()
		if err == nil {
			err = checkCandidates(cands, len(tokens))
		}
		if err != nil {
			fail(active, fmt.Errorf("completion: decoder step: %w", err))
			return res
		}
		var next []*job
		keep, tokens = nil, nil // fresh: the Stepper may hold on to them
		row := 0
		for _, j := range active {
			c := cands[row : row+j.rows]
			base := row
			row += j.rows
			if j.cancelled() {
				continue
			}
			src, ids := j.strategy.advance(c)
			if j.cancelled() {
				continue
			}
			if len(src) == 0 {
				j.res.Alternatives = j.strategy.result()
				continue
			}
			for _, r := range src {
				keep = append(keep, base+r)
			}
			tokens = append(tokens, ids...)
			j.rows = len(src)
			next = append(next, j)
		}
		if len(next) == 0 {
			return res
		}
		if !identity(keep, row) {
			if err := s.Keep(keep); err != nil {
				fail(next, fmt.Errorf("completion: decoder keep: %w", err))
				return res
			}
		}
		active = next
	}
}

// allGreedy reports whether every job decodes greedily.
func allGreedy(jobs []*job) bool {
	for _, j := range jobs {
		if _, ok := j.strategy.(*greedy); !ok {
			return false
		}
	}
	return true
}

// job is one request being decoded.
type job struct {
	res      *Result
	ctx      context.Context
	rows     int // rows it holds in the Stepper now
	strategy strategy
}

// cancelled records a cancelled request's partial result and reports
// whether it was cancelled.
func (j *job) cancelled() bool {
	err := j.ctx.Err()
	if err == nil {
		return false
	}
	j.res.Err = err
	j.res.Alternatives = j.strategy.result()
	return true
}

// fail ends every job in jobs with err, or with its own ctx.Err() where it
// was cancelled meanwhile.
func fail(jobs []*job, err error) {
	for _, j := range jobs {
		if !j.cancelled() {
			j.res.Err = err
			j.res.Alternatives = j.strategy.result()
		}
	}
}

// strategy is one request's decoding state. Its rows are a contiguous range
// of the Stepper's rows.
type strategy interface {
	// need is the number of candidates it wants per row.
	need() int
	// advance takes the candidates of its rows and returns, for each row
	// it keeps for the next step, the row it continues (an index into c)
	// and the token to feed it. It returns nothing once it is done.
	advance(c []model.Candidates) (src, next []int)
	// result returns the alternatives, finished or so far.
	result() []Sequence
}

func newStrategy(s *settings, h hooks) strategy {
	switch s.Strategy {
	case Sample, Diverse:
		return newSampler(s, h)
	case Beam:
		return newBeam(s, h.onToken)
	}
	return &greedy{set: s, hooks: h}
}

// identity reports whether keep is 0, 1, ..., n-1.
func identity(keep []int, n int) bool {
	if len(keep) != n {
		return false
	}
	for i, r := range keep {
		if r != i {
			return false
		}
	}
	return true
}

// checkCandidates checks what a Stepper returned for rows rows.
func checkCandidates(c []model.Candidates, rows int) error {
	if len(c) != rows {
		return fmt.Errorf("stepper returned %d rows of candidates for %d rows", len(c), rows)
	}
	for i, r := range c {
		if len(r.IDs) == 0 || len(r.IDs) != len(r.LogProbs) {
			return fmt.Errorf("stepper returned %d ids and %d log-probabilities for row %d", len(r.IDs), len(r.LogProbs), i)
		}
	}
	return nil
}

// logProb returns candidate i's log-probability, NaN read as -Inf so that
// it sorts last and is never sampled.
func logProb(c model.Candidates, i int) float64 {
	lp := float64(c.LogProbs[i])
	if math.IsNaN(lp) {
		return math.Inf(-1)
	}
	return lp
}

// stepContext returns the context for one Step over the active jobs: done
// once all of theirs are, so that a step nobody waits for can be abandoned.
func stepContext(active []*job) (context.Context, func()) {
	if len(active) == 1 {
		return active[0].ctx, func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var left atomic.Int64
	left.Store(int64(len(active)))
	stops := make([]func() bool, len(active))
	for i, j := range active {
		stops[i] = context.AfterFunc(j.ctx, func() {
			if left.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}
