package completion

import "testing"

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
