package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sourcegraph/jsonrpc2"
	"go.uber.org/zap"

	"github.com/nib-editor/nib/completion"
	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/server/internal/textdoc"
)

// What nib/complete, nib/rewrite, inline completion and the rewrite command
// share: turning request fields into decoding parameters, waiting for the
// model, streaming, and mapping the service's errors.

// decodeParams turns the sampling fields of a request into decoding
// parameters over the defaults given.
func (p sampling) decodeParams(def completion.Params) (completion.Params, error) {
	out := def
	if p.Strategy != "" {
		s, err := completion.ParseStrategy(p.Strategy)
		if err != nil {
			return out, invalidParams("field \"strategy\": %q is not greedy, beam, sample or diverse", p.Strategy)
		}
		out.Strategy = s
	}
	if p.N != nil {
		if *p.N < 1 || *p.N > completion.MaxAlternatives {
			return out, invalidParams("field \"n\": %d is outside [1, %d]", *p.N, completion.MaxAlternatives)
		}
		out.N = *p.N
	}
	if p.MaxTokens != nil {
		if *p.MaxTokens < 1 || *p.MaxTokens > 1024 {
			return out, invalidParams("field \"maxTokens\": %d is outside [1, 1024]", *p.MaxTokens)
		}
		out.MaxTokens = *p.MaxTokens
	}
	if p.Temperature != nil {
		if !(*p.Temperature > 0) || *p.Temperature > 100 {
			return out, invalidParams("field \"temperature\": %g is not in (0, 100]", *p.Temperature)
		}
		out.Temperature = *p.Temperature
	}
	if p.TopK != nil {
		if *p.TopK < 1 || *p.TopK > 1000 {
			return out, invalidParams("field \"topK\": %d is outside [1, 1000]", *p.TopK)
		}
		out.TopK = *p.TopK
	}
	if p.TopP != nil {
		if !(*p.TopP > 0) || *p.TopP > 1 {
			return out, invalidParams("field \"topP\": %g is not in (0, 1]", *p.TopP)
		}
		out.TopP = *p.TopP
	}
	if p.Seed != nil {
		out.Seed = *p.Seed
	}
	return out, nil
}

// parseStrategy checks a strategy name from the settings.
func parseStrategy(name string) (completion.Strategy, error) {
	return completion.ParseStrategy(name)
}

// checkTemplates validates the prompt templates from the settings.
func checkTemplates(complete, rewrite string) error {
	if err := completion.CheckCompleteTemplate(complete); err != nil {
		return err
	}
	return completion.CheckRewriteTemplate(rewrite)
}

// loadTimeout is how long a request waits for a model that is loading.
func (st settings) loadTimeout() time.Duration {
	return time.Duration(st.LoadTimeoutMs) * time.Millisecond
}

// streamer sends the $/progress notifications of a request with a
// partial-result token: deltas as alternatives grow, or the whole text
// when one changed other than by growing (a new best beam).
type streamer struct {
	s     *server
	token any
	mu    sync.Mutex
	sent  map[int]string
}

// newStreamer returns nil for a request without a token: no streaming.
func (s *server) newStreamer(token any) *streamer {
	if token == nil {
		return nil
	}
	return &streamer{s: s, token: token, sent: map[int]string{}}
}

// onText is the service's callback: alternative alt now reads text.
func (st *streamer) onText() func(alt int, text string) {
	if st == nil {
		return nil
	}
	return func(alt int, text string) {
		st.mu.Lock()
		defer st.mu.Unlock()
		prev := st.sent[alt]
		if text == prev {
			return
		}
		st.sent[alt] = text
		v := streamDelta{Index: alt}
		if strings.HasPrefix(text, prev) {
			v.Delta = text[len(prev):]
		} else {
			t := text
			v.Reset = &t
		}
		st.s.notify("$/progress", progressParams{Token: st.token, Value: v})
	}
}

// generationError maps errors of the completion service and the GPU.
func generationError(method string, err error) *jsonrpc2.Error {
	switch {
	case errors.Is(err, gpu.ErrDeviceLost):
		return &jsonrpc2.Error{Code: codeRequestFailed, Message: fmt.Sprintf("%s failed: the GPU device was lost (%v); nib is opening a new one and reloading the model: retry when it is ready", method, err)}
	case errors.Is(err, completion.ErrOutOfMemory):
		return &jsonrpc2.Error{Code: codeRequestFailed, Message: fmt.Sprintf("%s failed: %v", method, err)}
	case errors.Is(err, completion.ErrInternal):
		return &jsonrpc2.Error{Code: codeInternalError, Message: fmt.Sprintf("%s failed: %v", method, err)}
	case errors.Is(err, completion.ErrSuperseded):
		return &jsonrpc2.Error{Code: codeRequestCancelled, Message: fmt.Sprintf("%s superseded by a newer request for the same document", method)}
	case errors.Is(err, completion.ErrInvalidParams), errors.Is(err, completion.ErrPromptTooLong):
		return &jsonrpc2.Error{Code: codeInvalidParams, Message: fmt.Sprintf("%s: %v", method, err)}
	case errors.Is(err, completion.ErrQueueFull):
		return &jsonrpc2.Error{Code: codeRequestFailed, Message: fmt.Sprintf("%s: %v", method, err)}
	}
	return &jsonrpc2.Error{Code: codeRequestFailed, Message: fmt.Sprintf("%s failed: %v", method, err)}
}

