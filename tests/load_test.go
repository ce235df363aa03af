//go:build !js

package tests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sourcegraph/jsonrpc2"
)

// mirror is the client's copy of one open document.
type mirror struct {
	mu      sync.Mutex // held from choosing positions to sending what uses them
	uri     string
	text    string
	version int
}

// point returns the UTF-16 position of byte offset off, which is on a
// character boundary (the text has no "\r").
func (m *mirror) point(off int) map[string]any {
	line := strings.Count(m.text[:off], "\n")
	start := strings.LastIndexByte(m.text[:off], '\n') + 1
	return pos(line, utf16Len(m.text[start:off]))
}

// boundary picks a random character boundary of the text.
func (m *mirror) boundary(rng *rand.Rand) int {
	k := rng.IntN(utf8.RuneCountInString(m.text) + 1)
	for i := range m.text {
		if k == 0 {
			return i
		}
		k--
	}
	return len(m.text)
}

// span picks a random range [a, b) of at most max bytes.
func (m *mirror) span(rng *rand.Rand, max int) (int, int) {
	a := m.boundary(rng)
	b := a
	for b < len(m.text) && b-a < max && rng.IntN(8) != 0 {
		_, size := utf8.DecodeRuneInString(m.text[b:])
		b += size
	}
	return a, b
}

// pieces are what the random edits insert: words, line breaks, a surrogate
// pair, an accent; no "\r", so that every boundary is a position.
var pieces = []string{"the ", "quick ", "brown ", "fox. ", "Jumps", " over", "\n", "\n\n", "😀", "é", "日本 ", ", ", "lazy dogs"}

// edit applies a random incremental change to the mirror and sends it;
// m.mu is held.
func (m *mirror) edit(t *testing.T, c *client, rng *rand.Rand) {
	a, b := m.span(rng, 24)
	if len(m.text) > 400 {
		a, b = m.span(rng, 200) // keep documents within the prompt budget
	}
	ins := ""
	for range rng.IntN(3) {
		ins += pieces[rng.IntN(len(pieces))]
	}
	if a == 0 && b == len(m.text) && ins == "" {
		ins = "Never empty." // the checks at the end rewrite the whole text
	}
	r := map[string]any{"start": m.point(a), "end": m.point(b)}
	m.version++
	m.text = m.text[:a] + ins + m.text[b:]
	if err := c.conn.Notify(context.Background(), "textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": m.uri, "version": m.version},
		"contentChanges": []any{map[string]any{"range": r, "text": ins}},
	}); err != nil {
		t.Errorf("didChange: %v", err)
	}
}

// outcome is how one request ended.
type outcome struct {
	method  string
	latency time.Duration
	code    int64 // 0 for a result
	message string
	burst   bool // sent in the final burst
}

