package completion

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
	Params         Params
	OnText         func(alt int, text string)
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
	oom   uint64
	fault func(batch int) error
}

// task is one queued request.
type task struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	key    string
	prompt Prompt
	params Params
	onText func(alt int, ids []int)
	texts  func(ids []int) string
	// complete is set for completions: their state may be kept.
	complete *CompleteRequest
	// cont continues a stored decoder state instead of encoding.
	cont *typeState
	out  chan jobResult
}

type jobResult struct {
	out *Output
	err error
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

// Forget drops the type-through state kept under key, the Key its
// completions were asked with (a closed document).
func (s *Service) Forget(key string) {
	if st, ok := s.states.Remove(key); ok {
		st.Close()
	}
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
	if err := params.Validate(); err != nil {
		return nil, err
	}
	prompt, err := BuildRewrite(s.tok, tmpl, req.Instruction, req.Text, req.MaxInputTokens)
	if err != nil {
		return nil, err
	}
	texts := func(ids []int) string { return s.tok.Decode(ids) }
	return s.submit(ctx, &task{key: req.Key, prompt: prompt, params: params, texts: texts}, req.OnText)
}

// submit queues j and waits for its result.
func (s *Service) submit(ctx context.Context, j *task, onText func(int, string)) (*Output, error) {
	if onText != nil {
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
			s.m.TrimScratch(model.IdleScratchBytes)
		}
	}
}

