package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"sync"
	"time"

	"github.com/sourcegraph/jsonrpc2"
	"go.uber.org/zap"

	"github.com/nib-editor/nib/completion"
	"github.com/nib-editor/nib/server/internal/textdoc"
)

// serverState is where a connection is in the LSP lifecycle.
type serverState int

const (
	stateNew         serverState = iota // before initialize
	stateInitialized                    // initialize answered
	stateShutdown                       // shutdown answered; only exit is left
)

func (s serverState) String() string {
	switch s {
	case stateNew:
		return "new"
	case stateInitialized:
		return "initialized"
	case stateShutdown:
		return "shut down"
	}
	return fmt.Sprintf("serverState(%d)", int(s))
}

// server is one LSP connection: the daemon serves exactly one client.
//
// jsonrpc2 calls Handle from its read loop, one message at a time, in
// order. Notifications (document changes above all) are handled there, so
// they apply in the order sent. Requests are parsed there too and take
// their snapshot of the documents, then run on a goroutine of their own,
// so that a long generation never holds up the messages behind it, such as
// the $/cancelRequest that stops it.
type server struct {
	log  *zap.Logger
	opts serverOptions
	docs *textdoc.Store
	eng  *engine

	// mu guards the fields below.
	mu       sync.Mutex
	conn     *jsonrpc2.Conn
	state    serverState
	enc      textdoc.Encoding
	caps     clientCapabilities
	settings settings
	inflight map[string]context.CancelCauseFunc // by request id
	// newest holds, by supersession key, the id of the newest request
	// in flight under it (see supersede).
	newest   map[string]string
	exitCode int           // set by exit
	exited   chan struct{} // closed by exit
	progress int           // last work-done token number

	// initDone is closed by the initialized notification.
	initDone chan struct{}
	initOnce sync.Once

	requests requestLog
	check    *checker

	// wg counts request goroutines, so that a test (and exit) can wait
	// for every reply.
	wg sync.WaitGroup
}

// serverOptions are the daemon's command-line settings.
type serverOptions struct {
	// model and adapter are the defaults that initializationOptions may
	// override.
	model, adapter string
	// maxMessageBytes bounds one incoming message.
	maxMessageBytes int64
	// version is reported in serverInfo.
	version string
	// testHooks serves the fault-injection methods of hooks.go.
	testHooks bool
	// applyEditTimeout bounds the wait for the client's answer to
	// workspace/applyEdit; 0 means defaultApplyEditTimeout.
	applyEditTimeout time.Duration
	// checkPublishEvery is how long the checker gathers sentence results
	// before it publishes a document's diagnostics; 0 means
	// defaultCheckPublishEvery.
	checkPublishEvery time.Duration
}

// defaultApplyEditTimeout is how long nib.rewrite waits for the client to
// answer workspace/applyEdit. Editors answer at once; one that shows a
// confirmation first gets a minute.
const defaultApplyEditTimeout = time.Minute

func newServer(log *zap.Logger, opts serverOptions, eng *engine) *server {
	st := defaultSettings()
	st.Model, st.Adapter = opts.model, opts.adapter
	if opts.applyEditTimeout <= 0 {
		opts.applyEditTimeout = defaultApplyEditTimeout
	}
	if opts.checkPublishEvery <= 0 {
		opts.checkPublishEvery = defaultCheckPublishEvery
	}
	s := &server{
		log:      log,
		opts:     opts,
		docs:     textdoc.NewStore(),
		eng:      eng,
		enc:      textdoc.UTF16,
		settings: st,
		inflight: map[string]context.CancelCauseFunc{},
		newest:   map[string]string{},
		exitCode: 1,
		exited:   make(chan struct{}),
		initDone: make(chan struct{}),
	}
	s.check = newChecker(s)
	return s
}

// requestHandler parses a request's params and takes what it needs from
// the server's state, on the read loop; the run function it returns does
// the work on a goroutine of its own, with a context that
// $/cancelRequest cancels. A handler that has nothing slow to do may do
// everything up front and return a run that only hands back its result.
type requestHandler func(s *server, req *jsonrpc2.Request) (run func(ctx context.Context) (any, error), err error)

