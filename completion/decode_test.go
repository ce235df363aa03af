package completion

import (
	"context"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/nib-editor/nib/model"
)

const start = 0 // decoder start token of the fakes, as in T5

// event is one OnToken call.
type event struct {
	alt int
	ids []int
}

// recorded returns r with an OnToken that appends to *log.
func recorded(r Request, log *[]event) Request {
	r.OnToken = func(alt int, ids []int) {
		*log = append(*log, event{alt, slices.Clone(ids)})
	}
	return r
}

// solo decodes one request alone on a fresh fake.
func solo(t *testing.T, lm dist, prompt int, r Request) (Result, *fakeStepper, []event) {
	t.Helper()
	var log []event
	f := newFake(t, lm, prompt)
	res := Decode(f, start, []Request{recorded(r, &log)})
	return res[0], f, log
}

// greedyChain is the argmax chain of lm from prompt, computed directly.
func greedyChain(lm dist, prompt int, eos, maxTokens int) Sequence {
	hist := []int{prompt, start}
	var s Sequence
	for {
		lp := lm(hist)
		best := 0
		for v := range lp {
			if lp[v] > lp[best] {
				best = v
			}
		}
		s.LogProb += float64(lp[best])
		if best == eos {
			s.Finish = FinishEOS
			return s
		}
		s.IDs = append(s.IDs, best)
		hist = append(hist, best)
		if len(s.IDs) == maxTokens {
			s.Finish = FinishLength
			return s
		}
	}
}

func TestGreedyIsArgmaxChain(t *testing.T) {
	lm := hashLM(16, 1, 4, 0.3)
	finishes := map[FinishReason]int{}
	for prompt := 100; prompt < 140; prompt++ {
		p := Params{Strategy: Greedy, N: 3, MaxTokens: 12, EOS: 1}
		res, f, log := solo(t, lm, prompt, Request{Params: p})
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		want := greedyChain(lm, prompt, 1, 12)
		if len(res.Alternatives) != 1 || !reflect.DeepEqual(res.Alternatives[0], want) {
			t.Fatalf("prompt %d: got %+v, want [%+v]", prompt, res.Alternatives, want)
		}
		finishes[want.Finish]++
		for i, k := range f.ks {
			if k != 1 || f.rows[i] != 1 {
				t.Fatalf("prompt %d step %d: k %d over %d rows, want 1 over 1", prompt, i, k, f.rows[i])
			}
		}
		if len(log) != len(want.IDs) {
			t.Fatalf("prompt %d: %d OnToken calls for %d ids", prompt, len(log), len(want.IDs))
		}
		for i, e := range log {
			if e.alt != 0 || !slices.Equal(e.ids, want.IDs[:i+1]) {
				t.Fatalf("prompt %d: OnToken %d got (%d, %v)", prompt, i, e.alt, e.ids)
			}
		}
	}
	// The fixture must exercise both endings for the test to mean much.
	if finishes[FinishEOS] == 0 || finishes[FinishLength] == 0 {
		t.Fatalf("finishes %v: want both eos and length", finishes)
	}
}

