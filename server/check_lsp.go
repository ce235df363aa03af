package server

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/nib-editor/nib/server/internal/textdoc"
)

// The LSP side of checking: pulled diagnostics, the quick fixes and the
// ignore commands.

const (
	ignoreSentenceCommand   = "nib.ignoreSentence"
	ignoreInDocumentCommand = "nib.ignoreInDocument"
)

// documentDiagnostic answers textDocument/diagnostic.
func (s *server) documentDiagnostic(req *jsonrpc2.Request) (func(context.Context) (any, error), error) {
	var p documentDiagnosticParams
	if err := unmarshalParams(req, &p); err != nil {
		return nil, err
	}
	if _, err := s.docs.Get(p.TextDocument.URI); err != nil {
		return nil, err
	}
	report := s.check.pull(p.TextDocument.URI, p.PreviousResultID)
	return func(context.Context) (any, error) { return report, nil }, nil
}

// checkActions are the code actions for nib's diagnostics in r: those the
// client sent in the request's context, or else those nib holds there.
func (s *server) checkActions(doc textdoc.Snapshot, enc textdoc.Encoding, caps clientCapabilities, r Range, sent []diagnostic) []codeAction {
	var diags []diagnostic
	for _, d := range sent {
		if d.Source == "nib" && d.Data != nil {
			diags = append(diags, d)
		}
	}
	if len(diags) == 0 {
		held, _ := s.check.diagnostics(doc.URI())
		for _, d := range held {
			if touches(d.Range, r) {
				diags = append(diags, d)
			}
		}
	}
	var out []codeAction
	for _, d := range diags {
		// The fix applies only while the flagged words stand.
		if text, err := doc.Slice(d.Range, enc); err == nil && text == d.Data.Old {
			edit := textEdit{Range: d.Range, NewText: d.Data.New}
			we := &workspaceEdit{}
			if caps.Workspace != nil && caps.Workspace.WorkspaceEdit != nil && caps.Workspace.WorkspaceEdit.DocumentChanges {
				we.DocumentChanges = []textDocumentEdit{{TextDocument: versionedTextDocumentIdentifier{URI: doc.URI(), Version: doc.Version()}, Edits: []textEdit{edit}}}
			} else {
				we.Changes = map[string][]textEdit{doc.URI(): {edit}}
			}
			title := "Change to " + quote(d.Data.New)
			if strings.TrimSpace(d.Data.New) == "" {
				title = "Remove " + quote(d.Data.Old)
			}
			out = append(out, codeAction{Title: title, Kind: "quickfix", Diagnostics: []diagnostic{d}, IsPreferred: true, Edit: we})
		}
		out = append(out,
			codeAction{Title: "Ignore this sentence", Kind: "quickfix", Diagnostics: []diagnostic{d},
				Command: &command{Title: "Ignore this sentence", Command: ignoreSentenceCommand, Arguments: []any{ignoreSentenceArgs{Sentence: d.Data.Sentence}}}},
			codeAction{Title: "Ignore " + d.Message + " in this document", Kind: "quickfix", Diagnostics: []diagnostic{d},
				Command: &command{Title: "Ignore in this document", Command: ignoreInDocumentCommand,
					Arguments: []any{ignoreInDocumentArgs{TextDocument: textDocumentIdentifier{URI: doc.URI()}, Old: d.Data.Old, New: d.Data.New}}}},
		)
	}
	return out
}

func quote(s string) string { return "\u201c" + strings.TrimSpace(s) + "\u201d" }

// touches reports whether ranges a and b overlap or meet.
func touches(a, b Range) bool {
	return !before(a.End, b.Start) && !before(b.End, a.Start)
}

func before(p, q Position) bool {
	return p.Line < q.Line || p.Line == q.Line && p.Character < q.Character
}

// ignoreCommand runs nib.ignoreSentence or nib.ignoreInDocument.
func (s *server) ignoreCommand(name string, args []json.RawMessage) (func(context.Context) (any, error), error) {
	done := func(context.Context) (any, error) { return nil, nil }
	switch name {
	case ignoreSentenceCommand:
		var a ignoreSentenceArgs
		if err := commandArgument(name, "{sentence}", args, &a); err != nil {
			return nil, err
		}
		if strings.TrimSpace(a.Sentence) == "" {
			return nil, invalidParams("%s: field \"sentence\" is empty", name)
		}
		s.check.ignoreSentence(a.Sentence)
	default:
		var a ignoreInDocumentArgs
		if err := commandArgument(name, "{textDocument, old, new}", args, &a); err != nil {
			return nil, err
		}
		if _, err := s.docs.Get(a.TextDocument.URI); err != nil {
			return nil, err
		}
		if err := s.check.ignoreInDocument(a.TextDocument.URI, a.Old, a.New); err != nil {
			return nil, invalidParams("%s: %v", name, err)
		}
	}
	return done, nil
}
