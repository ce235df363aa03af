package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/sourcegraph/jsonrpc2"
	"go.uber.org/zap"

	"github.com/nib-editor/nib/completion"
	"github.com/nib-editor/nib/server/internal/textdoc"
)

// codeAction offers one rewrite per configured instruction on a non-empty
// selection.
func (s *server) codeAction(req *jsonrpc2.Request) (func(context.Context) (any, error), error) {
	var p codeActionParams
	if err := unmarshalParams(req, &p); err != nil {
		return nil, err
	}
	enc, st, caps := s.snapshot()
	doc, err := s.docs.Get(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	text, err := doc.Slice(p.Range, enc)
	if err != nil {
		return nil, err
	}
	var sent []diagnostic
	if p.Context != nil {
		sent = p.Context.Diagnostics
	}
	actions := s.checkActions(doc, enc, caps, p.Range, sent)
	if actions == nil {
		actions = []codeAction{}
	}
	if strings.TrimSpace(text) != "" {
		for _, in := range st.Instructions {
			args := rewriteArgs{
				TextDocument: versionedTextDocumentIdentifier{URI: doc.URI(), Version: doc.Version()},
				Range:        p.Range,
				Instruction:  in.Instruction,
			}
			actions = append(actions, codeAction{
				Title:   in.Title,
				Kind:    "refactor.rewrite",
				Command: &command{Title: in.Title, Command: rewriteCommand, Arguments: []any{args}},
			})
		}
	}
	return func(context.Context) (any, error) { return actions, nil }, nil
}

// executeCommand runs nib.rewrite: the best rewrite of the range, applied
// through workspace/applyEdit as a minimal edit.
func (s *server) executeCommand(req *jsonrpc2.Request) (func(context.Context) (any, error), error) {
	var p executeCommandParams
	if err := unmarshalParams(req, &p); err != nil {
		return nil, err
	}
	switch p.Command {
	case ignoreSentenceCommand, ignoreInDocumentCommand:
		return s.ignoreCommand(p.Command, p.Arguments)
	case rewriteCommand:
	default:
		return nil, invalidParams("workspace/executeCommand: unknown command %q (nib has %s, %s and %s)", p.Command, rewriteCommand, ignoreSentenceCommand, ignoreInDocumentCommand)
	}
	var args rewriteArgs
	if err := commandArgument(rewriteCommand, "{textDocument, range, instruction}", p.Arguments, &args); err != nil {
		return nil, err
	}
	if strings.TrimSpace(args.Instruction) == "" {
		return nil, invalidParams("%s: field \"instruction\" is empty", rewriteCommand)
	}
	enc, st, caps := s.snapshot()
	doc, err := s.docs.Get(args.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	if args.TextDocument.Version != 0 && args.TextDocument.Version != doc.Version() {
		return nil, contentModified(doc.URI(), args.TextDocument.Version, doc.Version())
	}
	text, err := doc.Slice(args.Range, enc)
	if err != nil {
		return nil, err
	}
	if text == "" {
		return nil, invalidParams("%s: the selection is empty (range %v of %s)", rewriteCommand, args.Range, doc.URI())
	}
	// One answer is applied: the first of the configured strategy (for
	// diverse, the greedy one, which streams; for beam, the best of a beam
	// as wide as the alternatives configured).
	strategy, _ := completion.ParseStrategy(st.Rewrite.Strategy)
	params := completion.Params{Strategy: strategy, N: 1, MaxTokens: st.Rewrite.MaxTokens}
	if strategy == completion.Beam {
		params.Beams = st.Rewrite.Alternatives
	}
	s.supersede(rewriteKey(doc.URI()), req)
	// The text so far goes out as work-done progress, where the client
	// shows it, so the writer sees the rewrite come.
	progress := s.requestProgress(caps, p.WorkDoneToken, "nib: "+args.Instruction)
	return func(ctx context.Context) (any, error) {
		progress(loadProgress{kind: "begin", percent: -1})
		var last string
		onText := func(alt int, text string) {
			if alt == 0 && text != last {
				last = text
				progress(loadProgress{kind: "report", message: text, percent: -1})
			}
		}
		out, err := s.runRewrite(ctx, st, doc.URI(), text, args.Instruction, params, st.Rewrite.length(), onText)
		end := loadProgress{kind: "end", percent: -1}
		if err == nil && len(out.Alternatives) > 0 {
			end.message = out.Alternatives[0].Text
		}
		progress(end)
		if err != nil {
			return nil, err
		}
		if len(out.Alternatives) == 0 {
			return rewriteCommandResult{Applied: false}, nil
		}
		best := out.Alternatives[0].Text
		edits, err := minimalEdits(doc, args.Range, text, best, enc)
		if err != nil {
			return nil, err
		}
		// The document may have changed while the model worked: then the
		// edit's positions would be wrong, so nothing is applied.
		now, err := s.docs.Get(doc.URI())
		if err != nil {
			return nil, err
		}
		if now.Version() != doc.Version() {
			return nil, contentModified(doc.URI(), doc.Version(), now.Version())
		}
		if len(edits) == 0 {
			return rewriteCommandResult{Applied: true, Text: best}, nil
		}
		edit := workspaceEdit{}
		if caps.Workspace != nil && caps.Workspace.WorkspaceEdit != nil && caps.Workspace.WorkspaceEdit.DocumentChanges {
			edit.DocumentChanges = []textDocumentEdit{{
				TextDocument: versionedTextDocumentIdentifier{URI: doc.URI(), Version: doc.Version()},
				Edits:        edits,
			}}
		} else {
			edit.Changes = map[string][]textEdit{doc.URI(): edits}
		}
		// The client is asked to apply the edit and given applyEditTimeout
		// to answer: a client that never answers must not hold the
		// request (and its document's rewrites) for ever.
		var res applyWorkspaceEditResult
		actx, cancel := context.WithTimeout(ctx, s.opts.applyEditTimeout)
		defer cancel()
		if err := s.call(actx, "workspace/applyEdit", applyWorkspaceEditParams{Label: "nib: " + args.Instruction, Edit: edit}, &res); err != nil {
			switch {
			case ctx.Err() != nil:
				return nil, context.Cause(ctx) // cancelled: -32800
			case actx.Err() != nil:
				return nil, requestFailed("%s: the client did not answer workspace/applyEdit within %v; it may still apply the edit", rewriteCommand, s.opts.applyEditTimeout)
			}
			return nil, requestFailed("%s: workspace/applyEdit: %v", rewriteCommand, err)
		}
		if !res.Applied {
			s.log.Info("client did not apply the rewrite", zap.String("reason", res.FailureReason))
		}
		return rewriteCommandResult{Applied: res.Applied, Text: best}, nil
	}, nil
}

// rewrite answers nib/rewrite: n rewrites of the range, best first, each
// with the minimal edits that turn the range's text into it.
func (s *server) rewrite(req *jsonrpc2.Request) (func(context.Context) (any, error), error) {
	var p rewriteParams
	if err := unmarshalParams(req, &p); err != nil {
		return nil, err
	}
	if strings.TrimSpace(p.Instruction) == "" {
		return nil, invalidParams("nib/rewrite: field \"instruction\" is empty")
	}
	enc, st, _ := s.snapshot()
	doc, err := s.docs.Get(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	if p.TextDocument.Version != 0 && p.TextDocument.Version != doc.Version() {
		return nil, contentModified(doc.URI(), p.TextDocument.Version, doc.Version())
	}
	text, err := doc.Slice(p.Range, enc)
	if err != nil {
		return nil, err
	}
	if text == "" {
		return nil, invalidParams("nib/rewrite: the selection is empty (range %v of %s)", p.Range, doc.URI())
	}
	source := text // what the model rewrites
	if p.Text != nil {
		if strings.TrimSpace(*p.Text) == "" {
			return nil, invalidParams("nib/rewrite: field \"text\" is empty; leave it out to rewrite the range's text")
		}
		source = *p.Text
	}
	strategy, _ := completion.ParseStrategy(st.Rewrite.Strategy)
	def := completion.Params{Strategy: strategy, N: st.Rewrite.Alternatives, MaxTokens: st.Rewrite.MaxTokens}
	params, err := p.decodeParams(def)
	if err != nil {
		return nil, err
	}
	// A maxTokens in the request is the budget; otherwise the selection's
	// length sizes it under rewrite.maxTokens.
	length := st.Rewrite.length()
	if p.MaxTokens != nil {
		length = nil
	}
	stream := s.newStreamer(p.PartialResultToken)
	s.supersede(rewriteKey(doc.URI()), req)
	return func(ctx context.Context) (any, error) {
		out, err := s.runRewrite(ctx, st, doc.URI(), source, p.Instruction, params, length, stream.onText())
		if err != nil {
			return nil, err
		}
		res := generateResult{Items: []generatedItem{}, Cached: string(out.Cached)}
		for _, a := range out.Alternatives {
			edits, err := minimalEdits(doc, p.Range, text, a.Text, enc)
			if err != nil {
				return nil, err
			}
			res.Items = append(res.Items, generatedItem{Text: a.Text, Edits: edits, Tokens: a.Tokens, Finish: string(a.Finish)})
		}
		return res, nil
	}, nil
}

// minimalEdits returns the edit (none, or one) that turns old, the text of
// r in doc, into new, leaving their common prefix and suffix alone.
func minimalEdits(doc textdoc.Snapshot, r Range, old, new string, enc textdoc.Encoding) ([]textEdit, error) {
	if old == new {
		return []textEdit{}, nil
	}
	base, err := doc.Offset(r.Start, enc)
	if err != nil {
		return nil, err
	}
	a, b, text := textdoc.MinimalEdit(old, new)
	start, err := doc.PositionAt(base+a, enc)
	if err != nil {
		return nil, err
	}
	end, err := doc.PositionAt(base+b, enc)
	if err != nil {
		return nil, err
	}
	return []textEdit{{Range: Range{Start: start, End: end}, NewText: text}}, nil
}

func contentModified(uri string, want, have int32) error {
	return &jsonrpc2.Error{Code: codeContentModified, Message: fmt.Sprintf("%s changed (version %d, the request was for %d): nothing applied", uri, have, want)}
}
