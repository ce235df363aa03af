package completion

import (
	"strings"

	"github.com/nib-editor/nib/model"
	"github.com/nib-editor/nib/model/tokenizer"
)

// Type-through: the last completion of each document is kept, so that
// typing what it suggested is answered without encoding again.

// Forget drops the type-through state kept under key, the Key its
// completions were asked with (a closed document).
func (s *Service) Forget(key string) {
	if st, ok := s.states.Remove(key); ok {
		st.Close()
	}
}

// typeState is the last completion of a document, kept for type-through:
// the text it was made for, what it suggested, and the decoder positioned
// to continue it.
type typeState struct {
	before, after string
	ids           []int // generated so far, all fed to dec but the last
	text          string
	finish        FinishReason
	dec           *model.Decoder // nil when it cannot continue
}

// Bytes implements cache.Value.
func (t *typeState) Bytes() int64 {
	if t.dec == nil {
		return int64(len(t.text))
	}
	return t.dec.Bytes()
}

// Close implements cache.Value.
func (t *typeState) Close() {
	if t.dec != nil {
		t.dec.Close()
		t.dec = nil
	}
}

// textsFrom renders ids generated after the state's as text continuing its
// suggestion.
func (t *typeState) textsFrom(tok *tokenizer.Tokenizer) func(ids []int) string {
	prev := t.ids
	return func(ids []int) string {
		all := append(append([]int(nil), prev...), ids...)
		full := tok.Decode(all)
		return strings.TrimPrefix(full, tok.Decode(prev))
	}
}

// keepState stores a finished completion for type-through. It reports
// whether it took the decoder.
func (s *Service) keepState(j *task, seq Sequence, alt Alternative, dec *model.Decoder) bool {
	st := &typeState{before: j.complete.Before, after: j.complete.After, ids: seq.IDs, text: alt.Text, finish: seq.Finish}
	canContinue := continuable(j.params, seq) && dec.Pos() < dec.Capacity()
	if canContinue {
		st.dec = dec
	}
	s.states.Put(j.key, st)
	return canContinue
}

// continuable reports whether decoding can go on after seq: it ended at
// the token limit or by the Stop predicate, so its last id was chosen but
// not yet fed to the decoder. An EOS or stop id ends it for good (and is
// not in seq.IDs).
func continuable(p Params, seq Sequence) bool {
	if len(seq.IDs) == 0 {
		return false
	}
	switch seq.Finish {
	case FinishLength:
		return true
	case FinishStop:
		return p.Stop != nil && p.Stop(seq.IDs)
	}
	return false
}

// typeThrough looks for a stored suggestion the user has been typing. It
// returns the output at once when the rest of the suggestion is known, or
// the state to continue decoding from when the user typed all of it.
func (s *Service) typeThrough(req CompleteRequest) (*Output, *typeState, bool) {
	st, ok := s.states.Get(req.Key)
	if !ok || st.after != req.After || !strings.HasPrefix(req.Before, st.before) {
		return nil, nil, false
	}
	typed := req.Before[len(st.before):]
	if typed == "" || !strings.HasPrefix(st.text, typed) {
		return nil, nil, false
	}
	rest := st.text[len(typed):]
	if rest != "" {
		// Kept under the new cursor, so that typing on keeps matching.
		s.states.Put(req.Key, &typeState{before: req.Before, after: req.After, ids: st.ids, text: rest, finish: st.finish, dec: s.takeDecoder(req.Key, st)})
		return &Output{Alternatives: []Alternative{{Text: rest, Tokens: 0, Finish: st.finish}}, Cached: CachedTypeThrough}, nil, true
	}
	if st.dec == nil {
		return nil, nil, false
	}
	taken, _ := s.states.Remove(req.Key)
	taken.before = req.Before
	return nil, taken, true
}

// takeDecoder moves st's decoder out, so that replacing st in the cache
// does not close it.
func (s *Service) takeDecoder(key string, st *typeState) *model.Decoder {
	if old, ok := s.states.Remove(key); ok && old == st {
		d := st.dec
		st.dec = nil
		return d
	}
	return nil
}

// continueState decodes on from a stored decoder state whose suggestion
// the user has typed whole.
func (s *Service) continueState(j *task) {
	st := j.cont
	last := st.ids[len(st.ids)-1]
	left := st.dec.Capacity() - st.dec.Pos()
	p := j.params
	p.MaxTokens = min(p.MaxTokens, left)
	results := Decode(modelStepper{st.dec}, last, []Request{{Ctx: j.ctx, Params: p, OnToken: j.onText}})
	r := results[0]
	if r.Err != nil {
		st.Close()
		j.out <- jobResult{err: errorOf(j, r.Err)}
		return
	}
	out := &Output{Cached: CachedTypeThrough}
	seq := r.Alternatives[0]
	text := j.texts(seq.IDs)
	out.Alternatives = []Alternative{{Text: text, Tokens: len(seq.IDs), Finish: seq.Finish}}
	next := &typeState{before: st.before, after: st.after, ids: append(append([]int(nil), st.ids...), seq.IDs...), text: text, finish: seq.Finish}
	if continuable(j.params, seq) && st.dec.Pos() < st.dec.Capacity() && st.dec.Rows() == 1 {
		next.dec = st.dec
		next.ids = seq.IDs
		st.dec = nil
	}
	st.Close()
	s.states.Put(j.key, next)
	j.out <- jobResult{out: out}
}
