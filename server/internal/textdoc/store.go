package textdoc

import (
	"fmt"
	"sync"
)

// Store holds the documents a client has open, by URI. It is safe for
// concurrent use. The zero Store is empty and ready to use.
type Store struct {
	mu   sync.Mutex
	docs map[string]Snapshot // guarded by mu
}

// NewStore returns an empty Store.
func NewStore() *Store { return &Store{} }

// Open records uri at version with text, as textDocument/didOpen. Opening
// a document already open replaces it, whatever the versions. It fails
// only for an empty uri (ErrURI).
func (s *Store) Open(uri string, version int32, text string) error {
	if uri == "" {
		return &docError{kind: ErrURI, msg: "open: empty document URI"}
	}
	snap := NewSnapshot(uri, version, text) // index outside the lock
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.docs == nil {
		s.docs = map[string]Snapshot{}
	}
	s.docs[uri] = snap
	return nil
}

// Change applies textDocument/didChange to the open document uri, with the
// semantics and errors of Document.Apply: all or nothing, version greater
// than the current one. An unknown uri is an error wrapping ErrNotOpen.
// The store's lock is held while the changes are applied, so changes to
// one document apply in the order of the calls; each costs about a copy
// of the text.
func (s *Store) Change(uri string, version int32, changes []Change, enc Encoding) error {
	enc, err := enc.resolve()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.docs[uri]
	if !ok {
		return notOpen("change", uri)
	}
	next, err := cur.apply(version, changes, enc)
	if err != nil {
		return err
	}
	s.docs[uri] = next
	return nil
}

// Close forgets the document uri, as textDocument/didClose. Snapshots
// taken before stay valid. An unknown uri is an error wrapping ErrNotOpen.
func (s *Store) Close(uri string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.docs[uri]; !ok {
		return notOpen("close", uri)
	}
	delete(s.docs, uri)
	return nil
}

// Get returns the current snapshot of the open document uri, or an error
// wrapping ErrNotOpen.
func (s *Store) Get(uri string) (Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, ok := s.docs[uri]
	if !ok {
		return Snapshot{}, notOpen("get", uri)
	}
	return snap, nil
}

func notOpen(op, uri string) error {
	return &docError{kind: ErrNotOpen, msg: fmt.Sprintf("%s: document %s is not open", op, uri)}
}
