package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sourcegraph/jsonrpc2"
	"go.uber.org/zap"

	"github.com/nib-editor/nib/cmd/lsp/internal/textdoc"
)

// rewriteCommand is the command behind the rewrite code actions.
const rewriteCommand = "nib.rewrite"

func (s *server) initialize(req *jsonrpc2.Request) (func(context.Context) (any, error), error) {
	var p initializeParams
	if err := unmarshalParams(req, &p); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateNew {
		return nil, &jsonrpc2.Error{Code: codeInvalidRequest, Message: "initialize: the server is already initialized"}
	}
	st := s.settings
	if len(p.InitializationOptions) > 0 && string(p.InitializationOptions) != "null" {
		next, err := st.merge(p.InitializationOptions)
		if err != nil {
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
			CodeActionProvider:       codeActionOptions{CodeActionKinds: []string{"refactor.rewrite"}},
			ExecuteCommandProvider:   executeCommandOptions{Commands: []string{rewriteCommand}},
		},
		ServerInfo: serverInfo{Name: "nib", Version: s.opts.version},
	}
	return func(context.Context) (any, error) { return result, nil }, nil
}

// initialized applies the settings of initializationOptions and starts
// loading the model they name.
func (s *server) initialized(context.Context, *jsonrpc2.Request) error {
	_, st, _ := s.snapshot()
	s.eng.configure(st)
	s.startLoad(st)
	return nil
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
// progress bar, or a no-op when the client does not support them.
func (s *server) workDoneProgress(caps clientCapabilities, title string) func(p loadProgress) {
	if caps.Window == nil || !caps.Window.WorkDoneProgress {
		return func(loadProgress) {}
	}
	s.mu.Lock()
	s.progress++
	token := fmt.Sprintf("nib-progress-%d", s.progress)
	s.mu.Unlock()
	created := make(chan bool, 1)
	go func() {
		var res json.RawMessage
		err := s.call(context.Background(), "window/workDoneProgress/create", workDoneProgressCreateParams{Token: token}, &res)
		if err != nil {
			s.log.Debug("work done progress refused", zap.Error(err))
		}
		created <- err == nil
	}()
	ok, waited := false, false
	return func(p loadProgress) {
		if !waited {
			ok, waited = <-created, true
		}
		if !ok {
			return
		}
		v := workDoneProgress{Kind: p.kind, Message: p.message}
		if p.kind == "begin" {
			v.Title = title
		}
		if p.percent >= 0 && p.kind != "end" {
			pct := p.percent
			v.Percentage = &pct
		}
		s.notify("$/progress", progressParams{Token: token, Value: v})
	}
}
