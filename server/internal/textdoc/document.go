package textdoc

// Change is one edit of textDocument/didChange, as LSP's
// TextDocumentContentChangeEvent: Text replaces the text in Range, or the
// whole document when Range is nil.
type Change struct {
	Range *Range `json:"range,omitempty"`
	Text  string `json:"text" nib:"required"`
}

// Document is an open document that changes: a handle on its current
// Snapshot. Its methods convert positions against the current text. A
// Document is not safe for concurrent use; Store is, and Snapshot is
// immutable. The zero Document is an empty text at version 0 with no URI.
type Document struct {
	cur Snapshot
}

// NewDocument returns the document uri at version with text, as
// textDocument/didOpen gives it.
func NewDocument(uri string, version int32, text string) *Document {
	return &Document{cur: NewSnapshot(uri, version, text)}
}

// URI returns the document's URI.
func (d *Document) URI() string { return d.cur.uri }

// Version returns the document's current version.
func (d *Document) Version() int32 { return d.cur.version }

// Text returns the document's current text.
func (d *Document) Text() string { return d.cur.text }

// LineCount returns the number of lines in the current text.
func (d *Document) LineCount() int { return d.cur.LineCount() }

// Snapshot returns the current version, which later changes leave as it
// is.
func (d *Document) Snapshot() Snapshot { return d.cur }

// Offset returns the byte offset of p in the current text; see
// Snapshot.Offset.
func (d *Document) Offset(p Position, enc Encoding) (int, error) { return d.cur.Offset(p, enc) }

// PositionAt returns the position of byte offset off in the current text;
// see Snapshot.PositionAt.
func (d *Document) PositionAt(off int, enc Encoding) (Position, error) {
	return d.cur.PositionAt(off, enc)
}

// Slice returns the current text in r; see Snapshot.Slice.
func (d *Document) Slice(r Range, enc Encoding) (string, error) { return d.cur.Slice(r, enc) }

// Apply makes version of the document by applying changes in order, as
// textDocument/didChange says: each change's range, in units of enc, is
// read against the text that the changes before it left. version must be
// greater than the current version (an error wrapping ErrVersion names
// both otherwise); an empty list of changes only sets the version. If any
// change fails (an error wrapping ErrPosition that names the change and
// the position), the document is left exactly as it was.
//
// Each ranged change costs a copy of the text and of the line index plus a
// walk along the lines of its two ends; a nil Range one re-indexes the new
// text.
func (d *Document) Apply(version int32, changes []Change, enc Encoding) error {
	enc, err := enc.resolve()
	if err != nil {
		return err
	}
	next, err := d.cur.apply(version, changes, enc)
	if err != nil {
		return err
	}
	d.cur = next
	return nil
}
