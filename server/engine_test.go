package server

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// progressLog records an engine's load progress; block, if set, holds
// the load at its first report until closed.
type progressLog struct {
	block chan struct{}
	got   chan loadProgress
}

func newProgressLog(block bool) *progressLog {
	p := &progressLog{got: make(chan loadProgress, 1000)}
	if block {
		p.block = make(chan struct{})
	}
	return p
}

func (p *progressLog) report(l loadProgress) {
	if l.kind == "begin" && p.block != nil {
		<-p.block
	}
	p.got <- l
}

// end waits for the end of a load.
func (p *progressLog) end(t *testing.T) loadProgress {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case l := <-p.got:
			if l.kind == "end" {
				return l
			}
		case <-deadline:
			t.Fatal("the load did not end within 60 s")
		}
	}
}

// TestEngineStates walks the engine through its states: none (no model
// asked for), loading, ready, and none again after close; service answers
// in each as the daemon's requests rely on.
func TestEngineStates(t *testing.T) {
	e := newEngine(zaptest.NewLogger(t))
	defer e.close()
	if ms, _, _, _ := e.stats(); ms.State != "none" {
		t.Errorf("a new engine is %q, want none", ms.State)
	}
	if _, _, err := e.service(context.Background(), time.Second); err == nil || !strings.Contains(err.Error(), "no model is configured") {
		t.Errorf("service with no model: %v, want it to say none is configured", err)
	}

	p := newProgressLog(true)
	e.load(loadSpec{model: fixtureModel}, p.report)
	if ms, _, _, _ := e.stats(); ms.State != "loading" || ms.Name != fixtureModel {
		t.Errorf("during the load: state %q, model %q; want loading %s", ms.State, ms.Name, fixtureModel)
	}
	// Held at its first report, the load cannot finish: a short wait
	// times out naming the setting, a cancelled one ends with its context.
	if _, _, err := e.service(context.Background(), 10*time.Millisecond); err == nil || !strings.Contains(err.Error(), "loadTimeoutMs") {
		t.Errorf("service during the load: %v, want the load timeout named", err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := e.service(cancelled, time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled service during the load: %v, want context.Canceled", err)
	}
	close(p.block)
	svc, gen, err := e.service(context.Background(), time.Minute)
	if err != nil || svc == nil || gen != 1 {
		t.Fatalf("service after the load: %v, %v, generation %d; want the service of load 1", svc, err, gen)
	}
	if end := p.end(t); end.err != nil || end.message != "ready" {
		t.Errorf("end of the load: %+v, want ready", end)
	}
	ms, gs, caches, _ := e.stats()
	if ms.State != "ready" || ms.DType != "f32" || ms.WeightBytes <= 0 || gs.Adapter == "" || gs.ResidentBytes <= 0 {
		t.Errorf("ready: model %+v, gpu %+v", ms, gs)
	}
	for _, name := range []string{"pipelines", "encoder", "decoder"} {
		if _, ok := caches[name]; !ok {
			t.Errorf("stats lack the %s cache: %v", name, caches)
		}
	}

	e.close()
	if ms, _, _, _ := e.stats(); ms.State != "none" {
		t.Errorf("after close: %q, want none", ms.State)
	}
	if _, _, err := e.service(context.Background(), time.Second); err == nil {
		t.Error("service after close succeeded")
	}
}

// TestEngineLoadFails: a model that cannot be opened leaves the engine
// failed, with the reason in stats, in the end of the progress and in
// every service call, and a later good load recovers.
func TestEngineLoadFails(t *testing.T) {
	e := newEngine(zaptest.NewLogger(t))
	defer e.close()
	missing := filepath.Join(t.TempDir(), "no-model-here")
	p := newProgressLog(false)
	e.load(loadSpec{model: missing}, p.report)
	end := p.end(t)
	if end.err == nil || !strings.Contains(end.message, missing) {
		t.Errorf("end of a failed load: %+v, want the error naming %s", end, missing)
	}
	ms, _, _, _ := e.stats()
	if ms.State != "failed" || !strings.Contains(ms.Error, missing) {
		t.Errorf("stats after a failed load: %+v", ms)
	}
	if _, _, err := e.service(context.Background(), time.Second); err == nil || !strings.Contains(err.Error(), "failed to load") || !strings.Contains(err.Error(), missing) {
		t.Errorf("service after a failed load: %v", err)
	}

	p = newProgressLog(false)
	e.load(loadSpec{model: fixtureModel}, p.report)
	if end := p.end(t); end.err != nil {
		t.Fatalf("load after a failure: %v", end.err)
	}
	if _, gen, err := e.service(context.Background(), time.Minute); err != nil || gen != 2 {
		t.Errorf("service after recovering: generation %d, %v", gen, err)
	}
}

// TestEngineSupersede: a load started while another runs supersedes it:
// only the newer one reports its end, and its model is the one served.
func TestEngineSupersede(t *testing.T) {
	e := newEngine(zaptest.NewLogger(t))
	defer e.close()
	first := newProgressLog(true)
	e.load(loadSpec{model: fixtureModel}, first.report)
	second := newProgressLog(false)
	other := fixtures + "/t5-tiny-relu-tied"
	e.load(loadSpec{model: other}, second.report)
	close(first.block)
	if end := second.end(t); end.err != nil {
		t.Fatalf("the newer load: %v", end.err)
	}
	if _, gen, err := e.service(context.Background(), time.Minute); err != nil || gen != 2 {
		t.Fatalf("service: generation %d, %v; want 2", gen, err)
	}
	if ms, _, _, _ := e.stats(); ms.Name != other || ms.State != "ready" {
		t.Errorf("stats: %+v, want %s ready", ms, other)
	}
	// The superseded load stops at its next check without an end of its own.
	time.Sleep(500 * time.Millisecond)
	for len(first.got) > 0 {
		if l := <-first.got; l.kind == "end" {
			t.Errorf("the superseded load reported its end: %+v", l)
		}
	}
}

// TestEngineMarkLost: of the requests that meet one device loss, one
// starts the reload; a loss reported for an older load is not this one's.
func TestEngineMarkLost(t *testing.T) {
	e := newEngine(zaptest.NewLogger(t))
	e.gen = 3
	if e.markLost(2, true) {
		t.Error("a loss of generation 2 was taken as generation 3's")
	}
	if !e.markLost(3, true) || !e.devLost {
		t.Error("the first report of a loss was not taken")
	}
	if e.markLost(3, true) {
		t.Error("a second report of the same loss was taken")
	}
	if !e.markLost(3, false) {
		t.Error("a loss during the load (once=false) was not taken")
	}
	if e.simulateLoss("test") == nil || e.setFault(nil) == nil {
		t.Error("test hooks succeeded with no device and no model")
	}
}
