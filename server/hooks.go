package server

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/nib-editor/nib/completion"
)

// Fault-injection hooks for the end-to-end tests (tests/), served only
// when the daemon runs with NIB_TEST_HOOKS=1; otherwise their methods are
// unknown (-32601) like any other. They reach what a client cannot: the
// GPU device, the completion service's batches, a handler's panic.
//
//	$/nib/test/loseDevice  request: the GPU device is marked lost, as the
//	                       driver would; result {"lost": true}
//	$/nib/test/fault       request {"kind": "outOfMemory"|"panic", "count": n}:
//	                       the next n batches of the completion service fail
//	                       as if the GPU ran out of memory, or panic
//	$/nib/test/panic       request {"in": "prepare"|"run"}, or notification:
//	                       the handler panics
//	$/nib/test/gc          request: a garbage collection that returns the
//	                       freed heap to the system (so that resident
//	                       memory shows native memory), then the process
//	                       stats of nib/stats (for leak checks)
const testHooksEnv = "NIB_TEST_HOOKS"

var (
	testRequests      map[string]requestHandler
	testNotifications map[string]notificationHandler
)

func init() {
	testRequests = map[string]requestHandler{
		"$/nib/test/loseDevice": (*server).hookLoseDevice,
		"$/nib/test/fault":      (*server).hookFault,
		"$/nib/test/panic":      (*server).hookPanic,
		"$/nib/test/gc": func(*server, *jsonrpc2.Request) (func(context.Context) (any, error), error) {
			return func(context.Context) (any, error) {
				debug.FreeOSMemory()
				return readProcessStats(), nil
			}, nil
		},
	}
	testNotifications = map[string]notificationHandler{
		"$/nib/test/panic": func(*server, context.Context, *jsonrpc2.Request) error {
			panic("test hook: notification handler panics")
		},
	}
}

func (s *server) hookLoseDevice(*jsonrpc2.Request) (func(context.Context) (any, error), error) {
	if err := s.eng.simulateLoss("test hook $/nib/test/loseDevice"); err != nil {
		return nil, requestFailed("$/nib/test/loseDevice: %v", err)
	}
	return func(context.Context) (any, error) { return map[string]bool{"lost": true}, nil }, nil
}

func (s *server) hookFault(req *jsonrpc2.Request) (func(context.Context) (any, error), error) {
	var p struct {
		Kind  string `json:"kind"`
		Count int    `json:"count"`
	}
	if err := unmarshalParams(req, &p); err != nil {
		return nil, err
	}
	if p.Count < 1 {
		return nil, invalidParams("$/nib/test/fault: field \"count\": %d is not positive", p.Count)
	}
	var mu sync.Mutex
	left := p.Count
	// take reports whether one more batch is to fail, and counts it.
	take := func() bool {
		mu.Lock()
		defer mu.Unlock()
		if left == 0 {
			return false
		}
		left--
		return true
	}
	var fault func(batch int) error
	switch p.Kind {
	case "outOfMemory":
		fault = func(batch int) error {
			if !take() {
				return nil
			}
			return fmt.Errorf("%w: injected by $/nib/test/fault for a batch of %d", completion.ErrOutOfMemory, batch)
		}
	case "panic":
		fault = func(batch int) error {
			if !take() {
				return nil
			}
			panic(fmt.Sprintf("injected by $/nib/test/fault for a batch of %d", batch))
		}
	default:
		return nil, invalidParams("$/nib/test/fault: field \"kind\": %q is not outOfMemory or panic", p.Kind)
	}
	if err := s.eng.setFault(fault); err != nil {
		return nil, requestFailed("$/nib/test/fault: %v", err)
	}
	return func(context.Context) (any, error) { return map[string]bool{"installed": true}, nil }, nil
}

func (s *server) hookPanic(req *jsonrpc2.Request) (func(context.Context) (any, error), error) {
	var p struct {
		In string `json:"in"`
	}
	if err := unmarshalParams(req, &p); err != nil {
		return nil, err
	}
	if p.In == "prepare" {
		panic("test hook: request handler panics while reading its params")
	}
	return func(context.Context) (any, error) {
		panic("test hook: request handler panics while running")
	}, nil
}
