package completion_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nib-editor/nib/completion"
	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/model"
	"github.com/nib-editor/nib/model/tokenizer"
)

// gpuModel loads a fixture model on a fresh device. The fixtures' weights
// are random, so their words are gibberish: these tests check what the
// service does (caching, scheduling), not what it writes.
func gpuModel(t *testing.T, name string) (*model.Model, *tokenizer.Tokenizer) {
	t.Helper()
	return gpuModelAt(t, filepath.Join("..", "..", "shared", "fixtures", name))
}

// gpuModelAt loads the model folder dir on a fresh device.
func gpuModelAt(t *testing.T, dir string) (*model.Model, *tokenizer.Tokenizer) {
	t.Helper()
	dev, err := gpu.Open(gpu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	ck, err := model.OpenCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	m, err := model.Load(dev, ck, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m, tok
}

func newService(t *testing.T, opts completion.ServiceOptions) (*completion.Service, *tokenizer.Tokenizer) {
	t.Helper()
	m, tok := gpuModel(t, "t5-tiny-gated")
	s := completion.NewService(m, tok, opts)
	t.Cleanup(s.Close)
	return s, tok
}

func greedy(max int) completion.Params {
	return completion.Params{Strategy: completion.Greedy, MaxTokens: max}
}

// TestEncoderCache: asking the same question twice encodes once, and the
// answer is the same.
func TestEncoderCache(t *testing.T) {
	s, _ := newService(t, completion.ServiceOptions{})
	ctx := context.Background()
	req := completion.RewriteRequest{Key: "doc", Instruction: "Fix the grammar", Text: "Me and him goes there.", MaxInputTokens: 64, Params: greedy(8)}
	first, err := s.Rewrite(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if first.Cached != completion.CachedNone || s.Stats().Encodes != 1 {
		t.Fatalf("first request: cached %q, %d encodes", first.Cached, s.Stats().Encodes)
	}
	second, err := s.Rewrite(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if second.Cached != completion.CachedEncoder {
		t.Errorf("second identical request: cached %q, want encoder", second.Cached)
	}
	if n := s.Stats().Encodes; n != 1 {
		t.Errorf("%d encoder passes for two identical requests, want 1", n)
	}
	if first.Alternatives[0].Text != second.Alternatives[0].Text {
		t.Errorf("cached answer %q differs from %q", second.Alternatives[0].Text, first.Alternatives[0].Text)
	}
	if st := s.Stats().Encoder; st.Hits != 1 || st.Entries != 1 || st.Bytes <= 0 {
		t.Errorf("encoder cache stats %+v", st)
	}
}

// TestTypeThrough: typing the start of the suggestion shown is answered
// from the stored suggestion without running the model, and typing all of
// it continues from the stored decoder state without encoding.
func TestTypeThrough(t *testing.T) {
	s, _ := newService(t, completion.ServiceOptions{})
	ctx := context.Background()
	before, after := "The weather today is", " Tomorrow it rains."
	req := completion.CompleteRequest{Key: "doc", Before: before, After: after, MaxInputTokens: 128, Params: greedy(6)}
	first, err := s.Complete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	sugg := first.Alternatives[0]
	if len([]rune(sugg.Text)) < 2 || sugg.Finish != completion.FinishLength {
		t.Fatalf("suggestion %+v: want at least 2 characters ending at the token limit", sugg)
	}
	batches, encodes := s.Stats().Batches, s.Stats().Encodes

	// Type the first two characters of the suggestion.
	typed := string([]rune(sugg.Text)[:2])
	req.Before = before + typed
	out, err := s.Complete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if out.Cached != completion.CachedTypeThrough || out.Alternatives[0].Text != sugg.Text[len(typed):] {
		t.Errorf("after typing %q: %+v, want the rest %q from type-through", typed, out, sugg.Text[len(typed):])
	}
	if st := s.Stats(); st.Batches != batches || st.Encodes != encodes {
		t.Errorf("type-through ran the model: %d batches, %d encodes (before %d, %d)", st.Batches, st.Encodes, batches, encodes)
	}

	// Type the rest: the suggestion goes on from the stored decoder state.
	req.Before = before + sugg.Text
	more, err := s.Complete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if more.Cached != completion.CachedTypeThrough {
		t.Errorf("after typing the whole suggestion: cached %q, want typeThrough", more.Cached)
	}
	if st := s.Stats(); st.Encodes != encodes {
		t.Errorf("continuing encoded again: %d encodes, want %d", st.Encodes, encodes)
	}
	// The continuation is what the model gives when it is fed the whole
	// suggestion and goes on: the first request with twice the tokens.
	long := req
	long.Before, long.Key = before, "other"
	long.Params = greedy(12)
	whole, err := s.Complete(ctx, long)
	if err != nil {
		t.Fatal(err)
	}
	if want := sugg.Text + more.Alternatives[0].Text; !strings.HasPrefix(whole.Alternatives[0].Text, want) {
		t.Errorf("suggestion + continuation %q is not how the 12-token completion %q begins", want, whole.Alternatives[0].Text)
	}

	// Typing something else starts over.
	req.Before = before + " xyz"
	other, err := s.Complete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if other.Cached == completion.CachedTypeThrough {
		t.Errorf("text that is not the suggestion was served by type-through: %+v", other)
	}
}

// TestSupersede: a newer request with the same key cancels the older one,
// queued or running; other keys are not disturbed.
func TestSupersede(t *testing.T) {
	s, _ := newService(t, completion.ServiceOptions{})
	ctx := context.Background()
	long := completion.CompleteRequest{Key: "doc", Before: "Once upon a time", MaxInputTokens: 64, Params: greedy(400)}
	started := make(chan struct{})
	long.OnText = func(int, string) {
		select {
		case <-started:
		default:
			close(started)
		}
	}
	var wg sync.WaitGroup
	var oldErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, oldErr = s.Complete(ctx, long)
	}()
	<-started
	newer := completion.CompleteRequest{Key: "doc", Before: "Once upon a time there", MaxInputTokens: 64, Params: greedy(3)}
	if _, err := s.Complete(ctx, newer); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if !errors.Is(oldErr, completion.ErrSuperseded) {
		t.Errorf("older request: %v, want ErrSuperseded", oldErr)
	}
}

// TestQueueFullAndBatching: with a queue of 2, a burst of requests for
// distinct documents is partly refused with ErrQueueFull, never hangs, and
// what is accepted runs in shared batches.
func TestQueueFullAndBatching(t *testing.T) {
	s, _ := newService(t, completion.ServiceOptions{QueueSize: 2, MaxBatch: 8})
	ctx := context.Background()
	// Hold the worker with one long request so that the burst queues.
	started := make(chan struct{})
	var once sync.Once
	hold := completion.CompleteRequest{Key: "hold", Before: "Hold", MaxInputTokens: 32, Params: greedy(200),
		OnText: func(int, string) { once.Do(func() { close(started) }) }}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.Complete(ctx, hold)
	}()
	<-started
	const burst = 6
	errs := make([]error, burst)
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Complete(ctx, completion.CompleteRequest{Key: string(rune('a' + i)), Before: "Some text", MaxInputTokens: 32, Params: greedy(2)})
		}()
	}
	wg.Wait()
	full, ok := 0, 0
	for _, err := range errs {
		switch {
		case errors.Is(err, completion.ErrQueueFull):
			full++
		case err == nil:
			ok++
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	if full == 0 || ok == 0 || full+ok != burst {
		t.Errorf("%d refused, %d served of %d: want some of each", full, ok, burst)
	}
	st := s.Stats()
	if st.BatchedRequests != uint64(ok+1) || st.Batches >= st.BatchedRequests {
		t.Errorf("%d batches for %d requests: queued requests were not batched", st.Batches, st.BatchedRequests)
	}
}

// TestBatchedEqualsAlone: a request gives the same output alone and in a
// batch with others of different lengths and strategies.
func TestBatchedEqualsAlone(t *testing.T) {
	s, _ := newService(t, completion.ServiceOptions{})
	ctx := context.Background()
	reqs := []completion.RewriteRequest{
		{Instruction: "Fix", Text: "A short one.", Params: completion.Params{Strategy: completion.Greedy, MaxTokens: 6}},
		{Instruction: "Shorten", Text: "A somewhat longer text that has many more words in it.", Params: completion.Params{Strategy: completion.Beam, N: 2, MaxTokens: 5}},
		{Instruction: "Rewrite", Text: "Sampling here.", Params: completion.Params{Strategy: completion.Sample, N: 2, Seed: 3, MaxTokens: 4}},
	}
	alone := make([]string, len(reqs))
	for i, r := range reqs {
		r.Key, r.MaxInputTokens = "alone", 64
		out, err := s.Rewrite(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		alone[i] = texts(out)
	}
	// Hold the worker so that the three queue together.
	started := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.Complete(ctx, completion.CompleteRequest{Key: "hold", Before: "Hold", MaxInputTokens: 32, Params: greedy(100),
			OnText: func(int, string) { once.Do(func() { close(started) }) }})
	}()
	<-started
	before := s.Stats().Batches
	together := make([]string, len(reqs))
	for i, r := range reqs {
		r.Key, r.MaxInputTokens = string(rune('x'+i)), 64
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := s.Rewrite(ctx, r)
			if err != nil {
				t.Error(err)
				return
			}
			together[i] = texts(out)
		}()
	}
	wg.Wait()
	if n := s.Stats().Batches - before; n >= 1+uint64(len(reqs)) {
		t.Errorf("%d batches for the hold and %d queued requests: no batching", n, len(reqs))
	}
	for i := range reqs {
		if alone[i] != together[i] {
			t.Errorf("request %d: alone %q, batched %q", i, alone[i], together[i])
		}
	}
}

func texts(out *completion.Output) string {
	var parts []string
	for _, a := range out.Alternatives {
		parts = append(parts, a.Text+"|"+string(a.Finish))
	}
	return strings.Join(parts, " / ")
}

// TestForget: Forget drops the type-through state kept under exactly the
// key it is given, the Key of the completions; the service makes no keys
// of its own from it, so a state kept under another key stays.
func TestForget(t *testing.T) {
	s, _ := newService(t, completion.ServiceOptions{})
	ctx := context.Background()
	before, after := "The weather today is", " Tomorrow it rains."
	suggest := func(key string) string {
		out, err := s.Complete(ctx, completion.CompleteRequest{Key: key, Before: before, After: after, MaxInputTokens: 128, Params: greedy(6)})
		if err != nil {
			t.Fatal(err)
		}
		if text := out.Alternatives[0].Text; len([]rune(text)) >= 2 {
			return text
		}
		t.Fatalf("suggestion %+v: want at least 2 characters", out.Alternatives[0])
		return ""
	}
	typeOn := func(key, sugg string, n int) completion.Cached {
		typed := string([]rune(sugg)[:n])
		out, err := s.Complete(ctx, completion.CompleteRequest{Key: key, Before: before + typed, After: after, MaxInputTokens: 128, Params: greedy(6)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Cached
	}
	doc, prefixed := suggest("doc"), suggest("complete doc")
	s.Forget("doc")
	if c := typeOn("doc", doc, 1); c == completion.CachedTypeThrough {
		t.Errorf("typing on after Forget(%q) was served by type-through", "doc")
	}
	if c := typeOn("complete doc", prefixed, 1); c != completion.CachedTypeThrough {
		t.Errorf("Forget(%q) dropped the state kept under %q: typing on was cached %q, want typeThrough", "doc", "complete doc", c)
	}
	s.Forget("complete doc")
	if c := typeOn("complete doc", prefixed, 2); c == completion.CachedTypeThrough {
		t.Errorf("typing on after Forget(%q) was served by type-through", "complete doc")
	}
}
