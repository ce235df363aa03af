package server

import (
	"context"
	"errors"
	"runtime"
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
	Process  processStats          `json:"process"`
	Check    checkStats            `json:"check"`
}

type requestCounts struct {
	Served    uint64 `json:"served"`
	Cancelled uint64 `json:"cancelled"`
	Failed    uint64 `json:"failed"`
	Queued    int    `json:"queued"`
	// InFlight counts the requests of any method received and not yet
	// answered, this nib/stats included.
	InFlight int `json:"inFlight"`
	// BatchLimit is the most requests decoded together now; OutOfMemory
	// counts the batches that failed for want of GPU memory.
	BatchLimit  int    `json:"batchLimit"`
	OutOfMemory uint64 `json:"outOfMemory"`
}

// processStats describe the daemon process, for leak checks.
type processStats struct {
	Goroutines int `json:"goroutines"`
	// HeapBytes is the Go heap in use (live and not yet collected
	// objects); MaxRSSBytes the peak resident memory of the process (0
	// where the system does not say).
	HeapBytes   uint64 `json:"heapBytes"`
	MaxRSSBytes int64  `json:"maxRSSBytes"`
}

func readProcessStats() processStats {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return processStats{Goroutines: runtime.NumGoroutine(), HeapBytes: ms.HeapAlloc, MaxRSSBytes: maxRSS()}
}

// stats answers nib/stats.
func (s *server) stats(*jsonrpc2.Request) (func(context.Context) (any, error), error) {
	return func(context.Context) (any, error) {
		res := statsResult{Caches: map[string]cacheStats{}}
		var svc completion.ServiceStats
		res.Model, res.GPU, res.Caches, svc = s.eng.stats()
		s.mu.Lock()
		inflight := len(s.inflight)
		s.mu.Unlock()
		res.Process = readProcessStats()
		res.Check = s.check.snapshotStats()
		l := &s.requests
		l.mu.Lock()
		res.Requests = requestCounts{Served: l.served, Cancelled: l.cancelled, Failed: l.failed, Queued: svc.Queued,
			InFlight: inflight, BatchLimit: svc.BatchLimit, OutOfMemory: svc.OutOfMemory}
		// A fresh slice: an array even before the first generation (never
		// null), and no alias of the ring, which goes on changing.
		res.Recent = make([]recentRequest, 0, len(l.recent))
		res.Recent = append(append(res.Recent, l.recent[l.next:]...), l.recent[:l.next]...)
		l.mu.Unlock()
		return res, nil
	}, nil
}
