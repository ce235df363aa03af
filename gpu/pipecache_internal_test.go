package gpu

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// The compile functions here return nil pipelines: the cache only stores
// and counts them, and compiling real ones is tested through Device.

func TestPipelineCacheCompilesOnce(t *testing.T) {
	c := newPipelineCache()
	var compiles atomic.Int32
	compile := func() (*Pipeline, error) {
		compiles.Add(1)
		return nil, nil
	}
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.get("matvec/M=1", compile); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := compiles.Load(); n != 1 {
		t.Fatalf("50 concurrent requests compiled %d times, want 1", n)
	}
	if _, err := c.get("matvec/M=2", compile); err != nil {
		t.Fatal(err)
	}
	s := c.stats()
	if s.Pipelines != 2 || s.Misses != 2 || s.Hits != 49 {
		t.Fatalf("stats %+v, want 2 pipelines, 2 misses, 49 hits", s)
	}
}

func TestPipelineCacheRetriesFailedCompile(t *testing.T) {
	c := newPipelineCache()
	fail := errors.New("bad shader")
	if _, err := c.get("k", func() (*Pipeline, error) { return nil, fail }); !errors.Is(err, fail) {
		t.Fatalf("error %v, want %v", err, fail)
	}
	called := false
	if _, err := c.get("k", func() (*Pipeline, error) { called = true; return nil, nil }); err != nil || !called {
		t.Fatalf("retry after a failed compile: called %v, error %v", called, err)
	}
	if s := c.stats(); s.Pipelines != 1 || s.Misses != 2 {
		t.Fatalf("stats %+v, want 1 pipeline after 2 misses", s)
	}
	c.close()
	if s := c.stats(); s.Pipelines != 0 {
		t.Fatalf("%d pipelines left after Close", s.Pipelines)
	}
}