// notificationHandler handles a notification on the read loop.
type notificationHandler func(s *server, ctx context.Context, req *jsonrpc2.Request) error

var (
	requests      map[string]requestHandler
	notifications map[string]notificationHandler
)

// The tables are filled in init because handlers refer to the server,
// whose Handle refers to the tables.
func init() {
	requests = map[string]requestHandler{
		"initialize":                    (*server).initialize,
		"shutdown":                      (*server).shutdown,
		"textDocument/inlineCompletion": (*server).inlineCompletion,
		"textDocument/codeAction":       (*server).codeAction,
		"textDocument/diagnostic":       (*server).documentDiagnostic,
		"workspace/executeCommand":      (*server).executeCommand,
		"nib/complete":                  (*server).complete,
		"nib/rewrite":                   (*server).rewrite,
		"nib/stats":                     (*server).stats,
	}
	notifications = map[string]notificationHandler{
		"initialized":                         (*server).initialized,
		"exit":                                (*server).exit,
		"$/cancelRequest":                     (*server).cancelRequest,
		"$/setTrace":                          ignoreNotification,
		"textDocument/didOpen":                (*server).didOpen,
		"textDocument/didChange":              (*server).didChange,
		"textDocument/didClose":               (*server).didClose,
		"textDocument/didSave":                ignoreNotification,
		"workspace/didChangeConfiguration":    (*server).didChangeConfiguration,
		"workspace/didChangeWorkspaceFolders": ignoreNotification,
	}
}

func ignoreNotification(*server, context.Context, *jsonrpc2.Request) error { return nil }

// Handle implements jsonrpc2.Handler.
func (s *server) Handle(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request) {
	s.mu.Lock()
	s.conn = conn
	state := s.state
	s.mu.Unlock()
	if req.Notif {
		s.handleNotification(ctx, state, req)
		return
	}
	s.handleRequest(ctx, state, req)
}

func (s *server) handleNotification(ctx context.Context, state serverState, req *jsonrpc2.Request) {
	h, ok := notifications[req.Method]
	if !ok && s.opts.testHooks {
		h, ok = testNotifications[req.Method]
	}
	switch {
	case req.Method == "exit":
	case state == stateNew:
		s.log.Warn("notification before initialize dropped", zap.String("method", req.Method))
		return
	case state == stateShutdown:
		s.log.Warn("notification after shutdown dropped", zap.String("method", req.Method))
		return
	case !ok:
		// LSP: notifications a server does not know are ignored; those
		// starting with $/ may be, silently.
		s.log.Debug("unknown notification ignored", zap.String("method", req.Method))
		return
	}
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("notification handler panicked", zap.String("method", req.Method), zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
		}
	}()
	if err := h(s, ctx, req); err != nil {
		// A bad notification cannot be answered: log it and tell the
		// user, since a document may now differ from the client's copy.
		s.log.Warn("notification failed", zap.String("method", req.Method), zap.Error(err))
		s.showMessage(1, fmt.Sprintf("nib: %s: %v", req.Method, err))
	}
}

