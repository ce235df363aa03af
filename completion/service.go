package completion

import (
	"context"
	"errors"
	"math"
	"sync"

	"go.uber.org/zap"

	"github.com/nib-editor/nib/cache"
	"github.com/nib-editor/nib/model"
	"github.com/nib-editor/nib/model/tokenizer"
)

// Errors of the Service, for errors.Is.
var (
	// ErrQueueFull: more requests are waiting than ServiceOptions.QueueSize
	// allows; the request was refused at once rather than left to wait.
	ErrQueueFull = errors.New("completion: the request queue is full")
	// ErrSuperseded: a newer request with the same Key replaced this one
	// before it finished.
	ErrSuperseded = errors.New("completion: superseded by a newer request")
	// ErrClosed: the service was closed.
	ErrClosed = errors.New("completion: service closed")
	// ErrOutOfMemory is wrapped by the error of a batch the GPU had no
	// memory for. The service has shrunk its caches and its batches by
	// then (see Service).
	ErrOutOfMemory = errors.New("completion: GPU out of memory")
	// ErrInternal is wrapped by the error of a batch whose processing
	// panicked: a bug, reported to the requests of that batch only.
	ErrInternal = errors.New("completion: internal error")
	// ErrPreempted: a background request gave way to a foreground one
	// that arrived while it ran; it may be asked again later.
	ErrPreempted = errors.New("completion: preempted by a foreground request")
)

// ServiceOptions configure a Service; zero fields take defaults.
type ServiceOptions struct {
	// QueueSize bounds the requests waiting for the model (default 16).
	QueueSize int
	// MaxBatch bounds the requests decoded together in one forward pass
	// per step (default 8).
	MaxBatch int
	// EncoderCacheBytes bounds the GPU memory of cached encoder outputs
	// (default 256 MiB); DecoderCacheBytes that of decoder states kept
	// for type-through (default 256 MiB).
	EncoderCacheBytes, DecoderCacheBytes int64
	// Log receives scheduling events; nil discards them.
	Log *zap.Logger
}

