package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/nib-editor/nib/completion"
)

// recentSize is how many finished generations nib/stats reports.
const recentSize = 32

// requestLog counts generation requests and keeps the most recent ones.
type requestLog struct {
	mu                        sync.Mutex
	served, cancelled, failed uint64
	recent                    []recentRequest // ring, oldest first once full
	next                      int
}

type recentRequest struct {
	Method          string  `json:"method"`
	Tokens          int     `json:"tokens"`
	Ms              float64 `json:"ms"`
	TokensPerSecond float64 `json:"tokensPerSecond"`
	Cached          string  `json:"cached"`
}

// record notes one finished generation.
func (s *server) record(kind string, start time.Time, out *completion.Output, err error) {
	l := &s.requests
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, completion.ErrSuperseded):
		l.cancelled++
		return
	case err != nil:
		l.failed++
		return
	}
	l.served++
	r := recentRequest{Method: kind, Ms: float64(time.Since(start).Microseconds()) / 1000, Cached: string(out.Cached)}
	for _, a := range out.Alternatives {
		r.Tokens += a.Tokens
	}
	if r.Ms > 0 {
		r.TokensPerSecond = float64(r.Tokens) / (r.Ms / 1000)
	}
	if len(l.recent) < recentSize {
		l.recent = append(l.recent, r)
		return
	}
	l.recent[l.next] = r
	l.next = (l.next + 1) % recentSize
}

type statsResult struct {
	Model    modelStats            `json:"model"`
	GPU      gpuStats              `json:"gpu"`
	Caches   map[string]cacheStats `json:"caches"`
	Requests requestCounts         `json:"requests"`
	Recent   []recentRequest       `json:"recent"`
}

type requestCounts struct {
	Served    uint64 `json:"served"`
	Cancelled uint64 `json:"cancelled"`
	Failed    uint64 `json:"failed"`
	Queued    int    `json:"queued"`
}

// stats answers nib/stats.
func (s *server) stats(*jsonrpc2.Request) (func(context.Context) (any, error), error) {
	return func(context.Context) (any, error) {
		res := statsResult{Caches: map[string]cacheStats{}}
		var queued int
		res.Model, res.GPU, res.Caches, queued = s.eng.stats()
		l := &s.requests
		l.mu.Lock()
		res.Requests = requestCounts{Served: l.served, Cancelled: l.cancelled, Failed: l.failed, Queued: queued}
		res.Recent = append(l.recent[l.next:len(l.recent):len(l.recent)], l.recent[:l.next]...)
		l.mu.Unlock()
		return res, nil
	}, nil
}
