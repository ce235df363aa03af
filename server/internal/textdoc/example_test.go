package textdoc_test

import (
	"errors"
	"fmt"

	"github.com/nib-editor/nib/server/internal/textdoc"
)

func Example() {
	enc := textdoc.Negotiate([]string{"utf-32", "utf-16"}) // from initialize
	var docs textdoc.Store
	docs.Open("file:///notes.md", 1, "Hello 😀\r\nworld")

	// textDocument/didChange: append to line 1.
	r := textdoc.Range{Start: textdoc.Position{Line: 1, Character: 5}, End: textdoc.Position{Line: 1, Character: 5}}
	if err := docs.Change("file:///notes.md", 2, []textdoc.Change{{Range: &r, Text: "!"}}, enc); err != nil {
		fmt.Println(err)
	}
	s, _ := docs.Get("file:///notes.md")
	fmt.Printf("%s v%d: %q\n", enc, s.Version(), s.Text())

	line0, _ := s.Slice(textdoc.Range{End: textdoc.Position{Line: 0, Character: 7}}, enc)
	fmt.Printf("%q\n", line0)

	_, err := s.Offset(textdoc.Position{Line: 0, Character: 9}, enc)
	fmt.Println(err, errors.Is(err, textdoc.ErrPosition))
	_, err = s.Offset(textdoc.Position{Line: 0, Character: 7}, textdoc.UTF16)
	fmt.Println(err)
	// Output:
	// utf-32 v2: "Hello 😀\r\nworld!"
	// "Hello 😀"
	// textdoc: position 0:9 is beyond the end of line 0 (7 UTF-32 code units) true
	// textdoc: position 0:7 is inside the surrogate pair of U+1F600 at 0:6
}

func ExampleMinimalEdit() {
	old := "The cat sat on the mat."
	new := "The dog sat on the mat."
	start, end, text := textdoc.MinimalEdit(old, new)
	s := textdoc.NewSnapshot("file:///a.txt", 1, old)
	a, _ := s.PositionAt(start, textdoc.UTF16)
	b, _ := s.PositionAt(end, textdoc.UTF16)
	fmt.Printf("replace %v-%v (%q) by %q\n", a, b, old[start:end], text)
	// Output:
	// replace 0:4-0:7 ("cat") by "dog"
}
