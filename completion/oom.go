package completion

import (
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/nib-editor/nib/model"
)

// The out-of-memory policy: halve the caches and the batches, retry a
// batch of several in the smaller ones, tell the others what was cut.

// fail answers the batch's jobs not answered yet with err. When err is the
// GPU running out of memory, the caches and batches shrink first, and with
// requeue a batch of several goes back to the front of the queue, to run
// in the smaller batches.
func (s *Service) fail(batch []*task, answered []bool, err error, requeue bool) {
	if isOutOfMemory(err) {
		s.outOfMemory(len(batch), err)
		if requeue && len(batch) > 1 {
			s.mu.Lock()
			if !s.closed {
				for i := range answered {
					answered[i] = true
				}
				s.queue = append(batch[:len(batch):len(batch)], s.queue...)
				s.mu.Unlock()
				return
			}
			s.mu.Unlock()
		}
		err = s.oomError(err)
	}
	for i, j := range batch {
		if !answered[i] {
			answered[i] = true
			j.out <- jobResult{err: errorOf(j, err)}
		}
	}
}

// isOutOfMemory reports whether err is the GPU running out of memory:
// ErrOutOfMemory, or the model's (a WebGPU error of type OutOfMemory).
func isOutOfMemory(err error) bool {
	return errors.Is(err, ErrOutOfMemory) || errors.Is(err, model.ErrOutOfMemory)
}

// outOfMemory shrinks the caches to half their budgets and the batches to
// half the size of the one that failed.
func (s *Service) outOfMemory(batch int, err error) {
	s.mu.Lock()
	s.oom++
	s.limit = max(1, min(s.limit, batch/2))
	limit := s.limit
	s.mu.Unlock()
	enc, dec := s.encoders.Stats().Budget/2, s.states.Stats().Budget/2
	s.encoders.SetBudget(enc)
	s.states.SetBudget(dec)
	s.log.Warn("completion: GPU out of memory; caches and batches shrunk", zap.Error(err),
		zap.Int64("encoderCacheBytes", enc), zap.Int64("decoderCacheBytes", dec), zap.Int("batchLimit", limit))
}

// oomError is what the requests of a batch that ran out of memory get.
func (s *Service) oomError(err error) error {
	s.mu.Lock()
	limit := s.limit
	s.mu.Unlock()
	detail := fmt.Sprintf("caches cut to %d MiB for encoder outputs and %d MiB for decoder states, batches to %d requests; retry",
		s.encoders.Stats().Budget>>20, s.states.Stats().Budget>>20, limit)
	if errors.Is(err, ErrOutOfMemory) {
		return fmt.Errorf("%w; %s", err, detail)
	}
	return fmt.Errorf("%w (%v); %s", ErrOutOfMemory, err, detail)
}