func (s *server) handleRequest(ctx context.Context, state serverState, req *jsonrpc2.Request) {
	id := req.ID.String()
	h, ok := requests[req.Method]
	if !ok && s.opts.testHooks {
		h, ok = testRequests[req.Method]
	}
	switch {
	case state == stateNew && req.Method != "initialize":
		s.replyError(ctx, req, &jsonrpc2.Error{Code: codeNotInitialized, Message: fmt.Sprintf("%s before initialize", req.Method)})
		return
	case state == stateShutdown:
		s.replyError(ctx, req, &jsonrpc2.Error{Code: codeInvalidRequest, Message: fmt.Sprintf("%s after shutdown: the server only accepts exit now", req.Method)})
		return
	case !ok:
		s.replyError(ctx, req, &jsonrpc2.Error{Code: codeMethodNotFound, Message: fmt.Sprintf("method not found: %s", req.Method)})
		return
	}
	s.mu.Lock()
	if _, dup := s.inflight[id]; dup {
		s.mu.Unlock()
		// Answering with this id would confuse the client about which
		// request it belongs to; log loudly and refuse.
		s.log.Warn("duplicate request id", zap.String("id", idText(req.ID)), zap.String("method", req.Method))
		s.replyError(ctx, req, &jsonrpc2.Error{Code: codeInvalidRequest, Message: fmt.Sprintf("request id %s is already in use by a request in progress", idText(req.ID))})
		return
	}
	rctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	s.inflight[id] = cancel
	s.mu.Unlock()

	run, err := s.prepare(h, req)
	if err != nil {
		s.finish(ctx, req, nil, err)
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		var result any
		err := func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					s.log.Error("request handler panicked", zap.String("method", req.Method), zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
					err = &jsonrpc2.Error{Code: codeInternalError, Message: fmt.Sprintf("internal error in %s: %v", req.Method, r)}
				}
			}()
			result, err = run(rctx)
			return err
		}()
		// A cancelled request is answered -32800 even if it finished its
		// work: the client has stopped waiting for the result. The cause
		// says whether it was cancelled or superseded.
		if rctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
			err = context.Cause(rctx)
		}
		s.finish(ctx, req, result, err)
	}()
}

// prepare runs a handler's first phase, turning a panic into an error.
func (s *server) prepare(h requestHandler, req *jsonrpc2.Request) (run func(context.Context) (any, error), err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("request handler panicked", zap.String("method", req.Method), zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
			run, err = nil, &jsonrpc2.Error{Code: codeInternalError, Message: fmt.Sprintf("internal error in %s: %v", req.Method, r)}
		}
	}()
	return h(s, req)
}

// finish answers req exactly once and forgets it.
func (s *server) finish(ctx context.Context, req *jsonrpc2.Request, result any, err error) {
	s.mu.Lock()
	id := req.ID.String()
	if cancel, ok := s.inflight[id]; ok {
		cancel(nil)
		delete(s.inflight, id)
		for key, newest := range s.newest {
			if newest == id {
				delete(s.newest, key)
			}
		}
	}
	s.mu.Unlock()
	if err != nil {
		s.replyError(ctx, req, toRPCError(req.Method, err))
		return
	}
	if err := s.connection().Reply(context.WithoutCancel(ctx), req.ID, result); err != nil {
		s.log.Warn("reply failed", zap.String("method", req.Method), zap.Error(err))
	}
}

func (s *server) replyError(ctx context.Context, req *jsonrpc2.Request, e *jsonrpc2.Error) {
	if e.Code != codeRequestCancelled {
		s.log.Info("request failed", zap.String("method", req.Method), zap.Int64("code", e.Code), zap.String("error", e.Message))
	}
	if err := s.connection().ReplyWithError(context.WithoutCancel(ctx), req.ID, e); err != nil {
		s.log.Warn("reply failed", zap.String("method", req.Method), zap.Error(err))
	}
}

// connection returns the connection the requests come from.
func (s *server) connection() *jsonrpc2.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn
}

// cancelRequest handles $/cancelRequest: the request's context is
// cancelled, and its goroutine answers -32800. Unknown ids (already
// answered) are ignored, as LSP allows.
func (s *server) cancelRequest(_ context.Context, req *jsonrpc2.Request) error {
	var p cancelParams
	if err := unmarshalParams(req, &p); err != nil {
		return err
	}
	// idStream has mapped the id as it mapped the request's own.
	if _, err := wireID(p.ID); err != nil {
		return fmt.Errorf("field \"id\": %w", err)
	}
	var id jsonrpc2.ID
	if err := json.Unmarshal(p.ID, &id); err != nil {
		return fmt.Errorf("field \"id\": %w", err)
	}
	s.mu.Lock()
	cancel := s.inflight[id.String()]
	s.mu.Unlock()
	if cancel != nil {
		cancel(nil)
	}
	return nil
}

// supersede makes req the newest request under key, cancelling the one
// before it, if it is still in flight, as superseded. Handlers call it on
// the read loop, so the newest is the last on the wire: an editor sends a
// completion on each keystroke, and the last keystroke's must win, however
// the request goroutines happen to be scheduled.
func (s *server) supersede(key string, req *jsonrpc2.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := req.ID.String()
	if prev, ok := s.newest[key]; ok && prev != id {
		if cancel := s.inflight[prev]; cancel != nil {
			cancel(completion.ErrSuperseded)
		}
	}
	s.newest[key] = id
}

