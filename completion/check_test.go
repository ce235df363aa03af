package completion_test

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nib-editor/nib/completion"
	"github.com/nib-editor/nib/model/safetensors"
)

func TestWordChanges(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want []completion.Change
	}{
		{"She go to school.", "She goes to school.", []completion.Change{{Start: 4, End: 6, Text: "goes"}}},
		{"She go to to school.", "She goes to school.", []completion.Change{{Start: 4, End: 6, Text: "goes"}, {Start: 10, End: 13}}},
		{"I has a apple today.", "I have an apple today.", []completion.Change{{Start: 2, End: 7, Text: "have an"}}},
		{"He left early", "He left early today", []completion.Change{{Start: 13, End: 13, Text: " today"}}},
		{"Yesterday he left", "he left", []completion.Change{{Start: 0, End: 10}}},
		{"he left yesterday", "he left", []completion.Change{{Start: 7, End: 17}}},
		{"he left", "so he left", []completion.Change{{Start: 0, End: 0, Text: "so "}}},
		{"same words", "same words", nil},
		{"Café  au lait", "Café au lait!", []completion.Change{{Start: 10, End: 14, Text: "lait!"}}},
	} {
		got := completion.WordChanges(c.a, c.b)
		if !slices.Equal(got, c.want) {
			t.Errorf("WordChanges(%q, %q) = %+v, want %+v", c.a, c.b, got, c.want)
		}
	}
}

// TestWordChangesMinimal: on random sentences of single-spaced words, the
// changes give b exactly and touch no more words than a longest common
// subsequence leaves.
func TestWordChangesMinimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := []string{"the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "."}
	sentence := func() []string {
		w := make([]string, rng.IntN(9))
		for i := range w {
			w[i] = vocab[rng.IntN(len(vocab))]
		}
		return w
	}
	for range 2000 {
		wa, wb := sentence(), sentence()
		a, b := strings.Join(wa, " "), strings.Join(wb, " ")
		changes := completion.WordChanges(a, b)
		if got := completion.ApplyChanges(a, changes); got != b {
			t.Fatalf("%q -> %q: changes %+v give %q", a, b, changes, got)
		}
		touched := 0
		for _, c := range changes {
			touched += len(strings.Fields(a[c.Start:c.End])) + len(strings.Fields(c.Text))
		}
		if want := len(wa) + len(wb) - 2*lcsLen(wa, wb); touched != want {
			t.Fatalf("%q -> %q: changes %+v touch %d words, want %d", a, b, changes, touched, want)
		}
	}
}

func lcsLen(a, b []string) int {
	prev := make([]int, len(b)+1)
	for i := range a {
		cur := make([]int, len(b)+1)
		for j := range b {
			if a[i] == b[j] {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(prev[j+1], cur[j])
			}
		}
		prev = cur
	}
	return prev[len(b)]
}

// TestScoreMatchesTransformers: Score's mean log-probability equals the one
// computed from transformers' teacher-forced logits in the fixture's
// reference file.
func TestScoreMatchesTransformers(t *testing.T) {
	s, _ := newService(t, completion.ServiceOptions{})
	ref, err := safetensors.Open(filepath.Join("..", "..", "shared", "fixtures", "t5-tiny-gated", "reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	ints := func(name string) []int {
		tn, ok := ref.Tensor(name)
		if !ok {
			t.Fatalf("reference has no %s", name)
		}
		out := make([]int, tn.Shape[len(tn.Shape)-1])
		for i := range out {
			out[i] = int(binary.LittleEndian.Uint64(tn.Data[8*i:]))
		}
		return out
	}
	prompt, dec := ints("case0.input_ids"), ints("case0.decoder_input_ids")
	logits, _ := ref.Tensor("case0.logits")
	vocab := logits.Shape[len(logits.Shape)-1]
	// The output whose teacher-forced inputs are dec: dec without its start
	// token, and one more token.
	out := append(slices.Clone(dec[1:]), 42)
	want := 0.0
	for i, id := range out {
		row := make([]float64, vocab)
		m := math.Inf(-1)
		for v := range row {
			row[v] = float64(math.Float32frombits(binary.LittleEndian.Uint32(logits.Data[4*(i*vocab+v):])))
			m = max(m, row[v])
		}
		sum := 0.0
		for _, x := range row {
			sum += math.Exp(x - m)
		}
		want += row[id] - m - math.Log(sum)
	}
	want /= float64(len(out))
	got, err := s.Score(context.Background(), prompt, [][]int{out, out[:2]})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got[0]-want) > 1e-4*math.Abs(want) {
		t.Errorf("Score = %.6f, transformers' logits give %.6f", got[0], want)
	}
	if got[1] == got[0] {
		t.Errorf("a shorter output scored the same, %.6f", got[1])
	}
}

