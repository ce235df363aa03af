package completion

import (
	"slices"
	"testing"
)

func TestSentenceEnd(t *testing.T) {
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"He left.", true},
		{"He left. ", true},
		{"He left.\n", true},
		{"Really?", true},
		{"Stop!", true},
		{"What?!", true},
		{"Wait...", true},
		{"Wait…", true},
		{"東京は首都です。", true},
		{"本当？", true},
		{"すごい！", true},
		{`He said "go."`, true},
		{"He said “go.”", true},
		{"(See above.)", true},
		{"It is *done.*", true},
		{"「終わり。」", true},
		{"It costs 3. ", true},
		{"It costs 3.\"", true},
		{".", true},

		{"", false},
		{"He left", false},
		{"He left,", false},
		{"for example:", false},
		{"It costs 3.", false}, // maybe 3.5
		{"It costs 3.5", false},
		{"pi is 3.14", false},
		{"See e.g.", false},
		{"that is, i.e.", false},
		{"Ask Dr.", false},
		{"Ask dr.", false},
		{"cats vs.", false},
		{"Smith et al.", false},
		{"J.", false},
		{"by J. R.", false},
		{"in the U.S.", false},
		{"Mr. Smith", false},
		{"e.g. this", false},
		{"东京", false},
		{"3.5 and", false},
	} {
		if got := SentenceEnd(tc.text); got != tc.want {
			t.Errorf("SentenceEnd(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestSentences(t *testing.T) {
	for _, c := range []struct {
		text string
		want []string
	}{
		{"She go home. Then he leave!  Why?", []string{"She go home.", "Then he leave!", "Why?"}},
		{"Dr. Smith arrived at 3 p.m. yesterday. Fine.", []string{"Dr. Smith arrived at 3 p.m. yesterday.", "Fine."}},
		{"# Title\n\n- item one\n- item two. And more\r\nlast", []string{"# Title", "- item one", "- item two.", "And more", "last"}},
		{"He said \"stop.\" Then left.", []string{"He said \"stop.\"", "Then left."}},
		{"   ", nil},
		{"日本語です。 次の文。", []string{"日本語です。", "次の文。"}},
	} {
		var got []string
		for _, s := range Sentences(c.text) {
			got = append(got, c.text[s.Start:s.End])
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("Sentences(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}
