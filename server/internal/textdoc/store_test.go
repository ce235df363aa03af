package textdoc_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/nib-editor/nib/server/internal/textdoc"
)

func TestStore(t *testing.T) {
	var st textdoc.Store // the zero Store is ready
	const uri = "file:///notes.md"
	if err := st.Open(uri, 1, "Hello\nworld"); err != nil {
		t.Fatal(err)
	}
	s1, err := st.Get(uri)
	if err != nil {
		t.Fatal(err)
	}
	if s1.URI() != uri || s1.Version() != 1 || s1.Text() != "Hello\nworld" {
		t.Fatalf("Get = %s v%d %q", s1.URI(), s1.Version(), s1.Text())
	}
	if err := st.Change(uri, 2, []textdoc.Change{edit(rng(1, 0, 1, 5), "there")}, u16); err != nil {
		t.Fatal(err)
	}
	s2, err := st.Get(uri)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Version() != 2 || s2.Text() != "Hello\nthere" {
		t.Fatalf("after Change: v%d %q", s2.Version(), s2.Text())
	}
	if s1.Version() != 1 || s1.Text() != "Hello\nworld" {
		t.Fatalf("earlier snapshot changed: v%d %q", s1.Version(), s1.Text())
	}

	// A refused change leaves the document as it was.
	err = st.Change(uri, 2, []textdoc.Change{full("x")}, u16)
	if !errors.Is(err, textdoc.ErrVersion) || err.Error() != "textdoc: version 2 of file:///notes.md is not after the current version 2" {
		t.Fatalf("Change with the same version: %v", err)
	}
	err = st.Change(uri, 3, []textdoc.Change{full("x"), edit(rng(0, 0, 0, 2), "")}, u16)
	if !errors.Is(err, textdoc.ErrPosition) {
		t.Fatalf("Change beyond the line: %v, want ErrPosition", err)
	}
	if s, _ := st.Get(uri); s.Version() != 2 || s.Text() != "Hello\nthere" {
		t.Fatalf("refused changes altered the document: v%d %q", s.Version(), s.Text())
	}

	// Re-opening replaces, whatever the version.
	if err := st.Open(uri, 1, "again"); err != nil {
		t.Fatal(err)
	}
	if s, _ := st.Get(uri); s.Version() != 1 || s.Text() != "again" {
		t.Fatalf("after re-open: v%d %q", s.Version(), s.Text())
	}

	if err := st.Close(uri); err != nil {
		t.Fatal(err)
	}
	if s2.Text() != "Hello\nthere" {
		t.Fatalf("snapshot changed by Close: %q", s2.Text())
	}
	for name, err := range map[string]error{
		"Get":    func() error { _, err := st.Get(uri); return err }(),
		"Change": st.Change(uri, 9, nil, u16),
		"Close":  st.Close(uri),
	} {
		want := fmt.Sprintf("textdoc: %s: document %s is not open", map[string]string{"Get": "get", "Change": "change", "Close": "close"}[name], uri)
		if !errors.Is(err, textdoc.ErrNotOpen) || err.Error() != want {
			t.Errorf("%s of a closed document: %v, want %q wrapping ErrNotOpen", name, err, want)
		}
	}
	if err := st.Open("", 1, "x"); !errors.Is(err, textdoc.ErrURI) {
		t.Errorf("Open with an empty URI: %v, want ErrURI", err)
	}
	if err := textdoc.NewStore().Change(uri, 2, nil, "utf-7"); !errors.Is(err, textdoc.ErrEncoding) {
		t.Errorf("Change with an unknown encoding: %v, want ErrEncoding", err)
	}
}

// TestStoreConcurrent edits documents from several goroutines while others
// read them; run with -race. Each writer owns one document, so its final
// text is known.
func TestStoreConcurrent(t *testing.T) {
	st := textdoc.NewStore()
	const writers, edits = 8, 200
	for w := range writers {
		if err := st.Open(fmt.Sprintf("file:///%d", w), 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(2)
		uri := fmt.Sprintf("file:///%d", w)
		go func() {
			defer wg.Done()
			for v := int32(1); v <= edits; v++ {
				// Append "x\n" at the end: line v-1 is empty before.
				if err := st.Change(uri, v, []textdoc.Change{edit(rng(int(v-1), 0, int(v-1), 0), "x\n")}, u16); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range edits {
				s, err := st.Get(uri)
				if err != nil {
					t.Error(err)
					return
				}
				// Every snapshot is consistent: version v has v lines "x".
				if n := s.LineCount(); n != int(s.Version())+1 || len(s.Text()) != 2*int(s.Version()) {
					t.Errorf("snapshot v%d has %d lines and %d bytes", s.Version(), n, len(s.Text()))
					return
				}
			}
		}()
	}
	wg.Wait()
	for w := range writers {
		s, err := st.Get(fmt.Sprintf("file:///%d", w))
		if err != nil {
			t.Fatal(err)
		}
		if s.Version() != edits || s.LineCount() != edits+1 {
			t.Errorf("document %d: v%d, %d lines", w, s.Version(), s.LineCount())
		}
	}
}