func (o ServiceOptions) withDefaults() ServiceOptions {
	if o.QueueSize <= 0 {
		o.QueueSize = 16
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 8
	}
	if o.EncoderCacheBytes == 0 {
		o.EncoderCacheBytes = 256 << 20
	}
	if o.DecoderCacheBytes == 0 {
		o.DecoderCacheBytes = 256 << 20
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	return o
}

// CompleteRequest asks for a continuation of the text at a cursor.
type CompleteRequest struct {
	// Key identifies the document: a newer request with the same Key
	// supersedes this one, and type-through state is kept under it.
	Key string
	// Before and After are the document's text before and after the
	// cursor.
	Before, After string
	// Template is the prompt template; "" means DefaultCompleteTemplate.
	Template string
	// MaxInputTokens is the prompt budget in tokens.
	MaxInputTokens int
	// Params say how to decode; EOS and StopIDs are filled in.
	Params Params
	// StopAtSentenceEnd ends each alternative at the end of a sentence.
	StopAtSentenceEnd bool
	// OnText, if set, is called as alternatives grow, with the index and
	// the alternative's whole text so far.
	OnText func(alt int, text string)
}

// RewriteRequest asks for rewrites of a text by an instruction.
type RewriteRequest struct {
	Key            string
	Instruction    string
	Text           string
	Template       string
	MaxInputTokens int
	// Params say how to decode; EOS is filled in. Params.MaxTokens is the
	// budget, or with Length the most it may grow to.
	Params Params
	// Length, if not nil, sizes the token budget by the text's length.
	Length *RewriteLength
	// Background requests run only when no other request waits, and give
	// way (ErrPreempted) to one that arrives while they run.
	Background bool
	OnText     func(alt int, text string)
}

// RewriteLength sizes a rewrite's token budget by its text: a rewrite is
// about as long as what it rewrites, so Ratio times the text's tokens (its
// </s> included) plus Margin, at most Params.MaxTokens. Generation still
// ends at </s> first; the budget only keeps a rambling answer from going
// on for the length of a page when the text was one sentence.
type RewriteLength struct {
	Ratio  float64
	Margin int
}

// The default rewrite budget: 1.5 times the text's tokens plus 8, at most
// 256 tokens.
var DefaultRewriteLength = RewriteLength{Ratio: 1.5, Margin: 8}

// DefaultRewriteMaxTokens is the default cap of a rewrite's budget.
const DefaultRewriteMaxTokens = 256

// Tokens is the budget for a text of textTokens tokens under limit.
func (l RewriteLength) Tokens(textTokens, limit int) int {
	return max(1, min(limit, int(math.Ceil(l.Ratio*float64(textTokens)))+l.Margin))
}

// Cached says which cache served a request.
type Cached string

const (
	// CachedNone: the prompt was encoded and decoded from the start.
	CachedNone Cached = "none"
	// CachedEncoder: the encoder output came from the cache.
	CachedEncoder Cached = "encoder"
	// CachedTypeThrough: the text typed since the last suggestion was a
	// prefix of it; the rest came from the stored suggestion and decoder
	// state without encoding anything.
	CachedTypeThrough Cached = "typeThrough"
)

// Output is a request's result.
type Output struct {
	Alternatives []Alternative
	Cached       Cached
}

// Alternative is one generated text.
type Alternative struct {
	// Text is what to insert (completion) or the rewritten text.
	Text string
	// Tokens counts the generated tokens behind Text.
	Tokens int
	// Finish says why generation ended.
	Finish FinishReason
}

// ServiceStats are counters for nib/stats.
type ServiceStats struct {
	Encoder, Decoder cache.LRUStats
	// Queued is the number of requests waiting.
	Queued int
	// Batches and BatchedRequests count forward-pass groups and the
	// requests in them.
	Batches, BatchedRequests uint64
	// Encodes counts encoder passes.
	Encodes uint64
	// BatchLimit is the most requests decoded together now: MaxBatch, or
	// less after the GPU ran out of memory.
	BatchLimit int
	// OutOfMemory counts the batches that failed for want of GPU memory.
	OutOfMemory uint64
}

// Service puts one resident model behind a queue: requests from any
// goroutine wait their turn (bounded), newer requests for a document
// supersede older ones, and requests waiting together are decoded in one
// batch. Encoder outputs are cached by prompt, and the last completion of
// each document is kept for type-through.
//
// When the GPU runs out of memory for a batch, the service halves both
// cache budgets and limits later batches to half the size of the one that
// failed (at least one request). The requests of a batch of several that
// failed before decoding go back to the front of the queue and run in the
// smaller batches; the others fail with an error wrapping ErrOutOfMemory
// that says what was cut. Configure restores the configured sizes. A panic
// while processing a batch fails that batch's requests (ErrInternal) and
// the service goes on.
type Service struct {
	m    *model.Model
	tok  *tokenizer.Tokenizer
	log  *zap.Logger
	wake chan struct{}
	done chan struct{}

	encoders *cache.LRU[*model.Encoded]
	states   *cache.LRU[*typeState]

	// mu guards the fields below.
	mu      sync.Mutex
	opts    ServiceOptions
	queue   []*task
	byKey   map[string]*task // newest pending or running task per key
	closed  bool
	batches uint64
	batched uint64
	encodes uint64
	// limit is the current batch size limit, at most opts.MaxBatch.
	limit int
	// running is the batch the worker is processing.
	running []*task
	oom     uint64
	fault   func(batch int) error
}

// NewService starts a service over m, whose vocabulary tok describes.
func NewService(m *model.Model, tok *tokenizer.Tokenizer, opts ServiceOptions) *Service {
	opts = opts.withDefaults()
	s := &Service{
		m: m, tok: tok, log: opts.Log, opts: opts,
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		byKey:    map[string]*task{},
		limit:    opts.MaxBatch,
		encoders: cache.NewLRU[*model.Encoded](opts.EncoderCacheBytes),
		states:   cache.NewLRU[*typeState](opts.DecoderCacheBytes),
	}
	go s.run()
	return s
}

// Configure changes the queue size, the batch size and the cache budgets,
// restoring what running out of memory cut.
func (s *Service) Configure(opts ServiceOptions) {
	opts = opts.withDefaults()
	s.mu.Lock()
	opts.Log = s.opts.Log
	s.opts = opts
	s.limit = opts.MaxBatch
	s.mu.Unlock()
	s.encoders.SetBudget(opts.EncoderCacheBytes)
	s.states.SetBudget(opts.DecoderCacheBytes)
}

// Stats returns the service's counters.
func (s *Service) Stats() ServiceStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ServiceStats{
		Encoder: s.encoders.Stats(), Decoder: s.states.Stats(),
		Queued: len(s.queue), Batches: s.batches, BatchedRequests: s.batched, Encodes: s.encodes,
		BatchLimit: s.limit, OutOfMemory: s.oom,
	}
}

