package completion

import (
	"errors"
	"fmt"
	"math"
)

// Strategy is how Decode chooses each next token.
type Strategy int

const (
	// Greedy takes the most likely token at every step. It gives one
	// alternative whatever N asks for: N copies of one argmax chain would be
	// the same sequence.
	Greedy Strategy = iota
	// Beam keeps the most likely partial sequences, as Hugging Face's
	// generate(num_beams=...) does, and returns the N best.
	Beam
	// Sample draws each token at random from the model's distribution,
	// sharpened or flattened by Temperature and cut to TopK and TopP; the N
	// alternatives are drawn independently.
	Sample
	// Diverse gives the greedy answer first and samples the others (at
	// Temperature, TopK and TopP, which default to 0.7, DefaultTopK and 0.9
	// here), drawing more than N-1 so that near-identical ones (equal but
	// for case, punctuation and spacing) can be dropped: rewrites whose
	// first answer streams token by token, as greedy decoding's prefix never
	// changes, and whose other answers differ in substance. See Diverse's
	// use in Service: Decode itself returns every drawn alternative.
	Diverse
)

var strategyNames = [...]string{Greedy: "greedy", Beam: "beam", Sample: "sample", Diverse: "diverse"}

// String returns the name ParseStrategy reads.
func (s Strategy) String() string {
	if s >= 0 && int(s) < len(strategyNames) {
		return strategyNames[s]
	}
	return fmt.Sprintf("Strategy(%d)", int(s))
}

// ParseStrategy reads "greedy", "beam", "sample" or "diverse".
func ParseStrategy(name string) (Strategy, error) {
	for s, n := range strategyNames {
		if n == name {
			return Strategy(s), nil
		}
	}
	return 0, fmt.Errorf("completion: %w: unknown strategy %q (want greedy, beam, sample or diverse)", ErrInvalidParams, name)
}

// EarlyStopping says when beam search may stop before every beam has ended,
// as Hugging Face's early_stopping does. Each mode waits until Beams
// hypotheses have finished (the width, not N: as in Hugging Face, the
// returned N are the best of those).
type EarlyStopping int

const (
	// EarlyStopHeuristic is Hugging Face's default (early_stopping=False):
	// stop once the best running beam, scored as if it ended at its present
	// length, is no better than the worst finished hypothesis. With a
	// positive LengthPenalty a longer continuation could still have scored
	// higher, so this may give up a better sequence.
	EarlyStopHeuristic EarlyStopping = iota
	// EarlyStopNever is Hugging Face's early_stopping="never": the running
	// beam's best attainable score is bounded over every length up to
	// MaxTokens (log-probabilities only fall, so with a positive penalty the
	// bound is its present sum divided by MaxTokens^LengthPenalty), and the
	// search stops only when no running beam can beat the worst finished
	// hypothesis. No hypothesis within the beam is given up.
	EarlyStopNever
	// EarlyStopEager is Hugging Face's early_stopping=True: stop as soon as
	// Beams hypotheses have finished.
	EarlyStopEager
)

// Diverse's defaults: sampling a little sharper than the model's own
// distribution, and without its unlikely tail, so that the other answers
// stay answers to the instruction.
const (
	diverseTemperature = 0.7
	diverseTopP        = 0.9
)

// DiverseRows is the number of alternatives Diverse draws for n: the
// greedy one and 2(n-1) samples, so that half the samples may turn out
// duplicates and n still come back.
func DiverseRows(n int) int { return 2*n - 1 }

// Limits on Params.
const (
	// MaxAlternatives is the most alternatives one request may ask for.
	MaxAlternatives = 8
	// MaxBeams is the widest beam a request may ask for.
	MaxBeams = 32
	// DefaultTopK is the TopK a zero TopK means, as in Hugging Face.
	DefaultTopK = 50
)

// ErrInvalidParams is wrapped by every error Decode and Params.Validate
// return about a field of Params; the message names the field.
var ErrInvalidParams = errors.New("invalid parameters")

// Params says how one request is decoded. The zero value of a field means
// its default where one is given.
type Params struct {
	// Strategy is Greedy, Beam or Sample.
	Strategy Strategy
	// N is the number of alternatives wanted, 1 to MaxAlternatives; 0
	// means 1. Greedy gives one alternative whatever N says.
	N int
	// Beams is the beam width asked for, 0 meaning N; the width used is
	// max(N, Beams), at most MaxBeams. A width of 1 is greedy decoding, as
	// num_beams=1 is in Hugging Face.
	Beams int
	// MaxTokens is the most tokens generated per alternative, at least 1.
	// It counts every decoding step, so an EOS or stop id produced as the
	// MaxTokens-th token still ends the sequence as "eos" or "stop".
	MaxTokens int
	// Temperature divides the log-probabilities before sampling (Sample
	// only); 0 means 1. Small values approach greedy decoding.
	Temperature float64
	// TopK is how many of the most likely tokens sampling chooses from; 0
	// means DefaultTopK. It is the k Decode asks the Stepper for.
	TopK int
	// TopP is the nucleus: sampling keeps the smallest set of the TopK
	// tokens, most likely first, whose probability (after Temperature and
	// renormalised over the TopK) reaches TopP, and renormalises again. In
	// (0, 1]; 0 means 1, which keeps all TopK.
	TopP float64
	// Seed seeds sampling: alternative a draws from a PCG generator seeded
	// with (Seed, a), so the same seed gives the same output, however the
	// request is batched.
	Seed uint64
	// EOS is the id that ends a sequence (</s>, 1 for T5); negative for
	// none. It is not part of the output ids.
	EOS int
	// StopIDs also end a sequence, with FinishStop, and are not part of the
	// output ids either (<extra_id_1> ends a T5 infill).
	StopIDs []int
	// LengthPenalty is the exponent of the length that divides a finished
	// beam hypothesis's log-probability to score it, as in Hugging Face
	// (score = sum of log-probabilities / length^LengthPenalty, the length
	// counting the EOS or stop id). 0 means the default, 1; positive values
	// favour longer sequences, negative ones shorter.
	LengthPenalty float64
	// EarlyStopping is when beam search may stop; the zero value is Hugging
	// Face's default.
	EarlyStopping EarlyStopping
	// Stop, if not nil, is asked after each token is added to an
	// alternative, with the alternative's ids so far (start token left out,
	// the new token included; not to be modified or kept). Returning true
	// ends the alternative there with FinishStop, keeping the token. Beam
	// search asks it of every candidate continuation it considers. It is
	// called from Decode's goroutine.
	Stop func(ids []int) bool
}

