package completion

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/nib-editor/nib/model"
)

// Batches: the worker runs the requests it took together on the model.

// process runs one batch on the model and answers its jobs; a panic fails
// the jobs not answered yet.
func (s *Service) process(batch []*task) {
	answered := make([]bool, len(batch))
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("completion: batch panicked", zap.Any("panic", r), zap.Int("requests", len(batch)), zap.Stack("stack"))
			for i, j := range batch {
				if !answered[i] {
					// Not blocking: a job may have been answered just
					// before the panic (out holds one result).
					select {
					case j.out <- jobResult{err: fmt.Errorf("%w: %v", ErrInternal, r)}:
					default:
					}
				}
			}
		}
	}()
	s.mu.Lock()
	fault := s.fault
	s.mu.Unlock()
	if fault != nil {
		if err := fault(len(batch)); err != nil {
			s.fail(batch, answered, err, true)
			return
		}
	}
	if batch[0].cont != nil {
		s.continueState(batch[0])
		return
	}
	if batch[0].score != nil {
		s.runScore(batch[0])
		return
	}
	dec, cached, err := s.decoderFor(batch)
	if err != nil {
		s.fail(batch, answered, err, true)
		return
	}
	reqs := make([]Request, len(batch))
	capacity := 0
	for i, j := range batch {
		reqs[i] = Request{Ctx: j.ctx, Params: j.params, OnToken: j.onText, OnDone: j.onDone}
		capacity = max(capacity, j.params.MaxTokens)
	}
	results := Decode(modelStepper{dec}, s.m.Config().DecoderStartID, reqs)
	for _, r := range results {
		if r.Err != nil && isOutOfMemory(r.Err) {
			s.outOfMemory(len(batch), r.Err)
			break
		}
	}
	keepDecoder := false
	for i, j := range batch {
		r := results[i]
		if r.Err != nil {
			if isOutOfMemory(r.Err) {
				r.Err = s.oomError(r.Err)
			}
			answered[i] = true
			j.out <- jobResult{err: errorOf(j, r.Err)}
			continue
		}
		out := &Output{Cached: cached[i]}
		seqs := r.Alternatives
		if j.distinct != nil {
			seqs = j.distinct.kept
		}
		for _, seq := range seqs {
			out.Alternatives = append(out.Alternatives, Alternative{Text: j.texts(seq.IDs), Tokens: len(seq.IDs), Finish: seq.Finish})
		}
		if j.complete != nil && len(batch) == 1 && len(r.Alternatives) == 1 && dec.Rows() == 1 {
			keepDecoder = s.keepState(j, r.Alternatives[0], out.Alternatives[0], dec)
		}
		answered[i] = true
		j.out <- jobResult{out: out}
	}
	if !keepDecoder {
		dec.Close()
	}
}

// modelStepper adapts the model's decoder to Stepper and GreedyRunner.
type modelStepper struct{ d *model.Decoder }

func (m modelStepper) RunGreedy(ctx context.Context, first []int, maxSteps int, emit func([]int, []float32) bool) error {
	return m.d.RunGreedy(ctx, first, maxSteps, emit)
}

func (m modelStepper) Rows() int { return m.d.Rows() }

func (m modelStepper) Keep(rows []int) error { return m.d.Keep(rows) }

func (m modelStepper) Step(ctx context.Context, tokens []int, k int) ([]model.Candidates, error) {
	return m.d.Step(ctx, tokens, k)
}