// SetFault installs a fault injector for tests of the layers above: f is
// called as each batch starts, with the number of requests in it, and an
// error it returns fails the batch as if the model had returned it (wrap
// ErrOutOfMemory to simulate running out of GPU memory). f may panic. Nil
// removes it.
func (s *Service) SetFault(f func(batch int) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// Close fails waiting requests with ErrClosed, waits for the running batch
// to stop and releases the caches.
func (s *Service) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	queue := s.queue
	s.queue = nil
	for _, j := range s.byKey {
		j.cancel(ErrClosed)
	}
	s.mu.Unlock()
	for _, j := range queue {
		j.out <- jobResult{err: ErrClosed}
	}
	close(s.wake)
	<-s.done
	s.encoders.Clear()
	s.states.Clear()
}

// Complete continues the text at a cursor.
func (s *Service) Complete(ctx context.Context, req CompleteRequest) (*Output, error) {
	tmpl := req.Template
	if tmpl == "" {
		tmpl = DefaultCompleteTemplate
	}
	params := req.Params
	params.EOS = s.tok.EOS()
	// The infill answers "<extra_id_0> text <extra_id_1>": any later
	// sentinel ends it.
	for n := 1; n < 100; n++ {
		if id := s.tok.Sentinel(n); id >= 0 {
			params.StopIDs = append(params.StopIDs, id)
		}
	}
	before := req.Before
	texts := func(ids []int) string { return OutputText(s.tok, ids, before) }
	if req.StopAtSentenceEnd {
		params.Stop = func(ids []int) bool { return SentenceEnd(texts(ids)) }
	}
	if err := params.Validate(); err != nil {
		return nil, err
	}
	if out, cont, ok := s.typeThrough(req); ok {
		if out != nil {
			return out, nil
		}
		return s.submit(ctx, &task{key: req.Key, params: params, texts: cont.textsFrom(s.tok), complete: &req, cont: cont}, req.OnText)
	}
	prompt, err := BuildComplete(s.tok, tmpl, req.Before, req.After, req.MaxInputTokens)
	if err != nil {
		return nil, err
	}
	return s.submit(ctx, &task{key: req.Key, prompt: prompt, params: params, texts: texts, complete: &req}, req.OnText)
}

// Rewrite rewrites a text by an instruction.
func (s *Service) Rewrite(ctx context.Context, req RewriteRequest) (*Output, error) {
	tmpl := req.Template
	if tmpl == "" {
		tmpl = DefaultRewriteTemplate
	}
	params := req.Params
	params.EOS = s.tok.EOS()
	if req.Length != nil {
		params.MaxTokens = req.Length.Tokens(len(s.tok.Encode(req.Text)), params.MaxTokens)
	}
	if err := params.Validate(); err != nil {
		return nil, err
	}
	prompt, err := BuildRewrite(s.tok, tmpl, req.Instruction, req.Text, req.MaxInputTokens)
	if err != nil {
		return nil, err
	}
	texts := func(ids []int) string { return s.tok.Decode(ids) }
	return s.submit(ctx, &task{key: req.Key, prompt: prompt, params: params, texts: texts, background: req.Background}, req.OnText)
}
