package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/nib-editor/nib/cache"
	"github.com/nib-editor/nib/completion"
	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/internal/load"
	"github.com/nib-editor/nib/model"
	"github.com/nib-editor/nib/model/hub"
	"github.com/nib-editor/nib/model/tokenizer"
)

// engine owns the GPU device, the resident model and the completion
// service in front of it, and their loading: one model at a time, loaded
// in the background, replaced when the settings name another.
type engine struct {
	log *zap.Logger

	// mu guards everything below.
	mu        sync.Mutex
	state     string        // "none", "loading", "ready", "failed"
	err       error         // why the last load failed
	spec      loadSpec      // what is loaded or loading
	ready     chan struct{} // closed when the current load ends
	gen       int           // counts loads; a newer load supersedes
	cfg       settings
	dev       *gpu.Device
	devAdapt  string // the adapter choice dev was opened with
	devLost   bool   // dev was lost: the next load opens a new one
	lostGen   int    // the last generation whose device loss was handled
	m         *model.Model
	tok       *tokenizer.Tokenizer
	svc       *completion.Service
	modelName string
	dtype     string
}

func newEngine(log *zap.Logger) *engine {
	ready := make(chan struct{})
	close(ready)
	return &engine{log: log, state: "none", ready: ready, cfg: defaultSettings()}
}

// loadProgress is one step of a model load, for a progress bar.
type loadProgress struct {
	kind    string // "begin", "report", "end"
	message string
	percent int   // -1 for none
	err     error // at the end of a load that failed
}

// load starts loading spec in the background, replacing the current
// model when it is ready. Requests that arrive meanwhile wait (see
// service).
func (e *engine) load(spec loadSpec, report func(loadProgress)) {
	e.mu.Lock()
	e.gen++
	gen := e.gen
	e.state, e.err, e.spec = "loading", nil, spec
	ready := make(chan struct{})
	e.ready = ready
	e.mu.Unlock()

	go func() {
		defer close(ready)
		report(loadProgress{kind: "begin", message: spec.model, percent: 0})
		err := e.loadNow(gen, spec, report)
		if errors.Is(err, gpu.ErrDeviceLost) && e.markLost(gen, false) {
			// Lost while uploading: once more on a new device.
			e.log.Warn("gpu device lost during the load; reopening it", zap.Error(err))
			err = e.loadNow(gen, spec, report)
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if gen != e.gen {
			return // superseded: the newer load reports
		}
		if err != nil {
			e.state, e.err = "failed", err
			e.log.Error("model load failed", zap.String("model", spec.model), zap.Error(err))
			report(loadProgress{kind: "end", message: "failed: " + err.Error(), percent: -1, err: err})
			return
		}
		e.state = "ready"
		report(loadProgress{kind: "end", message: "ready", percent: -1})
	}()
}

// markLost records that the device of generation gen was lost, so that the
// next load opens a new one. It reports false when a newer load has
// started since (that one handles the loss) or, with once, when the loss
// of gen was reported already: of the requests that meet one loss, one
// starts the reload.
func (e *engine) markLost(gen int, once bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if gen != e.gen || once && e.lostGen == gen {
		return false
	}
	if once {
		e.lostGen = gen
	}
	e.devLost = true
	return true
}

// deviceLost reports whether the open device has stopped working.
func (e *engine) deviceLost() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dev != nil && e.dev.Lost()
}

// simulateLoss marks the device lost, as the driver would: a test hook.
func (e *engine) simulateLoss(reason string) error {
	e.mu.Lock()
	dev := e.dev
	e.mu.Unlock()
	if dev == nil {
		return errors.New("no GPU device is open")
	}
	dev.SimulateLoss(reason)
	return nil
}

// setFault installs a fault injector in the completion service: a test
// hook.
func (e *engine) setFault(f func(batch int) error) error {
	e.mu.Lock()
	svc := e.svc
	e.mu.Unlock()
	if svc == nil {
		return errors.New("no model is loaded")
	}
	svc.SetFault(f)
	return nil
}

