package completion

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
)

// Checking: a sentence is rewritten by a correcting instruction, and the
// correction is reported only when it is a small edit (CheckRule's bounds
// on changed words and bytes) that the model prefers to the sentence as
// written (its mean log-probability per token, teacher-forced as the
// answer to the same prompt, higher by CheckRule.MinGain): this keeps
// paraphrases of sentences that were fine out.

// DefaultCheckInstruction is the instruction a sentence is checked by.
const DefaultCheckInstruction = "Fix grammar and spelling"

// CheckRule decides which corrections are worth reporting.
type CheckRule struct {
	// MaxChangedWords bounds the words the correction replaces, removes or
	// adds (counting the larger side of each change); MaxChangedChars the
	// bytes it does, on either side. A correction past either is a
	// paraphrase, not a fix.
	MaxChangedWords, MaxChangedChars int
	// MinGain is how much higher the correction's mean log-probability per
	// token must be than the sentence's, both scored as the answer to the
	// same prompt, teacher-forced. Below it the model does not really
	// prefer the correction: it rewrote a sentence that was fine.
	MinGain float64
}

// DefaultCheckRule: up to 3 words and 24 bytes changed, and a gain of at
// least 0.1 nats a token.
var DefaultCheckRule = CheckRule{MaxChangedWords: 3, MaxChangedChars: 24, MinGain: 0.1}

// CheckRequest asks whether a sentence needs a correction.
type CheckRequest struct {
	// Key supersedes an older check of the same key (a sentence's
	// place in a document).
	Key string
	// Sentence is the text checked.
	Sentence string
	// Instruction is what the model is asked; "" means
	// DefaultCheckInstruction. Template is the rewrite prompt template; ""
	// means DefaultRewriteTemplate.
	Instruction, Template string
	// MaxInputTokens is the prompt budget; 0 means 512.
	MaxInputTokens int
	Rule           CheckRule
	// Background checks run behind every other request and give way to
	// one that arrives (ErrPreempted).
	Background bool
}

// withDefaults fills in req's defaults.
func (req CheckRequest) withDefaults() CheckRequest {
	if req.Instruction == "" {
		req.Instruction = DefaultCheckInstruction
	}
	if req.Template == "" {
		req.Template = DefaultRewriteTemplate
	}
	if req.MaxInputTokens == 0 {
		req.MaxInputTokens = 512
	}
	return req
}

// Verdict is a check's outcome.
type Verdict struct {
	// Correction is the model's rewrite of the sentence.
	Correction string
	// Changes turn the sentence into Correction: byte ranges of the
	// sentence, in order, each with its replacement.
	Changes []Change
	// Sentence and Corrected are the mean log-probabilities per token of
	// the sentence and of the correction as the prompt's answer; both
	// are 0 when the correction was not scored (no change, or too big a
	// one).
	SentenceScore, CorrectedScore float64
	// Report says whether the correction passes the rule; Reason says why
	// not.
	Report bool
	Reason string
}

// Reasons a correction is not reported.
const (
	ReasonUnchanged = "the model left the sentence as it is"
	ReasonTooBig    = "the correction changes too much to be a fix"
	ReasonNoGain    = "the model does not prefer the correction enough"
)

// Check rewrites req.Sentence by the correcting instruction (greedy, the
// budget sized by the sentence) and judges the result by req.Rule.
func (s *Service) Check(ctx context.Context, req CheckRequest) (*Verdict, error) {
	if strings.TrimSpace(req.Sentence) == "" {
		return nil, errors.New("completion: check: empty sentence")
	}
	req = req.withDefaults()
	out, err := s.Rewrite(ctx, RewriteRequest{
		Key: req.Key, Instruction: req.Instruction, Text: req.Sentence, Template: req.Template,
		MaxInputTokens: req.MaxInputTokens, Params: Params{Strategy: Greedy, MaxTokens: DefaultRewriteMaxTokens},
		Length: &DefaultRewriteLength, Background: req.Background,
	})
	if err != nil {
		return nil, err
	}
	correction := req.Sentence
	if len(out.Alternatives) > 0 {
		correction = out.Alternatives[0].Text
	}
	return s.Judge(ctx, req, correction)
}

