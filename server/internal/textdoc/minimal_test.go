package textdoc_test

import (
	"testing"

	"github.com/nib-editor/nib/server/internal/textdoc"
)

func TestMinimalEdit(t *testing.T) {
	tests := []struct {
		old, new   string
		start, end int
		text       string
	}{
		{"", "", 0, 0, ""},
		{"same", "same", 4, 4, ""},
		{"", "abc", 0, 0, "abc"},
		{"abc", "", 0, 3, ""},
		{"hello world", "hello there world", 6, 6, "there "},
		{"hello there world", "hello world", 6, 12, ""},
		{"The cat sat.", "The dog sat.", 4, 7, "dog"},
		{"aaa", "aa", 2, 3, ""},  // prefix first, then no suffix is left
		{"aa", "aaa", 2, 2, "a"}, // likewise
		// U+4E2D and U+4E2E share two bytes of three: not cut.
		{"a中b", "a丮b", 1, 4, "丮"},
		// U+1F600 and U+1F601 share three bytes of four, and are surrogate
		// pairs in UTF-16 whose first halves agree: not cut either.
		{"x😀", "x😁", 1, 5, "😁"},
		{"😀y", "😁y", 0, 4, "😁"},
		// U+00E9 and U+0129 share their last byte: the suffix is not cut.
		{"aé", "aĩ", 1, 3, "ĩ"},
		// Combining marks are code points of their own: cut between them.
		{"e\u0301", "e\u0300", 1, 3, "\u0300"},
		// Never between the '\r' and '\n' of old.
		{"a\r\nb", "a\rb", 1, 3, "\r"},
		{"x\r\n", "y\n", 0, 3, "y\n"},
		{"a\r\nb", "a\r\n\r\nb", 3, 3, "\r\n"},
		// Between them in new is fine: new's positions are not needed.
		{"a\rb", "a\r\nb", 2, 2, "\n"},
		// Invalid bytes are characters of their own.
		{"a\xffb", "a\xfeb", 1, 2, "\xfe"},
	}
	for _, tt := range tests {
		start, end, text := textdoc.MinimalEdit(tt.old, tt.new)
		if start != tt.start || end != tt.end || text != tt.text {
			t.Errorf("MinimalEdit(%q, %q) = %d, %d, %q; want %d, %d, %q", tt.old, tt.new, start, end, text, tt.start, tt.end, tt.text)
		}
		if got := tt.old[:start] + text + tt.old[end:]; got != tt.new {
			t.Errorf("MinimalEdit(%q, %q) applied gives %q", tt.old, tt.new, got)
		}
	}
}