// preferringModel writes a copy of the t5-tiny-gated fixture whose decoder
// puts almost all probability on one token, whatever the input: the
// first column of every embedding is a large constant, which dominates
// the decoder's residual stream, and only that token's lm_head row reads
// that column after the final norm. Scores are then known in advance: a
// text holding the token more often scores higher.
func preferringModel(t *testing.T, token int) string {
	t.Helper()
	src := filepath.Join("..", "..", "shared", "fixtures", "t5-tiny-gated")
	f, err := safetensors.Open(filepath.Join(src, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	set := func(tn safetensors.Tensor, row, col int, v float32) {
		binary.LittleEndian.PutUint32(tn.Data[4*(row*tn.Shape[1]+col):], math.Float32bits(v))
	}
	var ts []safetensors.Tensor
	for _, name := range f.Names() {
		tn, _ := f.Tensor(name)
		tn.Data = slices.Clone(tn.Data)
		if tn.DType != safetensors.F32 {
			t.Fatalf("%s is %v; the fixture is f32", name, tn.DType)
		}
		switch name {
		case "shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight":
			for v := range tn.Shape[0] {
				set(tn, v, 0, 50)
			}
		case "lm_head.weight":
			for v := range tn.Shape[0] {
				set(tn, v, 0, 0)
			}
			set(tn, token, 0, 10)
		case "decoder.final_layer_norm.weight":
			binary.LittleEndian.PutUint32(tn.Data, math.Float32bits(1))
		}
		ts = append(ts, tn)
	}
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if err := safetensors.Write(out, ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"config.json", "spiece.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"} {
		abs, err := filepath.Abs(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestJudgeThresholds: on a model built to prefer the word "good", a
// sentence corrected towards it is reported and one corrected away from
// it is not, whatever else; the gain threshold decides exactly at the
// measured gain; and too big a change is refused before any scoring.
func TestJudgeThresholds(t *testing.T) {
	_, tok := gpuModel(t, "t5-tiny-gated")
	good := tok.Encode("good")
	if len(good) != 2 {
		t.Fatalf("\"good\" is %v, want one piece and </s>", good)
	}
	m, tok := gpuModelAt(t, preferringModel(t, good[0]))
	s := completion.NewService(m, tok, completion.ServiceOptions{})
	t.Cleanup(s.Close)
	ctx := context.Background()
	rule := completion.DefaultCheckRule
	judge := func(sentence, correction string, rule completion.CheckRule) *completion.Verdict {
		t.Helper()
		v, err := s.Judge(ctx, completion.CheckRequest{Sentence: sentence, Rule: rule}, correction)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	toGood := judge("The food was bad here.", "The food was good here.", rule)
	if !toGood.Report || toGood.CorrectedScore <= toGood.SentenceScore {
		t.Errorf("towards the preferred word: %+v, want it reported with a higher score", toGood)
	}
	if want := []completion.Change{{Start: 13, End: 16, Text: "good"}}; !slices.Equal(toGood.Changes, want) {
		t.Errorf("changes %+v, want %+v", toGood.Changes, want)
	}
	fromGood := judge("The food was good here.", "The food was bad here.", rule)
	if fromGood.Report || !strings.HasPrefix(fromGood.Reason, completion.ReasonNoGain) || fromGood.CorrectedScore >= fromGood.SentenceScore {
		t.Errorf("away from the preferred word: %+v, want it refused for want of gain", fromGood)
	}
	// The threshold decides at the gain itself, both ways.
	gain := toGood.CorrectedScore - toGood.SentenceScore
	t.Logf("towards \"good\": %.3f to %.3f nats a token (gain %.3f); away: %.3f to %.3f",
		toGood.SentenceScore, toGood.CorrectedScore, gain, fromGood.SentenceScore, fromGood.CorrectedScore)
	for _, c := range []struct {
		minGain float64
		report  bool
	}{{gain - 1e-3, true}, {gain + 1e-3, false}} {
		r := rule
		r.MinGain = c.minGain
		if v := judge("The food was bad here.", "The food was good here.", r); v.Report != c.report {
			t.Errorf("gain %.4f, MinGain %.4f: reported %v, want %v", gain, c.minGain, v.Report, c.report)
		}
	}
	// Each sentence's prompt was encoded once: judging it again scores
	// against the cached encoder output.
	if n := s.Stats().Encodes; n != 2 {
		t.Errorf("%d encoder passes for two sentences judged four times", n)
	}
	// Too big a change is a paraphrase, refused unscored; and so is no
	// change at all.
	big := judge("The food was bad here.", "Good good good good food.", rule)
	if big.Report || !strings.HasPrefix(big.Reason, completion.ReasonTooBig) || big.CorrectedScore != 0 {
		t.Errorf("a rewrite of every word: %+v, want it refused as too big", big)
	}
	r := rule
	r.MaxChangedWords = 0
	if v := judge("The food was bad here.", "The food was good here.", r); v.Report {
		t.Errorf("MaxChangedWords 0 still reported %+v", v)
	}
	if v := judge("The food was bad here.", "The food was bad here.", rule); v.Report || v.Reason != completion.ReasonUnchanged {
		t.Errorf("no change: %+v", v)
	}
	// Check itself: this model "corrects" every sentence into a run of the
	// preferred word, which is no fix.
	v, err := s.Check(ctx, completion.CheckRequest{Sentence: "The food was bad here.", Rule: rule})
	if err != nil {
		t.Fatal(err)
	}
	if v.Report || !strings.Contains(v.Correction, "good") {
		t.Errorf("Check: %+v, want a correction of the preferred word refused", v)
	}
}

// TestCheckIsGreedyRewrite: Check's correction is the greedy rewrite by
// the checking instruction.
func TestCheckIsGreedyRewrite(t *testing.T) {
	s, _ := newService(t, completion.ServiceOptions{})
	ctx := context.Background()
	const sentence = "me and him goes to the market"
	v, err := s.Check(ctx, completion.CheckRequest{Sentence: sentence, Rule: completion.DefaultCheckRule})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Rewrite(ctx, completion.RewriteRequest{Instruction: completion.DefaultCheckInstruction, Text: sentence, MaxInputTokens: 512,
		Params: greedy(completion.DefaultRewriteMaxTokens), Length: &completion.DefaultRewriteLength})
	if err != nil {
		t.Fatal(err)
	}
	if v.Correction != out.Alternatives[0].Text {
		t.Errorf("Check corrected to %q, the greedy rewrite is %q", v.Correction, out.Alternatives[0].Text)
	}
	if got := completion.ApplyChanges(sentence, v.Changes); got != v.Correction && strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(v.Correction), " ") {
		t.Errorf("the changes give %q, the correction is %q", got, v.Correction)
	}
	if _, err := s.Check(ctx, completion.CheckRequest{Sentence: "  "}); err == nil {
		t.Error("an empty sentence was checked")
	}
}

// TestBackgroundGivesWay: a background check waits while a foreground
// request waits, and one running gives way to a foreground request that
// arrives (ErrPreempted), which is answered as if the check were not there.
func TestBackgroundGivesWay(t *testing.T) {
	s, _ := newService(t, completion.ServiceOptions{})
	ctx := context.Background()
	// A long background rewrite, then a foreground completion while it
	// runs. Alone, the rewrite runs its 256 tokens (the fixture's greedy
	// answer has no </s>), so it cannot have ended by itself.
	long := completion.RewriteRequest{Instruction: "Fix", Text: "me and him goes to the market", MaxInputTokens: 512, Params: greedy(256)}
	full, err := s.Rewrite(ctx, long)
	if err != nil {
		t.Fatal(err)
	}
	if f := full.Alternatives[0]; f.Finish != completion.FinishLength || f.Tokens != 256 {
		t.Fatalf("the rewrite alone ended by %q after %d tokens; the test needs one that runs to 256", f.Finish, f.Tokens)
	}
	batches := s.Stats().Batches
	bg := make(chan error, 1)
	go func() {
		req := long
		req.Background = true
		_, err := s.Rewrite(ctx, req)
		bg <- err
	}()
	// Wait until it runs: the service's batch counter moves.
	for s.Stats().Batches == batches {
		time.Sleep(time.Millisecond)
	}
	alone, err := s.Complete(ctx, completion.CompleteRequest{Before: "The weather today", MaxInputTokens: 512, Params: greedy(8)})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-bg; !errors.Is(err, completion.ErrPreempted) {
		t.Errorf("the background rewrite ended with %v, want ErrPreempted", err)
	}
	again, err := s.Complete(ctx, completion.CompleteRequest{Before: "The weather today", MaxInputTokens: 512, Params: greedy(8)})
	if err != nil {
		t.Fatal(err)
	}
	if alone.Alternatives[0].Text != again.Alternatives[0].Text {
		t.Errorf("the completion during the background work gave %q, alone %q", alone.Alternatives[0].Text, again.Alternatives[0].Text)
	}
	// A background request finishes when nothing else comes.
	if _, err := s.Rewrite(ctx, completion.RewriteRequest{Instruction: "Fix", Text: "me and him", MaxInputTokens: 512,
		Params: greedy(4), Background: true}); err != nil {
		t.Errorf("background rewrite alone: %v", err)
	}
}