// notify sends a notification, logging (not returning) failures: the
// client may be gone.
func (s *server) notify(method string, params any) {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn == nil {
		return
	}
	if err := conn.Notify(context.Background(), method, params); err != nil {
		s.log.Debug("notification not sent", zap.String("method", method), zap.Error(err))
	}
}

// showMessage shows the user a message (1 error, 2 warning, 3 info).
func (s *server) showMessage(typ int, msg string) {
	s.notify("window/showMessage", showMessageParams{Type: typ, Message: msg})
}

// call sends a request to the client and waits for its answer.
func (s *server) call(ctx context.Context, method string, params, result any) error {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn == nil {
		return errors.New("no connection")
	}
	return conn.Call(ctx, method, params, result)
}

// unmarshalParams decodes req's params into v, turning a mismatch into
// -32602 with the field at fault named.
func unmarshalParams(req *jsonrpc2.Request, v any) error {
	if req.Params == nil {
		return &jsonrpc2.Error{Code: codeInvalidParams, Message: fmt.Sprintf("%s: params are missing", req.Method)}
	}
	if err := checkJSON("", *req.Params, reflect.TypeOf(v)); err != nil {
		return &jsonrpc2.Error{Code: codeInvalidParams, Message: fmt.Sprintf("%s: %v", req.Method, err)}
	}
	if err := json.Unmarshal(*req.Params, v); err != nil {
		return &jsonrpc2.Error{Code: codeInvalidParams, Message: fmt.Sprintf("%s: %s", req.Method, describeUnmarshalError(err))}
	}
	return nil
}

// commandArgument decodes a command's one argument into v as strictly as
// unmarshalParams decodes params, turning a mismatch into -32602 that
// names the command; shape describes the argument for a wrong count.
func commandArgument(command, shape string, args []json.RawMessage, v any) error {
	if len(args) != 1 {
		return invalidParams("%s: want one argument %s, got %d", command, shape, len(args))
	}
	if err := checkJSON("arguments", args[0], reflect.TypeOf(v)); err != nil {
		return invalidParams("%s: %v", command, err)
	}
	if err := json.Unmarshal(args[0], v); err != nil {
		return invalidParams("%s: argument: %s", command, describeUnmarshalError(err))
	}
	return nil
}

// describeUnmarshalError names the JSON field behind a decoding error.
func describeUnmarshalError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := typeErr.Field
		if field == "" {
			field = "params"
		}
		return fmt.Sprintf("field %q: %s is not a %s", field, typeErr.Value, typeErr.Type)
	}
	return "invalid params: " + err.Error()
}

// invalidParams is a -32602 error.
func invalidParams(format string, args ...any) error {
	return &jsonrpc2.Error{Code: codeInvalidParams, Message: fmt.Sprintf(format, args...)}
}

// requestFailed is a -32803 error.
func requestFailed(format string, args ...any) error {
	return &jsonrpc2.Error{Code: codeRequestFailed, Message: fmt.Sprintf(format, args...)}
}

// toRPCError maps an error from a handler to a JSON-RPC error.
func toRPCError(method string, err error) *jsonrpc2.Error {
	var rpcErr *jsonrpc2.Error
	switch {
	case errors.As(err, &rpcErr):
		return rpcErr
	case errors.Is(err, context.Canceled):
		return &jsonrpc2.Error{Code: codeRequestCancelled, Message: fmt.Sprintf("%s cancelled", method)}
	case errors.Is(err, textdoc.ErrPosition), errors.Is(err, textdoc.ErrNotOpen), errors.Is(err, textdoc.ErrEncoding):
		return &jsonrpc2.Error{Code: codeInvalidParams, Message: fmt.Sprintf("%s: %v", method, err)}
	}
	return generationError(method, err)
}

// snapshot returns the current state a request needs, under the lock.
func (s *server) snapshot() (textdoc.Encoding, settings, clientCapabilities) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enc, s.settings, s.caps
}
