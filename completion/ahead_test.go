package completion

import (
	"context"
	"reflect"
	"testing"

	"github.com/nib-editor/nib/model"
)

// aheadStepper is a fakeStepper that is also a GreedyRunner, running one
// step ahead of what it has emitted, as the model's decoder does.
type aheadStepper struct {
	*fakeStepper
	runs int
}

func (a *aheadStepper) RunGreedy(ctx context.Context, first []int, maxSteps int, emit func([]int, []float32) bool) error {
	a.runs++
	tokens := first
	var pending []model.Candidates
	for step := 0; step <= maxSteps; step++ {
		var next []model.Candidates
		if step < maxSteps && ctx.Err() == nil {
			c, err := a.Step(ctx, tokens, 1)
			if err != nil {
				return err
			}
			next = c
			tokens = make([]int, len(c))
			for i := range c {
				tokens[i] = c[i].IDs[0]
			}
		}
		if pending != nil {
			ids := make([]int, len(pending))
			lps := make([]float32, len(pending))
			for i, c := range pending {
				ids[i], lps[i] = c.IDs[0], c.LogProbs[0]
			}
			if !emit(ids, lps) {
				return nil
			}
		}
		if next == nil {
			return ctx.Err()
		}
		pending = next
	}
	return nil
}

// TestGreedyAheadEqualsStepwise: batches of greedy requests give the same
// results, finishes and OnToken calls on a runner that computes ahead as
// step by step, including a request cancelled midway.
func TestGreedyAheadEqualsStepwise(t *testing.T) {
	lm := hashLM(24, 1, 4, 0.25)
	stop := func(ids []int) bool { return len(ids) == 4 }
	params := []Params{
		{Strategy: Greedy, MaxTokens: 9, EOS: 1},
		{Strategy: Greedy, MaxTokens: 3, EOS: 1},
		{Strategy: Greedy, MaxTokens: 14, EOS: 1, StopIDs: []int{5}},
		{Strategy: Greedy, MaxTokens: 14, EOS: -1, Stop: stop},
	}
	run := func(ahead bool, cancelAt int) ([]Result, [][]event, *aheadStepper) {
		prompts := []int{300, 301, 302, 303}
		f := &aheadStepper{fakeStepper: newFake(t, lm, prompts...)}
		logs := make([][]event, len(params))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		reqs := make([]Request, len(params))
		for i, p := range params {
			reqs[i] = Request{Params: p, OnToken: func(alt int, ids []int) {
				logs[i] = append(logs[i], event{alt, append([]int(nil), ids...)})
				if i == 2 && len(ids) == cancelAt {
					cancel()
				}
			}}
			if i == 2 {
				reqs[i].Ctx = ctx
			}
		}
		var s Stepper = f
		if !ahead {
			s = f.fakeStepper
		}
		return Decode(s, 0, reqs), logs, f
	}
	for _, cancelAt := range []int{0, 2} {
		want, wantLog, _ := run(false, cancelAt)
		got, gotLog, f := run(true, cancelAt)
		if f.runs != 1 {
			t.Fatalf("RunGreedy called %d times, want 1", f.runs)
		}
		if (cancelAt > 0) != (want[2].Err != nil) {
			t.Fatalf("cancel at %d: request 2 ended with %v", cancelAt, want[2].Err)
		}
		finishes := map[FinishReason]bool{}
		for _, r := range want {
			for _, a := range r.Alternatives {
				finishes[a.Finish] = true
			}
		}
		if cancelAt == 0 && !(finishes[FinishLength] && finishes[FinishStop]) {
			t.Fatalf("finishes %v: the case should end by length and by stop", finishes)
		}
		for i := range params {
			if !reflect.DeepEqual(got[i].Alternatives, want[i].Alternatives) || (got[i].Err == nil) != (want[i].Err == nil) {
				t.Errorf("cancel at %d, request %d: ahead %+v (%v), stepwise %+v (%v)", cancelAt, i, got[i].Alternatives, got[i].Err, want[i].Alternatives, want[i].Err)
			}
			if !reflect.DeepEqual(gotLog[i], wantLog[i]) {
				t.Errorf("cancel at %d, request %d: OnToken %v, stepwise %v", cancelAt, i, gotLog[i], wantLog[i])
			}
		}
	}
}