// loadNow does the loading work of generation gen. A panic is a failed
// load, not a crash.
func (e *engine) loadNow(gen int, spec loadSpec, report func(loadProgress)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			e.log.Error("model load panicked", zap.Any("panic", r), zap.Stack("stack"))
			err = fmt.Errorf("internal error while loading %s: %v", spec.model, r)
		}
	}()
	start := time.Now()
	dir, err := hub.Resolve(spec.model)
	if err != nil {
		return err
	}
	ck, tok, err := load.OpenFolder(dir)
	if err != nil {
		return err
	}
	defer ck.Close()

	// Release the old model first: two resident models may not fit.
	e.mu.Lock()
	if gen != e.gen {
		e.mu.Unlock()
		return errors.New("superseded")
	}
	old, oldSvc := e.m, e.svc
	e.m, e.svc, e.tok = nil, nil, nil
	var oldDev *gpu.Device
	lost := e.devLost
	if e.dev != nil && (e.devAdapt != spec.adapter || lost) {
		oldDev, e.dev = e.dev, nil
	}
	e.devLost = false
	dev := e.dev
	e.mu.Unlock()
	if oldSvc != nil {
		oldSvc.Close()
	}
	if old != nil {
		old.Close()
	}
	if oldDev != nil {
		// A lost device is closed too: its readbacks map through the
		// native shim, whose callbacks outlive nothing they read.
		oldDev.Close()
	}
	if old != nil || oldDev != nil {
		// What they held in the C heap (all of it on a software
		// adapter) would mostly stay resident, reload after reload.
		gpu.TrimHeap()
	}
	if dev == nil {
		dev, err = gpu.Open(gpu.Options{Adapter: spec.adapter, Logger: e.log})
		if err != nil {
			return err
		}
		e.mu.Lock()
		e.dev, e.devAdapt = dev, spec.adapter
		e.mu.Unlock()
	}
	f16 := spec.f16
	m, err := load.Resident(dev, ck, model.Options{F16: f16, Int8: spec.int8}, func(msg string, pct int) {
		report(loadProgress{kind: "report", message: msg, percent: pct})
	})
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if gen != e.gen {
		m.Close()
		return errors.New("superseded")
	}
	e.m, e.tok = m, tok
	e.svc = completion.NewService(m, tok, e.serviceOptions(e.cfg))
	e.modelName = spec.model
	e.dtype = load.WeightsName(f16, spec.int8)
	e.log.Info("model ready", zap.String("model", spec.model), zap.String("dir", dir),
		zap.String("adapter", dev.Info().String()), zap.String("weights", e.dtype),
		zap.Int64("weightBytes", m.WeightBytes()), zap.Duration("took", time.Since(start)))
	return nil
}

func (e *engine) serviceOptions(st settings) completion.ServiceOptions {
	return completion.ServiceOptions{
		QueueSize:         st.QueueSize,
		EncoderCacheBytes: int64(st.EncoderCacheMB) << 20,
		DecoderCacheBytes: int64(st.DecoderCacheMB) << 20,
		Log:               e.log,
	}
}

// configure applies settings that need no reload.
func (e *engine) configure(st settings) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cfg = st
	if e.svc != nil {
		e.svc.Configure(e.serviceOptions(st))
	}
}

// service returns the completion service and the generation of the load
// that made it, waiting for a load in progress up to timeout; it fails at
// once when no model is loaded or the load failed.
func (e *engine) service(ctx context.Context, timeout time.Duration) (*completion.Service, int, error) {
	e.mu.Lock()
	ready, state := e.ready, e.state
	e.mu.Unlock()
	if state == "loading" {
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-t.C:
			return nil, 0, requestFailed("the model is still loading after %s (setting loadTimeoutMs)", timeout)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch e.state {
	case "ready":
		return e.svc, e.gen, nil
	case "failed":
		return nil, 0, requestFailed("the model failed to load: %v", e.err)
	case "loading":
		return nil, 0, requestFailed("the model is loading")
	}
	return nil, 0, requestFailed("no model is configured: set \"model\" in the settings or start nib with --model")
}

// forget drops what is kept for a closed document.
func (e *engine) forget(uri string) {
	e.mu.Lock()
	svc := e.svc
	e.mu.Unlock()
	if svc != nil {
		svc.Forget(completeKey(uri))
	}
}

// close releases the model and the device.
func (e *engine) close() {
	e.mu.Lock()
	e.gen++
	svc, m, dev := e.svc, e.m, e.dev
	e.svc, e.m, e.dev, e.tok = nil, nil, nil, nil
	e.state = "none"
	e.mu.Unlock()
	if svc != nil {
		svc.Close()
	}
	if m != nil {
		m.Close()
	}
	if dev != nil {
		dev.Close()
	}
}

// stats reports the model, the GPU memory and the caches for nib/stats.
func (e *engine) stats() (modelStats, gpuStats, map[string]cacheStats, completion.ServiceStats) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ms := modelStats{Name: e.spec.model, State: e.state, DType: e.dtype}
	if e.err != nil {
		ms.Error = e.err.Error()
	}
	if e.m != nil {
		ms.WeightBytes = e.m.WeightBytes()
	}
	var gs gpuStats
	caches := map[string]cacheStats{}
	if e.dev != nil {
		gs.Adapter = e.dev.Info().String()
		gs.ResidentBytes = int64(e.dev.PoolStats().Bytes)
		p := e.dev.PipelineStats()
		caches["pipelines"] = cacheStats{Hits: p.Hits, Misses: p.Misses, Entries: p.Pipelines}
	}
	var svc completion.ServiceStats
	if e.svc != nil {
		svc = e.svc.Stats()
		caches["encoder"] = lruStats(svc.Encoder)
		caches["decoder"] = lruStats(svc.Decoder)
	}
	return ms, gs, caches, svc
}

func lruStats(s cache.LRUStats) cacheStats {
	return cacheStats{Hits: s.Hits, Misses: s.Misses, Entries: s.Entries, Bytes: s.Bytes, BudgetBytes: s.Budget}
}

type modelStats struct {
	Name        string `json:"name"`
	State       string `json:"state"`
	Error       string `json:"error,omitempty"`
	WeightBytes int64  `json:"weightBytes"`
	DType       string `json:"dtype,omitempty"`
}

type gpuStats struct {
	Adapter       string `json:"adapter"`
	ResidentBytes int64  `json:"residentBytes"`
}

type cacheStats struct {
	Hits        uint64 `json:"hits"`
	Misses      uint64 `json:"misses"`
	Entries     int    `json:"entries"`
	Bytes       int64  `json:"bytes"`
	BudgetBytes int64  `json:"budgetBytes"`
}