// Judge judges correction as a fix of req.Sentence by req.Rule: the
// changes between them, and when they are small, the two scored as the
// answer to the checking prompt.
func (s *Service) Judge(ctx context.Context, req CheckRequest, correction string) (*Verdict, error) {
	v := &Verdict{Correction: correction, Changes: WordChanges(req.Sentence, correction)}
	if len(v.Changes) == 0 {
		v.Reason = ReasonUnchanged
		return v, nil
	}
	words, bytes := changeSize(req.Sentence, v.Changes)
	if words > req.Rule.MaxChangedWords || bytes > req.Rule.MaxChangedChars {
		v.Reason = fmt.Sprintf("%s (%d words, %d bytes)", ReasonTooBig, words, bytes)
		return v, nil
	}
	req = req.withDefaults()
	prompt, err := BuildRewrite(s.tok, req.Template, req.Instruction, req.Sentence, req.MaxInputTokens)
	if err != nil {
		return nil, err
	}
	scores, err := s.score(ctx, prompt.IDs, [][]int{s.tok.Encode(req.Sentence), s.tok.Encode(correction)}, req.Background)
	if err != nil {
		return nil, err
	}
	v.SentenceScore, v.CorrectedScore = scores[0], scores[1]
	if gain := v.CorrectedScore - v.SentenceScore; gain < req.Rule.MinGain {
		v.Reason = fmt.Sprintf("%s (gain %.3f nats a token, at least %g wanted)", ReasonNoGain, gain, req.Rule.MinGain)
		return v, nil
	}
	v.Report = true
	return v, nil
}

// scoreJob is a queued Score.
type scoreJob struct {
	prompt  []int
	outputs [][]int
	scores  []float64
}

// Score returns, for each output (token ids, </s> last), its mean
// log-probability per token as the model's answer to prompt, teacher-forced:
// how much the model would have chosen it.
func (s *Service) Score(ctx context.Context, prompt []int, outputs [][]int) ([]float64, error) {
	return s.score(ctx, prompt, outputs, false)
}

func (s *Service) score(ctx context.Context, prompt []int, outputs [][]int, background bool) ([]float64, error) {
	for i, o := range outputs {
		if len(o) == 0 {
			return nil, fmt.Errorf("completion: score: output %d is empty", i)
		}
	}
	j := &task{score: &scoreJob{prompt: prompt, outputs: outputs}, background: background}
	if _, err := s.submit(ctx, j, nil); err != nil {
		return nil, err
	}
	return j.score.scores, nil
}

// runScore runs a score task on the worker.
func (s *Service) runScore(j *task) {
	sj := j.score
	// A check scores the prompt its rewrite just encoded: the cache has it.
	enc, _, err := s.encoded(sj.prompt)
	if err != nil {
		j.out <- jobResult{err: err}
		return
	}
	defer enc.Close()
	vocab := s.m.Config().VocabSize
	start := s.m.Config().DecoderStartID
	for _, ids := range sj.outputs {
		if err := j.ctx.Err(); err != nil {
			j.out <- jobResult{err: cause(j.ctx)}
			return
		}
		dec, err := s.m.NewDecoder(enc, len(ids))
		if err != nil {
			j.out <- jobResult{err: err}
			return
		}
		in := append([]int{start}, ids[:len(ids)-1]...)
		logits, err := dec.Logits([][]int{in})
		dec.Close()
		if err != nil {
			j.out <- jobResult{err: err}
			return
		}
		sum := 0.0
		for t, id := range ids {
			sum += logSoftmaxAt(logits[t*vocab:(t+1)*vocab], id)
		}
		sj.scores = append(sj.scores, sum/float64(len(ids)))
	}
	j.out <- jobResult{out: &Output{}}
}

// logSoftmaxAt is log softmax(row)[id], in float64.
func logSoftmaxAt(row []float32, id int) float64 {
	m := math.Inf(-1)
	for _, x := range row {
		m = max(m, float64(x))
	}
	sum := 0.0
	for _, x := range row {
		sum += math.Exp(float64(x) - m)
	}
	return float64(row[id]) - m - math.Log(sum)
}
