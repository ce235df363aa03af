package completion

import (
	"context"
	"fmt"

	"github.com/nib-editor/nib/model"
)

// GreedyRunner is a Stepper that can also decode greedily on its own, the
// argmax fed back without a round trip through the caller, so that it may
// compute a step ahead while the caller looks at the last one (the model's
// decoder does, on the GPU). Decode uses it when every request of a batch
// is greedy.
type GreedyRunner interface {
	Stepper
	// RunGreedy feeds first (one token per row), then each step's argmax,
	// calling emit with each step's ids and log-probabilities in order
	// until it returns false or maxSteps steps were emitted. It keeps every
	// row: rows that ended go on being computed (and ignored).
	RunGreedy(ctx context.Context, first []int, maxSteps int, emit func(ids []int, logprobs []float32) bool) error
}

// decodeAhead is Decode for a batch of greedy requests on a GreedyRunner:
// the same results, each token chosen and ended exactly as greedy.advance
// does, with the runner's look-ahead.
func decodeAhead(s GreedyRunner, start int, active []*job, rows []int) {
	steps := 0
	for _, j := range active {
		steps = max(steps, j.strategy.(*greedy).set.MaxTokens)
	}
	first := make([]int, len(rows))
	for i := range first {
		first[i] = start
	}
	live := make([]bool, len(active))
	for i := range live {
		live[i] = true
	}
	ctx, done := stepContext(active)
	defer done()
	err := s.RunGreedy(ctx, first, steps, func(ids []int, lps []float32) bool {
		more := false
		for i, j := range active {
			if !live[i] {
				continue
			}
			if j.cancelled() {
				live[i] = false
				continue
			}
			r := rows[i]
			src, _ := j.strategy.advance([]model.Candidates{{IDs: ids[r : r+1], LogProbs: lps[r : r+1]}})
			if len(src) == 0 {
				j.res.Alternatives = j.strategy.result()
				live[i] = false
				continue
			}
			more = true
		}
		return more
	})
	var left []*job
	for i, j := range active {
		if live[i] {
			left = append(left, j)
		}
	}
	if err != nil {
		fail(left, fmt.Errorf("completion: decoder step: %w", err))
		return
	}
	// Requests still live were cancelled while their last step ran, or
	// ran out of steps the runner could take (its capacity).
	for _, j := range left {
		if !j.cancelled() {
			j.res.Err = fmt.Errorf("completion: the decoder stopped after %d steps", len(j.strategy.result()[0].IDs))
			j.res.Alternatives = j.strategy.result()
		}
	}
}
