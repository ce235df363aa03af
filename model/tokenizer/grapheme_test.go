package tokenizer

import (
	"bufio"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestGraphemeVectors checks graphemeEnd against clusters that Python's
// regex module (\X, Unicode 17) found in random strings of characters
// from every property class (testdata/graphemes.txt, from gengrapheme.py).
func TestGraphemeVectors(t *testing.T) {
	for _, v := range graphemeVectors(t) {
		s := strings.Join(v.clusters, "")
		var got []string
		for i := 0; i < len(s); {
			end := graphemeEnd(s, i)
			got = append(got, s[i:end])
			i = end
		}
		if strings.Join(got, "|") != strings.Join(v.clusters, "|") {
			t.Errorf("line %d: %+q split into %+q, want %+q", v.line, s, got, v.clusters)
		}
	}
}

// graphemeVector is one line of testdata/graphemes.txt: a string split
// into its clusters.
type graphemeVector struct {
	line     int
	clusters []string
}

// graphemeVectors reads testdata/graphemes.txt.
func graphemeVectors(t *testing.T) []graphemeVector {
	t.Helper()
	f, err := os.Open("testdata/graphemes.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var vs []graphemeVector
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
		vs = append(vs, graphemeVector{line, want})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 1000 {
		t.Fatalf("only %d vectors read", len(vs))
	}
	return vs
}

// TestGraphemeBoundaryVectors checks GraphemeBoundary, which looks only
// near the cut, at every byte of each vector and of all of them run
// together, against segmenting from the start.
func TestGraphemeBoundaryVectors(t *testing.T) {
	check := func(what, s string) {
		t.Helper()
		want := map[int]bool{0: true, len(s): true}
		for i := 0; i < len(s); {
			i = graphemeEnd(s, i)
			want[i] = true
		}
		for i := 0; i <= len(s); i++ {
			if got := GraphemeBoundary(s, i); got != want[i] {
				t.Fatalf("%s: %+q: GraphemeBoundary at %d is %v, want %v", what, s[max(0, i-16):min(len(s), i+16)], i, got, want[i])
			}
		}
	}
	var all strings.Builder
	for _, v := range graphemeVectors(t) {
		s := strings.Join(v.clusters, "")
		check("line "+strconv.Itoa(v.line), s)
		all.WriteString(s)
	}
	check("all lines", all.String())
}

// TestGraphemeBoundary lists every boundary inside short strings, among
// them clusters that only the full rules keep whole: a conjunct (GB9c),
// Hangul jamo (GB6-8), a prepended mark (GB9b) and flags (GB12).
func TestGraphemeBoundary(t *testing.T) {
	for _, tc := range []struct {
		s    string
		cuts []int // every boundary strictly inside s
	}{
		{"ab", []int{1}},
		{"e\u0301x", []int{3}},
		{"東京", []int{3}},
		{"a\r\nb", []int{1, 3}},
		{"👍🏽a", []int{8}},
		{"👨\u200d👩a", []int{11}},
		{"🇯🇵🇫🇷", []int{8}},
		{"a🇯🇵🇫🇷🇩", []int{1, 9, 17}},
		{"\u0915\u094d\u0937a", []int{9}},
		{"\u1100\u1161\u11a8\u1100", []int{9}},
		{"\u0600\u0661a", []int{4}},
		{"a\u200d\U0001f469", []int{4}},
		{"\xffa\xe6\x9d", []int{1, 2}},
	} {
		var got []int
		for i := 1; i < len(tc.s); i++ {
			if GraphemeBoundary(tc.s, i) {
				got = append(got, i)
			}
		}
		if !slices.Equal(got, tc.cuts) {
			t.Errorf("%+q: boundaries %v, want %v", tc.s, got, tc.cuts)
		}
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
