package tokenizer

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestGraphemeVectors checks graphemeEnd against clusters that Python's
// regex module (\X, Unicode 17) found in random strings of characters
// from every property class (testdata/graphemes.txt, from gengrapheme.py).
func TestGraphemeVectors(t *testing.T) {
	f, err := os.Open("testdata/graphemes.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.HasPrefix(text, "#") {
			continue
		}
		var want []string
		for _, cluster := range strings.Split(text, " / ") {
			var b strings.Builder
			for _, h := range strings.Fields(cluster) {
				r, err := strconv.ParseUint(h, 16, 32)
				if err != nil {
					t.Fatalf("line %d: %v", line, err)
				}
				b.WriteRune(rune(r))
			}
			want = append(want, b.String())
		}
		s := strings.Join(want, "")
		var got []string
		for i := 0; i < len(s); {
			end := graphemeEnd(s, i)
			got = append(got, s[i:end])
			i = end
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("line %d: %+q split into %+q, want %+q", line, s, got, want)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 1000 {
		t.Fatalf("only %d vectors read", n)
	}
}

func TestGraphemeRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string
	}{
		{"ascii", "ab", []string{"a", "b"}},
		{"GB3 CR LF", "\r\na", []string{"\r\n", "a"}},
		{"GB4 after control", "\x01\u0301", []string{"\x01", "\u0301"}},
		{"GB9 combining marks", "e\u0301\u0302x", []string{"e\u0301\u0302", "x"}},
		{"GB9a spacing mark", "\u0915\u093f", []string{"\u0915\u093f"}},
		{"GB9b prepend", "\u0600\u0661", []string{"\u0600\u0661"}},
		{"GB6-8 hangul jamo", "\u1100\u1161\u11a8\u1100", []string{"\u1100\u1161\u11a8", "\u1100"}},
		{"GB9c conjunct", "\u0915\u094d\u0937", []string{"\u0915\u094d\u0937"}},
		{"GB11 emoji zwj", "\U0001f468\u200d\U0001f469x", []string{"\U0001f468\u200d\U0001f469", "x"}},
		{"GB11 needs a pictograph before", "a\u200d\U0001f469", []string{"a\u200d", "\U0001f469"}},
		{"GB12 flags pair", "\U0001f1fa\U0001f1f8\U0001f1ec", []string{"\U0001f1fa\U0001f1f8", "\U0001f1ec"}},
		{"hangul syllable", "\uac00\u11a8", []string{"\uac00\u11a8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for i := 0; i < len(tc.in); {
				end := graphemeEnd(tc.in, i)
				got = append(got, tc.in[i:end])
				i = end
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("%+q split into %+q, want %+q", tc.in, got, tc.want)
			}
		})
	}
}
