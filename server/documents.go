package server

import (
	"context"
	"fmt"

	"github.com/sourcegraph/jsonrpc2"
	"go.uber.org/zap"
)

func (s *server) didOpen(_ context.Context, req *jsonrpc2.Request) error {
	var p didOpenParams
	if err := unmarshalParams(req, &p); err != nil {
		return err
	}
	if err := s.docs.Open(p.TextDocument.URI, p.TextDocument.Version, p.TextDocument.Text); err != nil {
		return err
	}
	s.log.Debug("open", zap.String("uri", p.TextDocument.URI), zap.Int32("version", p.TextDocument.Version), zap.Int("bytes", len(p.TextDocument.Text)))
	s.check.opened(p.TextDocument.URI, p.TextDocument.LanguageID)
	return nil
}

// didChange applies the changes all or nothing: a change that does not fit
// the document (an out-of-order version, a range beyond the text) leaves
// it as it was, and the error says which.
func (s *server) didChange(_ context.Context, req *jsonrpc2.Request) error {
	var p didChangeParams
	if err := unmarshalParams(req, &p); err != nil {
		return err
	}
	enc, _, _ := s.snapshot()
	if err := s.docs.Change(p.TextDocument.URI, p.TextDocument.Version, p.ContentChanges, enc); err != nil {
		return fmt.Errorf("%s version %d: %w", p.TextDocument.URI, p.TextDocument.Version, err)
	}
	s.check.changed(p.TextDocument.URI)
	return nil
}

func (s *server) didClose(_ context.Context, req *jsonrpc2.Request) error {
	var p didCloseParams
	if err := unmarshalParams(req, &p); err != nil {
		return err
	}
	if err := s.docs.Close(p.TextDocument.URI); err != nil {
		return err
	}
	s.eng.forget(p.TextDocument.URI)
	s.check.closed(p.TextDocument.URI)
	return nil
}
