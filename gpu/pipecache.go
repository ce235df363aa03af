package gpu

import (
	"sync"
	"sync/atomic"
)

// pipelineCache keeps a device's compiled pipelines for its whole life,
// keyed by kernel specialisation (see kernels.Kernel.Key), so that no
// specialisation is compiled twice. A pipeline belongs to the device that
// compiled it, so the device owns its cache: nothing outside gpu can
// share one between devices or outlive the device with it.
type pipelineCache struct {
	mu    sync.Mutex
	byKey map[string]*pipelineEntry

	hits, misses atomic.Uint64
}

// pipelineEntry lets concurrent requests for one key wait for a single
// compile.
type pipelineEntry struct {
	done chan struct{}
	p    *Pipeline
	err  error
}

func newPipelineCache() *pipelineCache {
	return &pipelineCache{byKey: map[string]*pipelineEntry{}}
}

// get returns the pipeline under key, compiling it once on the first
// request. A failed compile is not stored, so a later request tries again.
func (c *pipelineCache) get(key string, compile func() (*Pipeline, error)) (*Pipeline, error) {
	c.mu.Lock()
	if e, ok := c.byKey[key]; ok {
		c.mu.Unlock()
		<-e.done
		if e.err == nil {
			c.hits.Add(1)
			return e.p, nil
		}
		return c.get(key, compile)
	}
	e := &pipelineEntry{done: make(chan struct{})}
	c.byKey[key] = e
	c.mu.Unlock()
	c.misses.Add(1)

	e.p, e.err = compile()
	if e.err != nil {
		c.mu.Lock()
		delete(c.byKey, key)
		c.mu.Unlock()
	}
	close(e.done)
	return e.p, e.err
}

// PipelineStats counts a device's compiled pipelines and the lookups of
// its pipeline cache, for the daemon's statistics and for tests that check
// a warm-up compiled everything a run needs.
type PipelineStats struct {
	// Pipelines is the number of compiled pipelines held.
	Pipelines int
	// Hits are lookups served without compiling; Misses compiled.
	Hits, Misses uint64
}

func (c *pipelineCache) stats() PipelineStats {
	c.mu.Lock()
	n := len(c.byKey)
	c.mu.Unlock()
	return PipelineStats{Pipelines: n, Hits: c.hits.Load(), Misses: c.misses.Load()}
}

// close releases every pipeline, waiting for compiles in progress. The
// cache is empty afterwards; its counts stay.
func (c *pipelineCache) close() {
	c.mu.Lock()
	entries := c.byKey
	c.byKey = map[string]*pipelineEntry{}
	c.mu.Unlock()
	// A failing compile takes c.mu to remove its entry, so wait unlocked.
	for _, e := range entries {
		<-e.done
		if e.p != nil {
			e.p.Close()
		}
	}
}

// PipelineStats reports the device's compiled pipelines and its pipeline
// cache's hits and misses. After Close it reports no pipelines and the
// counts of the device's life.
func (d *Device) PipelineStats() PipelineStats { return d.pipelines.stats() }
