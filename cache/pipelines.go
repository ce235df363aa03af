package cache

import (
	"sync"
	"sync/atomic"

	"github.com/nib-editor/nib/gpu"
)

// Pipelines keeps compiled pipelines for the life of a device, keyed by
// kernel specialisation (see kernels.Kernel.Key). It implements
// gpu.PipelineCache.
type Pipelines struct {
	mu    sync.Mutex
	byKey map[string]*entry

	hits, misses atomic.Uint64
}

// entry lets concurrent requests for one key wait for a single compile.
type entry struct {
	done chan struct{}
	p    *gpu.Pipeline
	err  error
}

// NewPipelines returns an empty pipeline cache.
func NewPipelines() *Pipelines {
	return &Pipelines{byKey: map[string]*entry{}}
}

// Pipeline returns the pipeline under key, compiling it once on the first
// request. A failed compile is not stored, so a later request tries again.
func (c *Pipelines) Pipeline(key string, compile func() (*gpu.Pipeline, error)) (*gpu.Pipeline, error) {
	c.mu.Lock()
	if e, ok := c.byKey[key]; ok {
		c.mu.Unlock()
		<-e.done
		if e.err == nil {
			c.hits.Add(1)
			return e.p, nil
		}
		return c.Pipeline(key, compile)
	}
	e := &entry{done: make(chan struct{})}
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

// PipelineStats counts the cache's lookups.
type PipelineStats struct {
	// Pipelines is the number of compiled pipelines held.
	Pipelines int
	// Hits are lookups served without compiling; Misses compiled.
	Hits, Misses uint64
}

// Stats reports the number of pipelines and the hit and miss counts.
func (c *Pipelines) Stats() PipelineStats {
	c.mu.Lock()
	n := len(c.byKey)
	c.mu.Unlock()
	return PipelineStats{Pipelines: n, Hits: c.hits.Load(), Misses: c.misses.Load()}
}

// Close releases every pipeline, waiting for compiles in progress. The
// cache is empty afterwards.
func (c *Pipelines) Close() {
	c.mu.Lock()
	entries := c.byKey
	c.byKey = map[string]*entry{}
	c.mu.Unlock()
	// A failing compile takes c.mu to remove its entry, so wait unlocked.
	for _, e := range entries {
		<-e.done
		if e.p != nil {
			e.p.Close()
		}
	}
}
