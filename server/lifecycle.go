package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sourcegraph/jsonrpc2"
	"go.uber.org/zap"

	"github.com/nib-editor/nib/server/internal/textdoc"
)

// rewriteCommand is the command behind the rewrite code actions.
const rewriteCommand = "nib.rewrite"

func (s *server) initialize(req *jsonrpc2.Request) (func(context.Context) (any, error), error) {
	var p initializeParams
	if err := unmarshalParams(req, &p); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.state != stateNew {
		s.mu.Unlock()
		return nil, &jsonrpc2.Error{Code: codeInvalidRequest, Message: "initialize: the server is already initialized"}
	}
	st := s.settings
	if len(p.InitializationOptions) > 0 && string(p.InitializationOptions) != "null" {
		next, err := st.merge(p.InitializationOptions)
		if err != nil {
			s.mu.Unlock()
			return nil, invalidParams("initialize: initializationOptions: %v", err)
		}
		st = next
	}
	var encs []string
	if p.Capabilities.General != nil {
		encs = p.Capabilities.General.PositionEncodings
	}
	s.enc = textdoc.Negotiate(encs)
	s.caps = p.Capabilities
	s.settings = st
	s.state = stateInitialized
	name := ""
	if p.ClientInfo != nil {
		name = p.ClientInfo.Name
	}
	s.log.Info("initialize", zap.String("client", name), zap.String("positionEncoding", string(s.enc)))
	result := initializeResult{
		Capabilities: serverCapabilities{
			PositionEncoding:         s.enc,
			TextDocumentSync:         textDocumentSync{OpenClose: true, Change: 2},
			InlineCompletionProvider: true,
			CodeActionProvider:       codeActionOptions{CodeActionKinds: []string{"refactor.rewrite", "quickfix"}},
			ExecuteCommandProvider:   executeCommandOptions{Commands: []string{rewriteCommand, ignoreSentenceCommand, ignoreInDocumentCommand}},
		},
		ServerInfo: serverInfo{Name: "nib", Version: s.opts.version},
	}
	if s.caps.pullsDiagnostics() {
		result.Capabilities.DiagnosticProvider = &diagnosticOptions{Identifier: "nib"}
	}
	s.mu.Unlock()
	// The model starts loading now, not at initialized: requests the
	// client sends in between wait for it like any during a load, and
	// the load overlaps the rest of the client's start-up. Its progress
	// bar waits for initialized (see progressBar).
	s.eng.configure(st)
	s.startLoad(st)
	s.check.reconfigure()
	return func(context.Context) (any, error) { return result, nil }, nil
}

// initialized lets the server send requests to the client: LSP allows
// none before it.
func (s *server) initialized(context.Context, *jsonrpc2.Request) error {
	s.initOnce.Do(func() { close(s.initDone) })
	return nil
}

// waitInitialized waits for the initialized notification.
func (s *server) waitInitialized(ctx context.Context) error {
	select {
	case <-s.initDone:
		return nil
	case <-s.exited:
		return errors.New("the connection ended")
	case <-ctx.Done():
		return fmt.Errorf("no initialized notification: %w", ctx.Err())
	}
}

func (s *server) shutdown(req *jsonrpc2.Request) (func(context.Context) (any, error), error) {
	s.mu.Lock()
	s.state = stateShutdown
	// Stop what is running: nobody will wait for it.
	for id, cancel := range s.inflight {
		if id != req.ID.String() {
			cancel(nil)
		}
	}
	s.mu.Unlock()
	s.check.stopAll()
	return func(context.Context) (any, error) {
		s.eng.close()
		return nil, nil
	}, nil
}

// exit ends the connection: with status 0 after shutdown, 1 without, as
// LSP says.
func (s *server) exit(context.Context, *jsonrpc2.Request) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.exited:
		return nil
	default:
	}
	if s.state == stateShutdown {
		s.exitCode = 0
	}
	for _, cancel := range s.inflight {
		cancel(nil)
	}
	close(s.exited)
	return nil
}

