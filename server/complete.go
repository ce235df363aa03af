package server

import (
	"context"

	"github.com/sourcegraph/jsonrpc2"
)

// inlineCompletion answers textDocument/inlineCompletion (LSP 3.18) with
// one ghost-text continuation at the cursor, stopped at a sentence end.
func (s *server) inlineCompletion(req *jsonrpc2.Request) (func(context.Context) (any, error), error) {
	var p inlineCompletionParams
	if err := unmarshalParams(req, &p); err != nil {
		return nil, err
	}
	doc, off, st, err := s.docAt(p.TextDocument.URI, p.Position)
	if err != nil {
		return nil, err
	}
	s.supersede(completeKey(doc.URI()), req)
	return func(ctx context.Context) (any, error) {
		out, err := s.runComplete(ctx, st, doc, off, completeDefaults(st), st.Completion.StopAtSentenceEnd, nil)
		if err != nil {
			return nil, err
		}
		list := inlineCompletionList{Items: []inlineCompletionItem{}}
		for _, a := range out.Alternatives {
			if a.Text == "" {
				continue
			}
			r := Range{Start: p.Position, End: p.Position}
			list.Items = append(list.Items, inlineCompletionItem{InsertText: a.Text, Range: &r})
		}
		return list, nil
	}, nil
}

// complete answers nib/complete: n continuations at the cursor, streamed
// through $/progress when the request carries a partial-result token.
func (s *server) complete(req *jsonrpc2.Request) (func(context.Context) (any, error), error) {
	var p completeParams
	if err := unmarshalParams(req, &p); err != nil {
		return nil, err
	}
	doc, off, st, err := s.docAt(p.TextDocument.URI, p.Position)
	if err != nil {
		return nil, err
	}
	params, err := p.decodeParams(completeDefaults(st))
	if err != nil {
		return nil, err
	}
	stop := st.Completion.StopAtSentenceEnd
	if p.StopAtSentenceEnd != nil {
		stop = *p.StopAtSentenceEnd
	}
	stream := s.newStreamer(p.PartialResultToken)
	s.supersede(completeKey(doc.URI()), req)
	return func(ctx context.Context) (any, error) {
		out, err := s.runComplete(ctx, st, doc, off, params, stop, stream.onText())
		if err != nil {
			return nil, err
		}
		res := generateResult{Items: []generatedItem{}, Cached: string(out.Cached)}
		for _, a := range out.Alternatives {
			res.Items = append(res.Items, generatedItem{Text: a.Text, Tokens: a.Tokens, Finish: string(a.Finish)})
		}
		return res, nil
	}, nil
}
