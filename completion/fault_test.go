package completion_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nib-editor/nib/completion"
	"github.com/nib-editor/nib/gpu"
)

// waitQueued waits until n requests are queued.
func waitQueued(t *testing.T, s *completion.Service, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for s.Stats().Queued != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued after 30 s, want %d", s.Stats().Queued, n)
		}
		time.Sleep(time.Millisecond) // polling a condition, not a synchronisation by time
	}
}

// TestOutOfMemory: a batch of several that runs out of GPU memory halves
// the caches and the batch size and runs again in smaller batches; a
// single request that runs out fails with an error saying what was cut;
// Configure restores the sizes; nothing hangs.
func TestOutOfMemory(t *testing.T) {
	const mib = 1 << 20
	opts := completion.ServiceOptions{MaxBatch: 8, EncoderCacheBytes: 64 * mib, DecoderCacheBytes: 32 * mib}
	s, _ := newService(t, opts)
	ctx := context.Background()

	// The fault hook holds the first batch until four more requests are
	// queued, fails the batch of four, and records every batch size.
	var mu sync.Mutex
	var sizes []int
	release := make(chan struct{})
	oomLeft := 1
	s.SetFault(func(batch int) error {
		mu.Lock()
		sizes = append(sizes, batch)
		first := len(sizes) == 1
		fail := batch > 1 && oomLeft > 0
		if fail {
			oomLeft--
		}
		mu.Unlock()
		if first {
			<-release
		}
		if fail {
			return fmt.Errorf("%w: simulated", completion.ErrOutOfMemory)
		}
		return nil
	})
	rewrite := func(key string) error {
		_, err := s.Rewrite(ctx, completion.RewriteRequest{Key: key, Instruction: "Fix", Text: "Text " + key, MaxInputTokens: 64, Params: greedy(3)})
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, 5)
	wg.Add(1)
	go func() { defer wg.Done(); errs[0] = rewrite("hold") }()
	for s.Stats().Batches == 0 {
		time.Sleep(time.Millisecond) // until the hold's batch started
	}
	for i := 1; i < 5; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = rewrite(fmt.Sprint("doc", i)) }()
	}
	waitQueued(t, s, 4)
	close(release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("request %d: %v; a batch of several that ran out of memory runs again smaller", i, err)
		}
	}
	st := s.Stats()
	mu.Lock()
	got := fmt.Sprint(sizes)
	mu.Unlock()
	if got != "[1 4 2 2]" {
		t.Errorf("batch sizes %s, want [1 4 2 2]: the batch of 4 that failed, then halves", got)
	}
	if st.OutOfMemory != 1 || st.BatchLimit != 2 || st.Encoder.Budget != 32*mib || st.Decoder.Budget != 16*mib {
		t.Errorf("after one out-of-memory batch of 4: %+v; want limit 2 and budgets halved", st)
	}

	// A single request that runs out fails, saying what was cut.
	s.SetFault(func(int) error { return fmt.Errorf("%w: simulated", completion.ErrOutOfMemory) })
	err := rewrite("alone")
	if !errors.Is(err, completion.ErrOutOfMemory) || !strings.Contains(err.Error(), "caches cut to 16 MiB for encoder outputs and 8 MiB for decoder states, batches to 1 requests") {
		t.Errorf("single request out of memory: %v", err)
	}
	// A WebGPU out-of-memory error (gpu.ErrOutOfMemory, from the
	// device's uncaptured-error callback) is recognised as one too.
	s.SetFault(func(int) error {
		return fmt.Errorf("gpu: allocate 4096 bytes for kv: %w: device memory", gpu.ErrOutOfMemory)
	})
	if err := rewrite("alone"); !errors.Is(err, completion.ErrOutOfMemory) || !strings.Contains(err.Error(), "device memory") {
		t.Errorf("WebGPU out-of-memory error: %v", err)
	}
	s.SetFault(nil)
	if err := rewrite("alone"); err != nil {
		t.Errorf("after the faults: %v", err)
	}
	s.Configure(opts)
	if st := s.Stats(); st.BatchLimit != 8 || st.Encoder.Budget != 64*mib || st.Decoder.Budget != 32*mib {
		t.Errorf("Configure did not restore the sizes: %+v", st)
	}
}

// TestBatchPanic: a panic while processing a batch fails that batch's
// requests with ErrInternal; the service goes on serving.
func TestBatchPanic(t *testing.T) {
	s, _ := newService(t, completion.ServiceOptions{})
	ctx := context.Background()
	panics := 1
	s.SetFault(func(int) error {
		if panics > 0 {
			panics--
			panic("simulated bug")
		}
		return nil
	})
	req := completion.CompleteRequest{Key: "doc", Before: "Once upon a time", MaxInputTokens: 32, Params: greedy(3)}
	if _, err := s.Complete(ctx, req); !errors.Is(err, completion.ErrInternal) || !strings.Contains(err.Error(), "simulated bug") {
		t.Fatalf("request of a batch that panicked: %v, want ErrInternal", err)
	}
	if out, err := s.Complete(ctx, req); err != nil || len(out.Alternatives) != 1 {
		t.Fatalf("next request: %+v, %v", out, err)
	}
}