// Validate reports whether Decode would accept p. The error wraps
// ErrInvalidParams and names the field.
func (p Params) Validate() error {
	_, err := p.settle()
	return err
}

// settings are Params with defaults applied and what Decode derives from
// them.
type settings struct {
	Params
	// width is the number of rows the request uses: 1 for greedy, N for
	// sampling, the beam width for beam search.
	width int
	// k is the number of candidates the request needs per row.
	k int
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("completion: %w: %s", ErrInvalidParams, fmt.Sprintf(format, args...))
}

// settle checks p and applies its defaults.
func (p Params) settle() (*settings, error) {
	if p.Strategy < Greedy || p.Strategy > Diverse {
		return nil, invalid("Strategy is %d", int(p.Strategy))
	}
	if p.N == 0 {
		p.N = 1
	}
	if p.N < 1 || p.N > MaxAlternatives {
		return nil, invalid("N is %d, want 1 to %d", p.N, MaxAlternatives)
	}
	if p.Beams == 0 {
		p.Beams = p.N
	}
	if p.Beams < 1 || p.Beams > MaxBeams {
		return nil, invalid("Beams is %d, want 1 to %d", p.Beams, MaxBeams)
	}
	if p.MaxTokens < 1 {
		return nil, invalid("MaxTokens is %d, want at least 1", p.MaxTokens)
	}
	if p.Temperature == 0 {
		p.Temperature = 1
		if p.Strategy == Diverse {
			p.Temperature = diverseTemperature
		}
	}
	if !(p.Temperature > 0) || math.IsInf(p.Temperature, 1) {
		return nil, invalid("Temperature is %v, want a positive number", p.Temperature)
	}
	if p.TopK == 0 {
		p.TopK = DefaultTopK
	}
	if p.TopK < 1 {
		return nil, invalid("TopK is %d, want at least 1", p.TopK)
	}
	if p.TopP == 0 {
		p.TopP = 1
		if p.Strategy == Diverse {
			p.TopP = diverseTopP
		}
	}
	if !(p.TopP > 0 && p.TopP <= 1) {
		return nil, invalid("TopP is %v, want more than 0 and at most 1", p.TopP)
	}
	if p.LengthPenalty == 0 {
		p.LengthPenalty = 1
	}
	if math.IsNaN(p.LengthPenalty) || math.IsInf(p.LengthPenalty, 0) {
		return nil, invalid("LengthPenalty is %v", p.LengthPenalty)
	}
	if p.EarlyStopping < EarlyStopHeuristic || p.EarlyStopping > EarlyStopEager {
		return nil, invalid("EarlyStopping is %d", int(p.EarlyStopping))
	}
	for _, id := range p.StopIDs {
		if id < 0 {
			return nil, invalid("StopIDs holds %d, want ids of at least 0", id)
		}
	}
	s := &settings{Params: p}
	switch {
	case p.Strategy == Sample:
		s.width, s.k = p.N, p.TopK
	case p.Strategy == Diverse && p.N > 1:
		s.width, s.k = DiverseRows(p.N), p.TopK
	case p.Strategy == Beam && max(p.N, p.Beams) > 1:
		s.width = max(p.N, p.Beams)
		// As Hugging Face: enough candidates that width of them continue
		// even if every beam's best are end ids.
		ends := len(p.StopIDs)
		if p.EOS >= 0 {
			ends++
		}
		s.k = max(2, 1+ends) * s.width
	default:
		s.Strategy = Greedy
		s.width, s.k = 1, 1
	}
	return s, nil
}

// end reports whether id ends a sequence, and with what reason.
func (s *settings) end(id int) (FinishReason, bool) {
	if id == s.EOS && s.EOS >= 0 {
		return FinishEOS, true
	}
	for _, stop := range s.StopIDs {
		if id == stop {
			return FinishStop, true
		}
	}
	return "", false
}

// extend appends id, of log-probability lp, to seq unless it is an end id,
// and reports whether seq goes on; when it does not, seq.Finish says why.
func (s *settings) extend(seq *Sequence, id int, lp float64) bool {
	seq.LogProb += lp
	if why, ok := s.end(id); ok {
		seq.Finish = why
		return false
	}
	seq.IDs = append(seq.IDs, id)
	switch {
	case s.Stop != nil && s.Stop(seq.IDs[:len(seq.IDs):len(seq.IDs)]):
		seq.Finish = FinishStop
	case len(seq.IDs) >= s.MaxTokens:
		seq.Finish = FinishLength
	default:
		return true
	}
	return false
}