func TestEndings(t *testing.T) {
	lm := countLM(10) // after the start token 0: 1, 2, 3, ...
	lp := float64(lm([]int{0})[1])
	stopAt2 := func(ids []int) bool { return len(ids) == 2 }
	for _, tc := range []struct {
		name string
		p    Params
		want Sequence
	}{
		{"length", Params{MaxTokens: 4, EOS: -1}, Sequence{[]int{1, 2, 3, 4}, 4 * lp, FinishLength}},
		{"eos", Params{MaxTokens: 9, EOS: 4}, Sequence{[]int{1, 2, 3}, 4 * lp, FinishEOS}},
		{"eos as the last token allowed", Params{MaxTokens: 4, EOS: 4}, Sequence{[]int{1, 2, 3}, 4 * lp, FinishEOS}},
		{"length before eos", Params{MaxTokens: 3, EOS: 4}, Sequence{[]int{1, 2, 3}, 3 * lp, FinishLength}},
		{"stop id", Params{MaxTokens: 9, EOS: 7, StopIDs: []int{5, 3}}, Sequence{[]int{1, 2}, 3 * lp, FinishStop}},
		{"stop predicate", Params{MaxTokens: 9, EOS: 7, Stop: stopAt2}, Sequence{[]int{1, 2}, 2 * lp, FinishStop}},
		{"stop predicate on the last token", Params{MaxTokens: 2, EOS: 7, Stop: stopAt2}, Sequence{[]int{1, 2}, 2 * lp, FinishStop}},
	} {
		for _, strat := range []Strategy{Greedy, Beam, Sample} {
			t.Run(tc.name+"/"+strat.String(), func(t *testing.T) {
				p := tc.p
				p.Strategy = strat
				if strat != Greedy {
					p.N = 2
				}
				p.TopK = 1 // sampling from the best one only is greedy
				res, f, _ := solo(t, lm, 0, Request{Params: p})
				if res.Err != nil {
					t.Fatal(res.Err)
				}
				got := res.Alternatives[0]
				if !slices.Equal(got.IDs, tc.want.IDs) || got.Finish != tc.want.Finish || math.Abs(got.LogProb-tc.want.LogProb) > 1e-9 {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
				if strat == Sample && !reflect.DeepEqual(res.Alternatives[1], got) {
					t.Fatalf("second sample %+v differs from %+v with TopK 1", res.Alternatives[1], got)
				}
				steps := len(tc.want.IDs)
				if tc.want.Finish == FinishEOS || tc.p.StopIDs != nil {
					steps++ // the end id took a step
				}
				if strat != Beam && len(f.rows) != steps {
					t.Fatalf("%d steps, want %d", len(f.rows), steps)
				}
			})
		}
	}
}

func TestStopPredicateSeesGeneratedIDs(t *testing.T) {
	var calls [][]int
	p := Params{MaxTokens: 3, EOS: -1, Stop: func(ids []int) bool {
		calls = append(calls, slices.Clone(ids))
		return false
	}}
	res, _, _ := solo(t, countLM(10), 0, Request{Params: p})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := [][]int{{1}, {1, 2}, {1, 2, 3}}
	if !reflect.DeepEqual(calls, want) {
		t.Fatalf("Stop saw %v, want %v", calls, want)
	}
}

// TestFinishedRowsAreDropped checks that the Stepper only ever runs rows
// whose alternative is still going.
func TestFinishedRowsAreDropped(t *testing.T) {
	lm := hashLM(12, 1, 3, 0.9)
	p := Params{Strategy: Sample, N: 6, MaxTokens: 20, EOS: 1, Seed: 7}
	res, f, _ := solo(t, lm, 5, Request{Params: p})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	var want []int // rows per step
	for _, a := range res.Alternatives {
		steps := len(a.IDs)
		if a.Finish == FinishEOS {
			steps++
		}
		for s := range steps {
			if s >= len(want) {
				want = append(want, 0)
			}
			want[s]++
		}
	}
	want[0] = 1 // the first step runs the request's one row; Keep expands it after
	if !slices.Equal(f.rows, want) {
		t.Fatalf("rows per step %v, want %v", f.rows, want)
	}
	if slices.Min(want[1:]) == slices.Max(want[1:]) {
		t.Fatalf("rows per step %v: the fixture should have alternatives end at different steps", want)
	}
	if len(f.keeps) == 0 || !slices.Equal(f.keeps[0], slices.Repeat([]int{0}, want[1])) {
		t.Fatalf("first Keep %v, want the row repeated %d times", f.keeps, want[1])
	}
}

func TestParseStrategy(t *testing.T) {
	for _, s := range []Strategy{Greedy, Beam, Sample} {
		got, err := ParseStrategy(s.String())
		if err != nil || got != s {
			t.Fatalf("ParseStrategy(%q) = %v, %v", s.String(), got, err)
		}
	}
	if _, err := ParseStrategy("Greedy"); !errors.Is(err, ErrInvalidParams) || !strings.Contains(err.Error(), `"Greedy"`) {
		t.Fatalf("ParseStrategy(Greedy) error %v", err)
	}
}

func TestInvalidParams(t *testing.T) {
	ok := Params{MaxTokens: 3, EOS: -1}
	for _, tc := range []struct {
		field string
		edit  func(*Params)
	}{
		{"N", func(p *Params) { p.N = 9 }},
		{"N", func(p *Params) { p.N = -1 }},
		{"Beams", func(p *Params) { p.Beams = MaxBeams + 1 }},
		{"MaxTokens", func(p *Params) { p.MaxTokens = 0 }},
		{"Temperature", func(p *Params) { p.Temperature = -1 }},
		{"Temperature", func(p *Params) { p.Temperature = math.NaN() }},
		{"TopK", func(p *Params) { p.TopK = -5 }},
		{"TopP", func(p *Params) { p.TopP = 1.5 }},
		{"LengthPenalty", func(p *Params) { p.LengthPenalty = math.Inf(1) }},
		{"Strategy", func(p *Params) { p.Strategy = 7 }},
		{"EarlyStopping", func(p *Params) { p.EarlyStopping = 9 }},
		{"StopIDs", func(p *Params) { p.StopIDs = []int{-2} }},
	} {
		p := ok
		tc.edit(&p)
		if err := p.Validate(); !errors.Is(err, ErrInvalidParams) || !strings.Contains(err.Error(), tc.field) || !strings.HasPrefix(err.Error(), "completion: ") {
			t.Errorf("%s: Validate() = %v", tc.field, err)
		}
		// In a batch, the bad request fails alone and never takes a step.
		f := newFake(t, countLM(10), 0, 1)
		res := Decode(f, start, []Request{{Params: p}, {Params: ok}})
		if !errors.Is(res[0].Err, ErrInvalidParams) || res[0].Alternatives != nil {
			t.Errorf("%s: bad request got %+v", tc.field, res[0])
		}
		if res[1].Err != nil || !slices.Equal(res[1].Alternatives[0].IDs, []int{1, 2, 3}) {
			t.Errorf("%s: good request got %+v", tc.field, res[1])
		}
		if !reflect.DeepEqual(f.keeps, [][]int{{1}}) || slices.Max(f.rows) != 1 {
			t.Errorf("%s: keeps %v, rows %v: want the bad row dropped before any step", tc.field, f.keeps, f.rows)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestRowCountMismatch(t *testing.T) {
	f := newFake(t, countLM(10), 0, 1)
	res := Decode(f, start, []Request{{Params: Params{MaxTokens: 2}}})
	if res[0].Err == nil || len(f.rows) != 0 {
		t.Fatalf("got %+v after %d steps, want an error and no step", res[0], len(f.rows))
	}
}

// mixed is a batch of every strategy over one pseudo language model.
func mixed() (dist, []int, []Request) {
	lm := hashLM(14, 1, 3.5, 0.35)
	prompts := []int{101, 102, 103, 104, 105, 106}
	reqs := []Request{
		{Params: Params{Strategy: Greedy, MaxTokens: 15, EOS: 1}},
		{Params: Params{Strategy: Beam, N: 3, MaxTokens: 12, EOS: 1}},
		{Params: Params{Strategy: Sample, N: 4, MaxTokens: 15, EOS: 1, Seed: 42, Temperature: 0.9, TopK: 6, TopP: 0.9}},
		{Params: Params{Strategy: Greedy, MaxTokens: 15, EOS: 1, Stop: func(ids []int) bool { return ids[len(ids)-1] == 5 }}},
		{Params: Params{Strategy: Beam, N: 2, Beams: 4, MaxTokens: 10, EOS: 1, StopIDs: []int{9}, LengthPenalty: 0.5, EarlyStopping: EarlyStopNever}},
		{Params: Params{Strategy: Sample, N: 2, MaxTokens: 15, EOS: 1, Seed: 3}},
	}
	return lm, prompts, reqs
}

func TestMixedBatchEqualsSolo(t *testing.T) {
	lm, prompts, reqs := mixed()
	logs := make([][]event, len(reqs))
	batch := make([]Request, len(reqs))
	for i, r := range reqs {
		batch[i] = recorded(r, &logs[i])
	}
	f := newFake(t, lm, prompts...)
	got := Decode(f, start, batch)

	var wantRows, wantK []int
	for i, r := range reqs {
		want, fs, log := solo(t, lm, prompts[i], r)
		if want.Err != nil || got[i].Err != nil {
			t.Fatalf("request %d: errors %v and %v", i, want.Err, got[i].Err)
		}
		if !reflect.DeepEqual(got[i].Alternatives, want.Alternatives) {
			t.Errorf("request %d in a batch: %+v\nalone: %+v", i, got[i].Alternatives, want.Alternatives)
		}
		if !reflect.DeepEqual(logs[i], log) {
			t.Errorf("request %d: OnToken calls differ in a batch", i)
		}
		for s := range fs.rows {
			if s >= len(wantRows) {
				wantRows, wantK = append(wantRows, 0), append(wantK, 0)
			}
			wantRows[s] += fs.rows[s]
			wantK[s] = max(wantK[s], fs.ks[s])
		}
	}
	if !slices.Equal(f.rows, wantRows) || !slices.Equal(f.ks, wantK) {
		t.Fatalf("batch rows %v k %v, want the solo runs' sums %v and maxima %v", f.rows, f.ks, wantRows, wantK)
	}
	// Beam requests' last report is their answer.
	for _, i := range []int{1, 4} {
		last := logs[i][len(logs[i])-1]
		if last.alt != 0 || !slices.Equal(last.ids, got[i].Alternatives[0].IDs) {
			t.Errorf("request %d: last OnToken %v, best alternative %v", i, last, got[i].Alternatives[0].IDs)
		}
	}
}

func TestCancelOneRequest(t *testing.T) {
	lm, prompts, reqs := mixed()
	const victim = 2 // sampling, 4 rows
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	batch := slices.Clone(reqs)
	batch[victim].Ctx = ctx
	var seen [][]int
	batch[victim].OnToken = func(alt int, ids []int) {
		if alt == 0 {
			seen = append(seen, slices.Clone(ids))
			if len(ids) == 3 {
				cancel()
			}
		}
	}
	f := newFake(t, lm, prompts...)
	got := Decode(f, start, batch)

	if !errors.Is(got[victim].Err, context.Canceled) {
		t.Fatalf("cancelled request: Err %v", got[victim].Err)
	}
	full, _, _ := solo(t, lm, prompts[victim], reqs[victim])
	if len(full.Alternatives[0].IDs) < 4 {
		t.Fatalf("fixture: alternative 0 alone has only %v", full.Alternatives[0].IDs)
	}
	if len(got[victim].Alternatives) != 4 {
		t.Fatalf("cancelled request kept %d alternatives, want 4", len(got[victim].Alternatives))
	}
	for a, alt := range got[victim].Alternatives {
		whole := full.Alternatives[a]
		if !slices.Equal(alt.IDs, whole.IDs[:len(alt.IDs)]) || (alt.Finish != FinishNone && !reflect.DeepEqual(alt, whole)) {
			t.Fatalf("cancelled alternative %d: %+v, not a prefix of %+v", a, alt, whole)
		}
	}
	if a0 := got[victim].Alternatives[0]; !slices.Equal(a0.IDs, full.Alternatives[0].IDs[:3]) || a0.Finish != FinishNone {
		t.Fatalf("cancelled alternative 0 is %+v, want its first 3 ids unfinished", a0)
	}
	if len(seen) != 3 {
		t.Fatalf("OnToken called %d times for alternative 0, want none after the cancel", len(seen))
	}

	var wantRows []int
	for i, r := range reqs {
		want, fs, _ := solo(t, lm, prompts[i], r)
		if i == victim {
			fs.rows = fs.rows[:3] // its rows are gone after the third step
		} else if !reflect.DeepEqual(got[i], want) {
			t.Errorf("request %d disturbed by the cancel: %+v, alone %+v", i, got[i], want)
		}
		for s := range fs.rows {
			if s >= len(wantRows) {
				wantRows = append(wantRows, 0)
			}
			wantRows[s] += fs.rows[s]
		}
	}
	if !slices.Equal(f.rows, wantRows) {
		t.Fatalf("rows per step %v, want %v", f.rows, wantRows)
	}
}

func TestCancelledBeforeDecode(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	expired, stop := context.WithTimeout(context.Background(), 0)
	defer stop()
	f := newFake(t, countLM(10), 0, 1, 2)
	p := Params{MaxTokens: 3, EOS: -1}
	res := Decode(f, start, []Request{{Ctx: ctx, Params: p}, {Params: p}, {Ctx: expired, Params: p}})
	if !errors.Is(res[0].Err, context.Canceled) || !errors.Is(res[2].Err, context.DeadlineExceeded) {
		t.Fatalf("errors %v, %v", res[0].Err, res[2].Err)
	}
	if res[1].Err != nil || !slices.Equal(res[1].Alternatives[0].IDs, []int{1, 2, 3}) {
		t.Fatalf("live request: %+v", res[1])
	}
	if !reflect.DeepEqual(f.keeps, [][]int{{1}}) || !slices.Equal(f.rows, []int{1, 1, 1}) {
		t.Fatalf("keeps %v rows %v: want only the live row stepped", f.keeps, f.rows)
	}
}

func TestAllCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFake(t, countLM(10), 0, 1)
	var reqs []Request
	for range 2 {
		reqs = append(reqs, Request{Ctx: ctx, Params: Params{MaxTokens: 50, EOS: -1}, OnToken: func(alt int, ids []int) {
			if len(ids) == 2 {
				cancel()
			}
		}})
	}
	res := Decode(f, start, reqs)
	// Request 0 cancels after its second token; request 1 sees that before
	// taking its own.
	for i, want := range []int{2, 1} {
		if r := res[i]; !errors.Is(r.Err, context.Canceled) || len(r.Alternatives[0].IDs) != want {
			t.Fatalf("request %d: %+v, want %d ids", i, r, want)
		}
	}
	if len(f.rows) != 2 {
		t.Fatalf("%d steps, want 2: nothing runs after everyone cancelled", len(f.rows))
	}
}

func TestStepperErrorFailsRunningRequests(t *testing.T) {
	f := newFake(t, countLM(10), 0, 0, 0)
	f.failAt = 3
	res := Decode(f, start, []Request{
		{Params: Params{MaxTokens: 9, EOS: 2}},                        // ends with eos at step 2
		{Params: Params{MaxTokens: 9, EOS: -1}},                       // running at step 3
		{Params: Params{Strategy: Beam, N: 2, MaxTokens: 9, EOS: -1}}, // running at step 3
	})
	if res[0].Err != nil || !reflect.DeepEqual(res[0].Alternatives[0].IDs, []int{1}) || res[0].Alternatives[0].Finish != FinishEOS {
		t.Fatalf("finished request: %+v", res[0])
	}
	for _, r := range res[1:] {
		if !errors.Is(r.Err, errBoom) || !strings.HasPrefix(r.Err.Error(), "completion: ") {
			t.Fatalf("running request: Err %v", r.Err)
		}
		if a := r.Alternatives[0]; !slices.Equal(a.IDs, []int{1, 2}) || a.Finish != FinishNone {
			t.Fatalf("running request's partial output %+v, want [1 2] unfinished", a)
		}
	}
}

// badStepper returns malformed candidates.
type badStepper struct{ fakeStepper }

func (b *badStepper) Step(ctx context.Context, tokens []int, k int) ([]model.Candidates, error) {
	c, err := b.fakeStepper.Step(ctx, tokens, k)
	if err == nil {
		c[0].LogProbs = c[0].LogProbs[:0]
	}
	return c, err
}

func TestMalformedCandidates(t *testing.T) {
	b := &badStepper{*newFake(t, countLM(10), 0)}
	res := Decode(b, start, []Request{{Params: Params{MaxTokens: 3}}})
	if res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "log-probabilities") {
		t.Fatalf("Err %v", res[0].Err)
	}
}