// TestLoad drives nib over stdio with thousands of requests from many
// goroutines at once (completions, inline completions, rewrites, code
// actions, stats) over a dozen documents edited at random as they go, with
// cancellations and supersessions, through a queue kept small. Every
// request is answered exactly once, with a result, a cancellation or a
// clear refusal for a full queue; every document ends as the client has
// it; and the daemon's goroutines and heap come back to where they were.
// NIB_LOAD_REQUESTS sets the number of requests (default 2000).
func TestLoad(t *testing.T) {
	total := 2000
	if s := os.Getenv("NIB_LOAD_REQUESTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("NIB_LOAD_REQUESTS: %v", err)
		}
		total = n
	}
	const (
		workers   = 16
		docs      = 12
		queueSize = 4
	)
	c := startEnv(t, hooks, "--model", filepath.Join(fixtures, "t5-tiny-relu-tied"))
	c.initialize(map[string]any{
		"encoderCacheMB": 1, "decoderCacheMB": 1,
		"completion": map[string]any{"maxTokens": 2, "stopAtSentenceEnd": false},
		"rewrite":    map[string]any{"maxTokens": 2, "alternatives": 1, "strategy": "greedy"},
	})
	c.waitReady()
	rng := rand.New(rand.NewPCG(8, 8))
	mirrors := make([]*mirror, docs)
	for i := range mirrors {
		m := &mirror{uri: fmt.Sprintf("file:///load/%d.txt", i), version: 1}
		for range 6 + rng.IntN(20) {
			m.text += pieces[rng.IntN(len(pieces))]
		}
		mirrors[i] = m
		c.open(m.uri, m.text, 1)
	}

	// Alone: the latency of a completion with nothing else running, and
	// the process at rest.
	var alone []time.Duration
	for i := range 20 {
		m := mirrors[i%docs]
		start := time.Now()
		c.mustCall("nib/complete", map[string]any{"textDocument": map[string]any{"uri": m.uri}, "position": m.point(len(m.text))}, nil)
		alone = append(alone, time.Since(start))
	}
	var base processStatsJSON
	c.mustCall("$/nib/test/gc", nil, &base)

	var (
		sent     atomic.Int64
		ids      sync.Map // jsonrpc2.ID -> struct{}
		outMu    sync.Mutex
		outcomes []outcome
		maxQueue atomic.Int64
		edits    atomic.Int64
	)
	record := func(o outcome) {
		outMu.Lock()
		outcomes = append(outcomes, o)
		outMu.Unlock()
	}
	// dispatch sends a request with an id of the test's own, with m.mu
	// held by the caller when the params depend on the document.
	// A request that could not be sent has no waiter (nil).
	dispatch := func(method string, params any) (*jsonrpc2.Waiter, jsonrpc2.ID, time.Time) {
		id := jsonrpc2.ID{Str: fmt.Sprintf("load-%d", sent.Add(1)), IsString: true}
		ids.Store(id, struct{}{})
		start := time.Now()
		w, err := c.conn.DispatchCall(context.Background(), method, params, jsonrpc2.PickID(id))
		if err != nil {
			t.Errorf("%s %s could not be sent: %v", method, id, err)
			return nil, id, start
		}
		return &w, id, start
	}
	inBurst := false
	wait := func(method string, w *jsonrpc2.Waiter, start time.Time, result any) {
		if w == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		err := w.Wait(ctx, result)
		o := outcome{method: method, latency: time.Since(start), burst: inBurst}
		if err != nil {
			o.code, o.message = rpcCode(err), err.Error()
			if o.code == 0 {
				t.Errorf("%s: no answer: %v", method, err)
			}
		}
		record(o)
	}

	begin := time.Now()
	var wg sync.WaitGroup
	for wk := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(wk), 99))
			for sent.Load() < int64(total) {
				m := mirrors[rng.IntN(docs)]
				doc := map[string]any{"uri": m.uri}
				m.mu.Lock()
				switch r := rng.IntN(100); {
				case r < 30:
					m.edit(t, c, rng)
					m.mu.Unlock()
					edits.Add(1)
				case r < 33:
					w, id, start := dispatch("nib/complete", map[string]any{"textDocument": doc, "position": m.point(m.boundary(rng))})
					m.mu.Unlock()
					if rng.IntN(4) == 0 { // cancelled at once
						c.conn.Notify(context.Background(), "$/cancelRequest", map[string]any{"id": id.Str})
					}
					wait("nib/complete", w, start, nil)
				case r < 35:
					w, _, start := dispatch("textDocument/inlineCompletion", map[string]any{"textDocument": doc, "position": m.point(m.boundary(rng)), "context": map[string]any{"triggerKind": 2}})
					m.mu.Unlock()
					wait("textDocument/inlineCompletion", w, start, nil)
				case r < 36: // a completion superseded by the next
					p := map[string]any{"textDocument": doc, "position": m.point(m.boundary(rng))}
					w1, _, s1 := dispatch("nib/complete", p)
					w2, _, s2 := dispatch("nib/complete", p)
					m.mu.Unlock()
					wait("nib/complete", w1, s1, nil)
					wait("nib/complete", w2, s2, nil)
				case r < 37:
					a, b := m.span(rng, 40)
					if a == b {
						m.mu.Unlock()
						continue
					}
					w, _, start := dispatch("nib/rewrite", map[string]any{"textDocument": doc, "range": map[string]any{"start": m.point(a), "end": m.point(b)}, "instruction": "Fix the grammar"})
					m.mu.Unlock()
					wait("nib/rewrite", w, start, nil)
				case r < 93:
					a, b := m.span(rng, 40)
					w, _, start := dispatch("textDocument/codeAction", map[string]any{"textDocument": doc, "range": map[string]any{"start": m.point(a), "end": m.point(b)}, "context": map[string]any{"diagnostics": []any{}}})
					m.mu.Unlock()
					wait("textDocument/codeAction", w, start, nil)
				default:
					m.mu.Unlock()
					var st struct {
						Requests struct {
							Queued int `json:"queued"`
						} `json:"requests"`
					}
					w, _, start := dispatch("nib/stats", nil)
					wait("nib/stats", w, start, &st)
					for q := maxQueue.Load(); int64(st.Requests.Queued) > q && !maxQueue.CompareAndSwap(q, int64(st.Requests.Queued)); q = maxQueue.Load() {
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)

	// With a queue of 4, a burst of a rewrite and a completion per
	// document (none superseding another), more than a batch and the queue
	// hold: some are refused, clearly, at once.
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"queueSize": queueSize}})
	type pending struct {
		method string
		w      *jsonrpc2.Waiter
		start  time.Time
	}
	var burst []pending
	inBurst = true
	for i, m := range mirrors {
		m.mu.Lock()
		w, _, start := dispatch("nib/rewrite", map[string]any{"textDocument": map[string]any{"uri": m.uri}, "range": map[string]any{"start": pos(0, 0), "end": m.point(len(m.text))}, "instruction": fmt.Sprintf("Burst %d", i)})
		burst = append(burst, pending{"nib/rewrite", w, start})
		w, _, start = dispatch("nib/complete", map[string]any{"textDocument": map[string]any{"uri": m.uri}, "position": m.point(len(m.text))})
		burst = append(burst, pending{"nib/complete", w, start})
		m.mu.Unlock()
	}
	for _, p := range burst {
		wait(p.method, p.w, p.start, nil)
	}

	// Every request answered exactly once, each with a result, a
	// cancellation or a refusal for a full queue.
	count := map[string]int{}
	var model, cheap []time.Duration
	burstRefused := 0
	for _, o := range outcomes {
		switch {
		case o.code == 0:
			count["ok"]++
			switch {
			case o.burst:
			case o.method == "textDocument/codeAction":
				cheap = append(cheap, o.latency)
			case o.method != "nib/stats":
				model = append(model, o.latency)
				count["generated"]++
			}
		case o.code == -32800:
			count["cancelled"]++
		case o.code == -32803 && strings.Contains(o.message, "the request queue is full (4 requests waiting)"):
			count["refused"]++
			if o.burst {
				burstRefused++
			}
		default:
			count["unexpected"]++
			t.Errorf("%s: unexpected answer %d %q", o.method, o.code, o.message)
		}
	}
	c.mu.Lock()
	n := 0
	ids.Range(func(k, _ any) bool {
		n++
		if a := c.answers[k.(jsonrpc2.ID)]; a != 1 {
			t.Errorf("request %v answered %d times", k, a)
		}
		return true
	})
	c.mu.Unlock()
	if n != len(outcomes) || int64(n) != sent.Load() {
		t.Errorf("%d requests sent, %d ids, %d outcomes", sent.Load(), n, len(outcomes))
	}
	if count["generated"] == 0 || count["cancelled"] == 0 || burstRefused == 0 {
		t.Errorf("outcomes %v (%d refused in the burst): want generations, cancellations and refusals", count, burstRefused)
	}
	if q := maxQueue.Load(); q > 16 {
		t.Errorf("nib/stats saw %d requests queued, over the default queue size of 16", q)
	}

	// Every document is the client's copy.
	for _, m := range mirrors {
		c.sameDocument(m.uri, m.text)
	}

	// Back at rest: goroutines as before, the heap within the caches'
	// reach of where it was.
	var end processStatsJSON
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mustCall("$/nib/test/gc", nil, &end)
		if end.Goroutines <= base.Goroutines || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling a condition
	}
	if end.Goroutines > base.Goroutines {
		t.Errorf("%d goroutines after the load, %d before", end.Goroutines, base.Goroutines)
	}
	if end.HeapBytes > base.HeapBytes+16<<20 {
		t.Errorf("Go heap %d MiB after the load and a GC, %d MiB before", end.HeapBytes>>20, base.HeapBytes>>20)
	}

	pct := func(ds []time.Duration, p float64) time.Duration {
		if len(ds) == 0 {
			return 0
		}
		slices.Sort(ds)
		return ds[min(len(ds)-1, int(p*float64(len(ds))))]
	}
	aloneP50 := pct(alone, 0.5)
	t.Logf("%d requests (%d workers, %d documents, %d edits, then a burst of %d) in %v: %.0f requests/s, %.0f generations/s; outcomes %v",
		sent.Load(), workers, docs, edits.Load(), len(burst), elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), float64(len(model))/elapsed.Seconds(), count)
	t.Logf("model requests: alone p50 %v; under load p50 %v, p99 %v (added p50 %v, p99 %v); code actions under load p50 %v, p99 %v",
		aloneP50.Round(time.Microsecond), pct(model, 0.5).Round(time.Microsecond), pct(model, 0.99).Round(time.Microsecond),
		(pct(model, 0.5) - aloneP50).Round(time.Microsecond), (pct(model, 0.99) - aloneP50).Round(time.Microsecond),
		pct(cheap, 0.5).Round(time.Microsecond), pct(cheap, 0.99).Round(time.Microsecond))
	t.Logf("process: goroutines %d -> %d, Go heap after GC %.1f -> %.1f MiB, peak RSS %.0f MiB",
		base.Goroutines, end.Goroutines, float64(base.HeapBytes)/(1<<20), float64(end.HeapBytes)/(1<<20), float64(end.MaxRSSBytes)/(1<<20))
	c.shutdown()
}

type processStatsJSON struct {
	Goroutines  int   `json:"goroutines"`
	HeapBytes   int64 `json:"heapBytes"`
	MaxRSSBytes int64 `json:"maxRSSBytes"`
}
