package completion

import (
	"context"
	"errors"
	"fmt"

	"github.com/nib-editor/nib/model"
)

// The queue: requests wait their turn, bounded, and a newer request for
// a key supersedes the older one, waiting or running.

// task is one queued request.
type task struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	key    string
	prompt Prompt
	params Params
	onText func(alt int, ids []int)
	onDone func(alt int, seq Sequence)
	texts  func(ids []int) string
	// distinct keeps a Diverse request's distinct alternatives; nil for
	// other strategies.
	distinct *distinct
	// complete is set for completions: their state may be kept.
	complete *CompleteRequest
	// cont continues a stored decoder state instead of encoding.
	cont *typeState
	// score, when set, makes this a Score: it runs alone.
	score *scoreJob
	// background tasks wait while any other waits, and are preempted.
	background bool
	out        chan jobResult
}

type jobResult struct {
	out *Output
	err error
}

// submit queues j and waits for its result.
func (s *Service) submit(ctx context.Context, j *task, onText func(int, string)) (*Output, error) {
	switch {
	case j.params.Strategy == Diverse && j.params.N > 1:
		j.distinct = newDistinct(j.params.N, j.texts, onText)
		j.onText, j.onDone = j.distinct.token, j.distinct.done
	case onText != nil:
		texts := j.texts
		j.onText = func(alt int, ids []int) { onText(alt, texts(ids)) }
	}
	j.ctx, j.cancel = context.WithCancelCause(ctx)
	defer j.cancel(nil)
	j.out = make(chan jobResult, 1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	// A request already cancelled (superseded by its caller, say) must
	// not supersede the one that replaced it.
	if j.ctx.Err() != nil {
		s.mu.Unlock()
		return nil, cause(j.ctx)
	}
	if j.key != "" {
		if old := s.byKey[j.key]; old != nil {
			old.cancel(ErrSuperseded)
		}
	}
	if !j.background {
		for _, r := range s.running {
			if r.background {
				r.cancel(ErrPreempted)
			}
		}
	}
	// Superseded jobs still waiting leave the queue now, making room.
	kept := s.queue[:0]
	for _, q := range s.queue {
		if q.ctx.Err() != nil {
			q.out <- jobResult{err: cause(q.ctx)}
			continue
		}
		kept = append(kept, q)
	}
	s.queue = kept
	if len(s.queue) >= s.opts.QueueSize {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w (%d requests waiting)", ErrQueueFull, s.opts.QueueSize)
	}
	s.queue = append(s.queue, j)
	if j.key != "" {
		s.byKey[j.key] = j
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	r := <-j.out
	s.mu.Lock()
	if s.byKey[j.key] == j {
		delete(s.byKey, j.key)
	}
	s.mu.Unlock()
	return r.out, r.err
}

// cause is the error a cancelled task reports.
func cause(ctx context.Context) error {
	if c := context.Cause(ctx); c != nil {
		return c
	}
	return ctx.Err()
}

// run is the worker: it owns the model.
func (s *Service) run() {
	defer close(s.done)
	for range s.wake {
		for {
			batch := s.take()
			if len(batch) == 0 {
				break
			}
			s.process(batch)
			s.mu.Lock()
			s.running = nil
			s.mu.Unlock()
			s.m.TrimScratch(model.IdleScratchBytes)
		}
	}
}

// take removes the next batch from the queue: jobs that can share forward
// passes, in arrival order. A continuation of a stored decoder state, and
// a Score, run alone; background tasks are taken only when no other
// waits.
func (s *Service) take() []*task {
	s.mu.Lock()
	defer s.mu.Unlock()
	var batch []*task
	kept := s.queue[:0]
	foreground := false
	for _, j := range s.queue {
		foreground = foreground || !j.background && j.ctx.Err() == nil
	}
	for _, j := range s.queue {
		switch {
		case j.ctx.Err() != nil:
			j.out <- jobResult{err: cause(j.ctx)}
		case j.background && foreground:
			kept = append(kept, j)
		case len(batch) == 0 && j.alone():
			batch = append(batch, j)
		case len(batch) < min(s.opts.MaxBatch, s.limit) && !j.alone() && (len(batch) == 0 || !batch[0].alone()):
			batch = append(batch, j)
		default:
			kept = append(kept, j)
		}
	}
	s.queue = kept
	if len(batch) > 0 {
		s.batches++
		s.batched += uint64(len(batch))
	}
	s.running = batch
	return batch
}

// alone reports whether t runs in a batch of its own: a continuation of a
// stored decoder state, or a Score.
func (t *task) alone() bool { return t.cont != nil || t.score != nil }

// errorOf names a task's cancellation cause (superseded, closed) rather than
// a bare context.Canceled.
func errorOf(j *task, err error) error {
	if errors.Is(err, context.Canceled) {
		return cause(j.ctx)
	}
	return err
}
