// Package textdoc holds the documents an editor has open and converts LSP
// positions to byte offsets and back. It is the one place in nib that does
// either.
//
// # Positions
//
// A Position is a zero-based line and a character offset within that line,
// exactly as on the wire. What a character counts depends on the position
// encoding negotiated at initialize (see Negotiate): bytes of UTF-8
// (UTF8), 16-bit code units of UTF-16 (UTF16, the LSP default), or code
// points (UTF32). Messages print a position as line:character, zero-based,
// so that they can be compared with a client's log.
//
// Lines end at "\n", "\r\n" or a lone "\r", as the LSP says. The line
// terminator is not part of the line: the largest valid character of a
// line is its length, which addresses the point just before the
// terminator, and the point between the "\r" and "\n" of a "\r\n" cannot be
// addressed at all. A text of n terminators has n+1 lines, so "a\n" has an
// empty line 1 and its end is position 1:0.
//
// Conversions are strict: a line beyond the last, a character beyond the
// end of its line, a UTF-16 position between the two halves of a surrogate
// pair, a UTF-8 position inside a multi-byte sequence, a byte offset that no
// position can address and a range whose start is after its end are all
// errors that wrap ErrPosition and name the position, so that a server can
// answer them with JSON-RPC -32602 and a message the user can act on.
// Nothing is clamped.
//
// # Invalid UTF-8
//
// Text arrives as JSON and is therefore valid UTF-8, but a Go string need
// not be, and nothing here panics on one that is not. Each byte that is not
// part of a valid UTF-8 sequence counts as one character of its own in every
// encoding: one byte in UTF-8 (which it is), one code unit in UTF-16 and
// one code point in UTF-32, as if it were U+FFFD. This is how Go's
// utf8.DecodeRuneInString and range loops split such text, so conversions
// agree with them.
//
// # Documents
//
// A Snapshot is an immutable version of a document: URI, version, text and
// an index of line starts, so that a conversion costs a binary search plus
// a walk along one line (none at all for UTF-8 character counts beyond a
// check of at most three bytes). A Document is a mutable handle that moves
// from snapshot to snapshot through Apply, which takes the incremental
// changes of textDocument/didChange with LSP semantics: in order, each
// range read against the text the previous change left, all or nothing, and
// only for a newer version. A Store keeps the open documents of a
// connection by URI for concurrent use and hands out Snapshots that stay
// valid while later edits arrive.
//
// MinimalEdit turns a rewrite of a text into the smallest replacement that
// keeps the common prefix and suffix, cut only where positions can address.
package textdoc
