package textdoc

import "errors"

// Sentinels that the errors of this package wrap, for errors.Is. A server
// answers ErrPosition and ErrEncoding with JSON-RPC -32602 (invalid
// params). Each error's own message says what exactly is wrong.
var (
	// ErrPosition is wrapped by every error about a position, byte offset
	// or range that does not address the text: beyond the last line or the
	// end of a line, inside a UTF-8 sequence, a surrogate pair or a "\r\n",
	// negative, or a range that ends before it starts.
	ErrPosition = errors.New("textdoc: invalid position")
	// ErrVersion is wrapped when a change's version is not greater than the
	// document's current one.
	ErrVersion = errors.New("textdoc: version not increasing")
	// ErrNotOpen is wrapped when a Store has no document under a URI.
	ErrNotOpen = errors.New("textdoc: document not open")
	// ErrEncoding is wrapped when an Encoding is none of UTF8, UTF16, UTF32
	// and the zero value.
	ErrEncoding = errors.New("textdoc: unsupported position encoding")
	// ErrURI is wrapped when a Store is asked to open a document with an
	// empty URI.
	ErrURI = errors.New("textdoc: empty document URI")
)

// docError is an error with a message of its own that unwraps to one of the
// sentinels above.
type docError struct {
	kind error
	msg  string
}

func (e *docError) Error() string { return "textdoc: " + e.msg }
func (e *docError) Unwrap() error { return e.kind }

// within prefixes the message of a docError with context, keeping its
// kind; other errors are returned as they are.
func within(err error, context string) error {
	var de *docError
	if errors.As(err, &de) {
		return &docError{kind: de.kind, msg: context + ": " + de.msg}
	}
	return err
}