// take removes the next batch from the queue: jobs that can share forward
// passes, in arrival order. A continuation of a stored decoder state runs
// alone.
func (s *Service) take() []*task {
	s.mu.Lock()
	defer s.mu.Unlock()
	var batch []*task
	kept := s.queue[:0]
	for _, j := range s.queue {
		switch {
		case j.ctx.Err() != nil:
			j.out <- jobResult{err: cause(j.ctx)}
		case len(batch) == 0 && j.cont != nil:
			batch = append(batch, j)
		case len(batch) < min(s.opts.MaxBatch, s.limit) && j.cont == nil && (len(batch) == 0 || batch[0].cont == nil):
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
	return batch
}

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
	dec, cached, err := s.decoderFor(batch)
	if err != nil {
		s.fail(batch, answered, err, true)
		return
	}
	reqs := make([]Request, len(batch))
	capacity := 0
	for i, j := range batch {
		reqs[i] = Request{Ctx: j.ctx, Params: j.params, OnToken: j.onText}
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
		for _, seq := range r.Alternatives {
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

// errorOf names a task's cancellation cause (superseded, closed) rather than
// a bare context.Canceled.
func errorOf(j *task, err error) error {
	if errors.Is(err, context.Canceled) {
		return cause(j.ctx)
	}
	return err
}

// decoderFor encodes the batch's prompts, from the cache where it can,
// and returns a decoder with one row per task.
func (s *Service) decoderFor(batch []*task) (*model.Decoder, []Cached, error) {
	encs := make([]*model.Encoded, len(batch))
	cached := make([]Cached, len(batch))
	defer func() {
		for _, e := range encs {
			if e != nil {
				e.Close()
			}
		}
	}()
	capacity := 0
	for i, j := range batch {
		capacity = max(capacity, 2*j.params.MaxTokens+1)
		key := idsKey(j.prompt.IDs)
		if e, ok := s.encoders.Get(key); ok {
			e.Retain()
			encs[i], cached[i] = e, CachedEncoder
			continue
		}
		e, err := s.m.Encode([][]int{j.prompt.IDs})
		if err != nil {
			return nil, nil, err
		}
		s.mu.Lock()
		s.encodes++
		s.mu.Unlock()
		e.Retain() // one reference for the cache, one for this batch
		s.encoders.Put(key, e)
		encs[i], cached[i] = e, CachedNone
	}
	enc := encs[0]
	if len(encs) > 1 {
		st, err := s.m.Stack(encs)
		if err != nil {
			return nil, nil, err
		}
		defer st.Close()
		enc = st
	}
	dec, err := s.m.NewDecoder(enc, capacity)
	if err != nil {
		return nil, nil, err
	}
	return dec, cached, nil
}

// idsKey is the cache key of a prompt.
func idsKey(ids []int) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(id))
	}
	return b.String()
}

// typeState is the last completion of a document, kept for type-through:
// the text it was made for, what it suggested, and the decoder positioned
// to continue it.
type typeState struct {
	before, after string
	ids           []int // generated so far, all fed to dec but the last
	text          string
	finish        FinishReason
	dec           *model.Decoder // nil when it cannot continue
}

// Bytes implements cache.Value.
func (t *typeState) Bytes() int64 {
	if t.dec == nil {
		return int64(len(t.text))
	}
	return t.dec.Bytes()
}

// Close implements cache.Value.
func (t *typeState) Close() {
	if t.dec != nil {
		t.dec.Close()
		t.dec = nil
	}
}

// textsFrom renders ids generated after the state's as text continuing its
// suggestion.
func (t *typeState) textsFrom(tok *tokenizer.Tokenizer) func(ids []int) string {
	prev := t.ids
	return func(ids []int) string {
		all := append(append([]int(nil), prev...), ids...)
		full := tok.Decode(all)
		return strings.TrimPrefix(full, tok.Decode(prev))
	}
}

// keepState stores a finished completion for type-through. It reports
// whether it took the decoder.
func (s *Service) keepState(j *task, seq Sequence, alt Alternative, dec *model.Decoder) bool {
	st := &typeState{before: j.complete.Before, after: j.complete.After, ids: seq.IDs, text: alt.Text, finish: seq.Finish}
	canContinue := continuable(j.params, seq) && dec.Pos() < dec.Capacity()
	if canContinue {
		st.dec = dec
	}
	s.states.Put(j.key, st)
	return canContinue
}

// continuable reports whether decoding can go on after seq: it ended at
// the token limit or by the Stop predicate, so its last id was chosen but
// not yet fed to the decoder. An EOS or stop id ends it for good (and is
// not in seq.IDs).
func continuable(p Params, seq Sequence) bool {
	if len(seq.IDs) == 0 {
		return false
	}
	switch seq.Finish {
	case FinishLength:
		return true
	case FinishStop:
		return p.Stop != nil && p.Stop(seq.IDs)
	}
	return false
}

// typeThrough looks for a stored suggestion the user has been typing. It
// returns the output at once when the rest of the suggestion is known, or
// the state to continue decoding from when the user typed all of it.
func (s *Service) typeThrough(req CompleteRequest) (*Output, *typeState, bool) {
	st, ok := s.states.Get(req.Key)
	if !ok || st.after != req.After || !strings.HasPrefix(req.Before, st.before) {
		return nil, nil, false
	}
	typed := req.Before[len(st.before):]
	if typed == "" || !strings.HasPrefix(st.text, typed) {
		return nil, nil, false
	}
	rest := st.text[len(typed):]
	if rest != "" {
		// Kept under the new cursor, so that typing on keeps matching.
		s.states.Put(req.Key, &typeState{before: req.Before, after: req.After, ids: st.ids, text: rest, finish: st.finish, dec: s.takeDecoder(req.Key, st)})
		return &Output{Alternatives: []Alternative{{Text: rest, Tokens: 0, Finish: st.finish}}, Cached: CachedTypeThrough}, nil, true
	}
	if st.dec == nil {
		return nil, nil, false
	}
	taken, _ := s.states.Remove(req.Key)
	taken.before = req.Before
	return nil, taken, true
}

// takeDecoder moves st's decoder out, so that replacing st in the cache
// does not close it.
func (s *Service) takeDecoder(key string, st *typeState) *model.Decoder {
	if old, ok := s.states.Remove(key); ok && old == st {
		d := st.dec
		st.dec = nil
		return d
	}
	return nil
}

// continueState decodes on from a stored decoder state whose suggestion
// the user has typed whole.
func (s *Service) continueState(j *task) {
	st := j.cont
	last := st.ids[len(st.ids)-1]
	left := st.dec.Capacity() - st.dec.Pos()
	p := j.params
	p.MaxTokens = min(p.MaxTokens, left)
	results := Decode(modelStepper{st.dec}, last, []Request{{Ctx: j.ctx, Params: p, OnToken: j.onText}})
	r := results[0]
	if r.Err != nil {
		st.Close()
		j.out <- jobResult{err: errorOf(j, r.Err)}
		return
	}
	out := &Output{Cached: CachedTypeThrough}
	seq := r.Alternatives[0]
	text := j.texts(seq.IDs)
	out.Alternatives = []Alternative{{Text: text, Tokens: len(seq.IDs), Finish: seq.Finish}}
	next := &typeState{before: st.before, after: st.after, ids: append(append([]int(nil), st.ids...), seq.IDs...), text: text, finish: seq.Finish}
	if continuable(j.params, seq) && st.dec.Pos() < st.dec.Capacity() && st.dec.Rows() == 1 {
		next.dec = st.dec
		next.ids = seq.IDs
		st.dec = nil
	}
	st.Close()
	s.states.Put(j.key, next)
	j.out <- jobResult{out: out}
}

// modelStepper adapts the model's decoder to Stepper and GreedyRunner.
type modelStepper struct{ d *model.Decoder }

func (m modelStepper) RunGreedy(ctx context.Context, first []int, maxSteps int, emit func([]int, []float32) bool) error {
	return m.d.RunGreedy(ctx, first, maxSteps, emit)
}

func (m modelStepper) Rows() int             { return m.d.Rows() }
func (m modelStepper) Keep(rows []int) error { return m.d.Keep(rows) }

func (m modelStepper) Step(ctx context.Context, tokens []int, k int) ([]model.Candidates, error) {
	return m.d.Step(ctx, tokens, k)
}