// docAt returns the document snapshot, the byte offset of pos and the
// settings, read together with the position encoding that pos is in.
func (s *server) docAt(uri string, pos Position) (textdoc.Snapshot, int, settings, error) {
	enc, st, _ := s.snapshot()
	doc, err := s.docs.Get(uri)
	if err != nil {
		return doc, 0, st, err
	}
	off, err := doc.Offset(pos, enc)
	return doc, off, st, err
}

// completeDefaults are the decoding parameters of a completion.
func completeDefaults(st settings) completion.Params {
	return completion.Params{Strategy: completion.Greedy, N: 1, MaxTokens: st.Completion.MaxTokens}
}

// completeKey is the supersession key of completions in a document: a
// newer one cancels an older one still queued or running.
func completeKey(uri string) string { return "complete " + uri }

// rewriteKey is the supersession key of rewrites in a document.
func rewriteKey(uri string) string { return "rewrite " + uri }

// generate runs do on the completion service, waiting for a model that is
// loading. A request that a reload took the service from (its queue is
// failed with completion.ErrClosed) runs again on the new one; a request
// that met a lost GPU device fails, and the first to meet it starts a
// reload on a new device. A device known to be lost before a request
// starts is replaced first, and the request runs on the new one.
func (s *server) generate(ctx context.Context, st settings, do func(*completion.Service) (*completion.Output, error)) (*completion.Output, error) {
	for attempt := 0; ; attempt++ {
		svc, gen, err := s.eng.service(ctx, st.loadTimeout())
		if err != nil {
			return nil, err
		}
		if attempt == 0 && s.eng.deviceLost() {
			// Known lost before this request ran: reload first and run on
			// the new device rather than fail.
			s.deviceLost(gen, gpu.ErrDeviceLost)
			continue
		}
		out, err := do(svc)
		switch {
		case errors.Is(err, completion.ErrClosed) && attempt == 0 && ctx.Err() == nil:
			continue
		case errors.Is(err, gpu.ErrDeviceLost):
			s.deviceLost(gen, err)
		}
		return out, err
	}
}

// deviceLost reloads the model on a new device after the device of load
// generation gen was lost, unless that is under way.
func (s *server) deviceLost(gen int, err error) {
	if !s.eng.markLost(gen, true) {
		return
	}
	s.log.Error("gpu device lost; opening a new one and reloading the model", zap.Error(err))
	s.showMessage(2, fmt.Sprintf("nib: the GPU device was lost (%v); opening a new one and reloading the model", err))
	_, st, _ := s.snapshot()
	s.startLoad(st)
}

// runComplete asks the service for a continuation at off in doc.
func (s *server) runComplete(ctx context.Context, st settings, doc textdoc.Snapshot, off int, params completion.Params, stopAtSentence bool, onText func(int, string)) (*completion.Output, error) {
	text := doc.Text()
	start := time.Now()
	out, err := s.generate(ctx, st, func(svc *completion.Service) (*completion.Output, error) {
		return svc.Complete(ctx, completion.CompleteRequest{
			Key:               completeKey(doc.URI()),
			Before:            text[:off],
			After:             text[off:],
			Template:          st.Templates.Complete,
			MaxInputTokens:    st.MaxInputTokens,
			Params:            params,
			StopAtSentenceEnd: stopAtSentence,
			OnText:            onText,
		})
	})
	s.record("complete", start, out, err)
	return out, err
}

// runRewrite asks the service for rewrites of text by instruction.
func (s *server) runRewrite(ctx context.Context, st settings, uri, text, instruction string, params completion.Params, length *completion.RewriteLength, onText func(int, string)) (*completion.Output, error) {
	start := time.Now()
	out, err := s.generate(ctx, st, func(svc *completion.Service) (*completion.Output, error) {
		return svc.Rewrite(ctx, completion.RewriteRequest{
			Key:            rewriteKey(uri),
			Instruction:    instruction,
			Text:           text,
			Template:       st.Templates.Rewrite,
			MaxInputTokens: st.MaxInputTokens,
			Params:         params,
			Length:         length,
			OnText:         onText,
		})
	})
	s.record("rewrite", start, out, err)
	return out, err
}
