package textdoc

// Starts exposes the line index, for tests that check it against one built
// from scratch.
func (s Snapshot) Starts() []int { return s.lineStarts() }

// LineStarts exposes lineStarts.
var LineStarts = lineStarts