// startLoad loads the model the settings name, in the background,
// reporting progress to clients that take it, and a failure to every
// client with window/showMessage.
func (s *server) startLoad(st settings) {
	spec := st.loadSpec()
	if spec.model == "" {
		s.log.Warn("no model configured: pass --model or set initializationOptions.model")
		s.showMessage(2, "nib: no model configured; set \"model\" in the settings (a folder or a hub id such as google/flan-t5-base)")
		return
	}
	_, _, caps := s.snapshot()
	progress := s.workDoneProgress(caps, "nib: loading model")
	s.eng.load(spec, func(p loadProgress) {
		progress(p)
		if p.err != nil {
			s.showMessage(1, fmt.Sprintf("nib: could not load the model %s: %v", spec.model, p.err))
		}
	})
}

// workDoneProgress returns a progress reporter for a server-initiated
// progress bar, or a no-op when the client does not support them. The
// reporter never blocks: progress is cosmetic, and a client that is slow
// to answer window/workDoneProgress/create (or never does) must not hold
// up what reports it, such as a model load. Reports wait in a progressBar
// until the client has accepted the token.
func (s *server) workDoneProgress(caps clientCapabilities, title string) func(p loadProgress) {
	if caps.Window == nil || !caps.Window.WorkDoneProgress {
		return func(loadProgress) {}
	}
	s.mu.Lock()
	s.progress++
	token := fmt.Sprintf("nib-progress-%d", s.progress)
	s.mu.Unlock()
	b := &progressBar{s: s, token: token, title: title, wake: make(chan struct{}, 1)}
	go b.run()
	return b.report
}

// requestProgress is workDoneProgress for a request that came with a
// workDoneToken of the client's: that token is used as given, with no
// window/workDoneProgress/create. Without one it is workDoneProgress.
func (s *server) requestProgress(caps clientCapabilities, token any, title string) func(p loadProgress) {
	if token == nil {
		return s.workDoneProgress(caps, title)
	}
	b := &progressBar{s: s, token: token, given: true, title: title, wake: make(chan struct{}, 1)}
	go b.run()
	return b.report
}

// progressCreateTimeout bounds the wait for the client to answer
// window/workDoneProgress/create (and, before it, for the initialized
// notification); without an answer by then the progress is not shown.
const progressCreateTimeout = 10 * time.Second

// progressBar is one work-done progress shown to the client: reports are
// queued by report, without blocking, and sent by run once the client has
// accepted the token.
type progressBar struct {
	s     *server
	token any
	given bool // the client's token: not to be created
	title string
	wake  chan struct{}

	mu      sync.Mutex
	pending []loadProgress // at most begin, the newest report, end
	dead    bool           // the client refused or never answered: drop all
}

// report queues p, keeping only the newest of consecutive reports.
func (b *progressBar) report(p loadProgress) {
	b.mu.Lock()
	if !b.dead {
		if n := len(b.pending); p.kind == "report" && n > 0 && b.pending[n-1].kind == "report" {
			b.pending[n-1] = p
		} else {
			b.pending = append(b.pending, p)
		}
	}
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// run creates the token, then sends what is queued until the end.
func (b *progressBar) run() {
	ctx, cancel := context.WithTimeout(context.Background(), progressCreateTimeout)
	defer cancel()
	err := b.s.waitInitialized(ctx)
	if err == nil && !b.given {
		var res json.RawMessage
		err = b.s.call(ctx, "window/workDoneProgress/create", workDoneProgressCreateParams{Token: b.token}, &res)
	}
	if err != nil {
		b.s.log.Info("no progress shown: the client did not accept a work-done progress token", zap.Any("token", b.token), zap.Error(err))
		b.mu.Lock()
		b.dead, b.pending = true, nil
		b.mu.Unlock()
		return
	}
	for {
		b.mu.Lock()
		todo := b.pending
		b.pending = nil
		b.mu.Unlock()
		for _, p := range todo {
			v := workDoneProgress{Kind: p.kind, Message: p.message}
			if p.kind == "begin" {
				v.Title = b.title
			}
			if p.percent >= 0 && p.kind != "end" {
				pct := p.percent
				v.Percentage = &pct
			}
			b.s.notify("$/progress", progressParams{Token: b.token, Value: v})
			if p.kind == "end" {
				return
			}
		}
		select {
		case <-b.wake:
		case <-b.s.exited:
			return
		}
	}
}
