package textdoc

import "fmt"

// Position is a point in a document as LSP sends it: a zero-based line and
// a zero-based character offset within the line, counted in the units of
// the connection's Encoding. Character may equal the line's length (the
// point before its terminator) but not exceed it.
type Position struct {
	Line      int `json:"line" nib:"required"`
	Character int `json:"character" nib:"required"`
}

// String formats p as "line:character", zero-based as on the wire.
func (p Position) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Character) }

// before reports whether p comes before q.
func (p Position) before(q Position) bool {
	return p.Line < q.Line || p.Line == q.Line && p.Character < q.Character
}

// Range is the span of a document from Start up to but not including End,
// as LSP sends it. Start must not come after End; equal ones are an empty
// range (an insertion point).
type Range struct {
	Start Position `json:"start" nib:"required"`
	End   Position `json:"end" nib:"required"`
}

// String formats r as "start-end", for example "1:0-1:5".
func (r Range) String() string { return r.Start.String() + "-" + r.End.String() }
