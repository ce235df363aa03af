package server

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/nib-editor/nib/cache"
	"github.com/nib-editor/nib/completion"
	"github.com/nib-editor/nib/server/internal/textdoc"
)

// checker checks open documents in the background, sentence by sentence,
// and publishes its findings as diagnostics (PROTOCOL.md, "Checking").
// Results are cached by sentence (with the instruction, rule and model),
// so an edit re-checks only the sentences it touched.
type checker struct {
	s *server

	mu        sync.Mutex
	docs      map[string]*docCheck
	results   *cache.LRU[verdict]
	sentences map[string]bool // ignored everywhere
	stats     checkStats
}

// docCheck is one open document's checking.
type docCheck struct {
	language string
	timer    *time.Timer
	cancel   context.CancelFunc // the run in flight
	// found are the findings of the text checked last; ignored holds
	// "old\x00new" changes ignored in the document.
	found    []finding
	ignored  map[string]bool
	resultID int
	pending  int
	// flush publishes the findings gathered since the last publish; nil
	// when none wait.
	flush *time.Timer
}

// defaultCheckPublishEvery is how long sentence results gather before a
// document's diagnostics are published. Each publish rebuilds the whole
// document's list, so one per result would cost O(n²) for a document of n
// sentences; results come in batches anyway.
const defaultCheckPublishEvery = 100 * time.Millisecond

// finding is a reported verdict on the sentence at start in the text.
type finding struct {
	start int
	v     *completion.Verdict
}

// verdict is a cached check result.
type verdict struct{ v *completion.Verdict }

func (v verdict) Bytes() int64 {
	n := int64(len(v.v.Correction)) + 64
	for _, c := range v.v.Changes {
		n += int64(len(c.Text)) + 24
	}
	return n
}

func (verdict) Close() {}

// checkStats are nib/stats' check counters.
type checkStats struct {
	Checked  uint64 `json:"checked"`
	Cached   uint64 `json:"cached"`
	Reported uint64 `json:"reported"`
	Ignored  uint64 `json:"ignored"`
	Pending  int    `json:"pending"`
}

func newChecker(s *server) *checker {
	return &checker{s: s, docs: map[string]*docCheck{}, results: cache.NewLRU[verdict](16 << 20), sentences: map[string]bool{}}
}

// opened starts checking a document that was opened.
func (c *checker) opened(uri, language string) {
	c.mu.Lock()
	c.docs[uri] = &docCheck{language: language, ignored: map[string]bool{}}
	c.mu.Unlock()
	c.schedule(uri)
}

// changed stops the document's check in flight, and checks it again once
// the writer pauses.
func (c *checker) changed(uri string) { c.schedule(uri) }

// closed forgets a document and clears its diagnostics.
func (c *checker) closed(uri string) {
	c.mu.Lock()
	d := c.docs[uri]
	delete(c.docs, uri)
	if d != nil {
		d.stop()
	}
	c.mu.Unlock()
	// A client that pulls stops asking for a closed document; one that is
	// pushed to must be told its diagnostics are gone.
	if _, _, caps := c.s.snapshot(); d != nil && len(d.found) > 0 && !caps.pullsDiagnostics() {
		c.s.notify("textDocument/publishDiagnostics", publishDiagnosticsParams{URI: uri, Diagnostics: []diagnostic{}})
	}
}

// reconfigure applies changed settings: every document is checked again
// (or its diagnostics cleared).
func (c *checker) reconfigure() {
	_, st, _ := c.s.snapshot()
	c.results.SetBudget(int64(st.Check.CacheMB) << 20)
	c.mu.Lock()
	uris := slices.Collect(maps.Keys(c.docs))
	c.mu.Unlock()
	for _, uri := range uris {
		c.schedule(uri)
	}
}

// stopAll stops every timer and run: the connection is ending.
func (c *checker) stopAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range c.docs {
		d.stop()
	}
}

func (d *docCheck) stop() {
	if d.timer != nil {
		d.timer.Stop()
	}
	d.stopFlush()
	if d.cancel != nil {
		d.cancel()
		d.cancel = nil
	}
}

func (d *docCheck) stopFlush() {
	if d.flush != nil {
		d.flush.Stop()
		d.flush = nil
	}
}

// publishSoon publishes d's diagnostics once results have gathered for
// checkPublishEvery. c.mu is held.
func (c *checker) publishSoon(uri string, d *docCheck) {
	if d.flush != nil {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(c.s.opts.checkPublishEvery, func() {
		c.mu.Lock()
		mine := d.flush == t && c.docs[uri] == d
		if mine {
			d.flush = nil
		}
		c.mu.Unlock()
		if mine {
			c.publish(uri)
		}
	})
	d.flush = t
}

// schedule (re)starts the document's debounce; a document not checked
// under the settings loses its diagnostics.
func (c *checker) schedule(uri string) {
	_, st, _ := c.s.snapshot()
	c.mu.Lock()
	d := c.docs[uri]
	if d == nil {
		c.mu.Unlock()
		return
	}
	d.stop()
	if !st.Check.checks(d.language) {
		had := len(d.found) > 0
		d.found = nil
		c.mu.Unlock()
		if had {
			c.publish(uri)
		}
		return
	}
	d.timer = time.AfterFunc(time.Duration(st.Check.DebounceMs)*time.Millisecond, func() { c.run(uri) })
	c.mu.Unlock()
}

// resultKey identifies a sentence's result under the settings.
func resultKey(st settings, sentence string) string {
	r := st.Check.rule()
	return strings.Join([]string{st.Model, strconv.FormatBool(st.F16), strconv.FormatBool(st.Int8), st.Templates.Rewrite,
		st.Check.Instruction, strconv.Itoa(r.MaxChangedWords), strconv.Itoa(r.MaxChangedChars),
		strconv.FormatFloat(r.MinGain, 'g', -1, 64), sentence}, "\x00")
}

// checkConcurrency is how many sentences of a document are checked at
// once: the completion service decodes those waiting together in one
// batch.
const checkConcurrency = 8

// run checks the document's sentences: cached ones at once, the others on
// the model, in the background, publishing as results come.
func (c *checker) run(uri string) {
	_, st, _ := c.s.snapshot()
	doc, err := c.s.docs.Get(uri)
	if err != nil {
		return
	}
	text := doc.Text()
	type todo struct {
		start    int
		sentence string
	}
	var todos []todo
	var found []finding
	c.mu.Lock()
	d := c.docs[uri]
	if d == nil {
		c.mu.Unlock()
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	for _, sp := range completion.Sentences(text) {
		sentence := text[sp.Start:sp.End]
		if c.sentences[sentence] {
			continue
		}
		if r, ok := c.results.Get(resultKey(st, sentence)); ok {
			c.stats.Cached++
			if r.v.Report {
				found = append(found, finding{sp.Start, r.v})
			}
			continue
		}
		todos = append(todos, todo{sp.Start, sentence})
	}
	d.found, d.pending = found, len(todos)
	c.stats.Reported += uint64(len(found))
	c.mu.Unlock()
	c.publish(uri)

	sem := make(chan struct{}, checkConcurrency)
	var wg sync.WaitGroup
	for _, t := range todos {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			v, err := c.check(ctx, st, t.sentence)
			c.mu.Lock()
			if err == nil {
				// Kept even when the document moved on: the sentence
				// may well still be there.
				c.stats.Checked++
				c.results.Put(resultKey(st, t.sentence), verdict{v})
			}
			current := func() bool { return ctx.Err() == nil && c.docs[uri] == d }
			if !current() {
				c.mu.Unlock()
				return
			}
			if err != nil {
				c.s.log.Info("check failed", zap.String("uri", uri), zap.Error(err))
			} else if v.Report {
				d.found = append(d.found, finding{t.start, v})
				c.stats.Reported++
				c.publishSoon(uri, d)
			}
			if d.pending > 1 {
				d.pending--
				c.mu.Unlock()
				return
			}
			// The run's last result publishes at once, and only then
			// is the document no longer pending: a client that sees
			// nothing pending in nib/stats has every diagnostic.
			flush := d.flush != nil
			d.stopFlush()
			c.mu.Unlock()
			if flush {
				c.publish(uri)
			}
			c.mu.Lock()
			if current() {
				d.pending--
			}
			c.mu.Unlock()
		}()
	}
	wg.Wait()
	cancel()
}

// check runs one sentence through the model in the background, again
// after a pause each time a foreground request preempts it.
func (c *checker) check(ctx context.Context, st settings, sentence string) (*completion.Verdict, error) {
	for {
		var v *completion.Verdict
		_, err := c.s.generate(ctx, st, func(svc *completion.Service) (*completion.Output, error) {
			var err error
			v, err = svc.Check(ctx, completion.CheckRequest{
				Sentence: sentence, Instruction: st.Check.Instruction, Template: st.Templates.Rewrite,
				MaxInputTokens: st.MaxInputTokens, Rule: st.Check.rule(), Background: true,
			})
			return &completion.Output{}, err
		})
		if !errors.Is(err, completion.ErrPreempted) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(preemptedRetry):
		}
	}
}

// preemptedRetry is how long a preempted check waits before it asks again;
// it then waits in the queue behind whatever else came.
const preemptedRetry = 50 * time.Millisecond

// diagnostics are the document's diagnostics as of its text now: findings
// whose words still stand where they were found, less what is ignored.
func (c *checker) diagnostics(uri string) ([]diagnostic, int32) {
	enc, st, _ := c.s.snapshot()
	doc, err := c.s.docs.Get(uri)
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.docs[uri]
	out := []diagnostic{}
	if err != nil || d == nil {
		return out, 0
	}
	text := doc.Text()
	severity := 3
	if st.Check.Severity == "hint" {
		severity = 4
	}
	ends := map[int]int{}
	for _, sp := range completion.Sentences(text) {
		ends[sp.Start] = sp.End
	}
	for _, f := range d.found {
		// The sentence must still be where it was checked: otherwise its
		// diagnostics wait for the next run.
		orig := sentenceAt(text, ends, f)
		if orig == "" || c.sentences[orig] {
			continue
		}
		for _, ch := range f.v.Changes {
			old := orig[ch.Start:ch.End]
			if d.ignored[ignoreKey(old, ch.Text)] {
				continue
			}
			diag, err := changeDiagnostic(doc, enc, f.start, ch, orig, f.v.Correction, severity)
			if err != nil {
				continue
			}
			out = append(out, diag)
		}
	}
	return out, doc.Version()
}

// sentenceAt returns the sentence f was found on if text still has it at
// the same place (a sentence of text starts there, ends at ends[f.start],
// and the verdict's changes turn it into the correction), else "".
func sentenceAt(text string, ends map[int]int, f finding) string {
	end, ok := ends[f.start]
	if !ok {
		return ""
	}
	s := text[f.start:end]
	if completion.ApplyChanges(s, f.v.Changes) != f.v.Correction {
		return ""
	}
	return s
}

// changeDiagnostic is the diagnostic of one change of a sentence at start.
func changeDiagnostic(doc textdoc.Snapshot, enc textdoc.Encoding, start int, ch completion.Change, sentence, correction string, severity int) (diagnostic, error) {
	from, err := doc.PositionAt(start+ch.Start, enc)
	if err != nil {
		return diagnostic{}, err
	}
	to, err := doc.PositionAt(start+ch.End, enc)
	if err != nil {
		return diagnostic{}, err
	}
	old, repl := sentence[ch.Start:ch.End], ch.Text
	return diagnostic{
		Range: Range{Start: from, End: to}, Severity: severity, Code: "grammar", Source: "nib",
		Message: changeMessage(old, repl),
		Data:    &diagnosticData{Sentence: sentence, Correction: correction, Old: old, New: repl},
	}, nil
}

// changeMessage says what a change does: "go" → "goes", or the words added
// or removed.
func changeMessage(old, repl string) string {
	switch {
	case strings.TrimSpace(old) == "":
		return fmt.Sprintf("add %q", strings.TrimSpace(repl))
	case strings.TrimSpace(repl) == "":
		return fmt.Sprintf("remove %q", strings.TrimSpace(old))
	}
	return fmt.Sprintf("%q → %q", old, repl)
}

func ignoreKey(old, repl string) string {
	return strings.TrimSpace(old) + "\x00" + strings.TrimSpace(repl)
}

// publish sends the document's diagnostics: a refresh request to a client
// that pulls them (when it takes one), else publishDiagnostics.
func (c *checker) publish(uri string) {
	_, _, caps := c.s.snapshot()
	diags, version := c.diagnostics(uri)
	c.mu.Lock()
	if d := c.docs[uri]; d != nil {
		d.resultID++
	}
	c.mu.Unlock()
	if caps.pullsDiagnostics() {
		if caps.refreshesDiagnostics() {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := c.s.waitInitialized(ctx); err == nil {
					_ = c.s.call(ctx, "workspace/diagnostic/refresh", nil, nil)
				}
			}()
		}
		return
	}
	v := version
	c.s.notify("textDocument/publishDiagnostics", publishDiagnosticsParams{URI: uri, Version: &v, Diagnostics: diags})
}

// pull answers textDocument/diagnostic.
func (c *checker) pull(uri, previous string) documentDiagnosticReport {
	diags, _ := c.diagnostics(uri)
	c.mu.Lock()
	id := ""
	if d := c.docs[uri]; d != nil {
		id = strconv.Itoa(d.resultID)
	}
	c.mu.Unlock()
	if previous != "" && previous == id {
		return documentDiagnosticReport{Kind: "unchanged", ResultID: id}
	}
	return documentDiagnosticReport{Kind: "full", ResultID: id, Items: diags}
}

// ignoreSentence stops flagging sentence anywhere.
func (c *checker) ignoreSentence(sentence string) {
	c.mu.Lock()
	c.sentences[sentence] = true
	c.stats.Ignored++
	uris := slices.Collect(maps.Keys(c.docs))
	c.mu.Unlock()
	for _, uri := range uris {
		c.publish(uri)
	}
}

// ignoreInDocument stops flagging the change old → new in uri.
func (c *checker) ignoreInDocument(uri, old, repl string) error {
	c.mu.Lock()
	d := c.docs[uri]
	if d == nil {
		c.mu.Unlock()
		return fmt.Errorf("%s is not open", uri)
	}
	d.ignored[ignoreKey(old, repl)] = true
	c.stats.Ignored++
	c.mu.Unlock()
	c.publish(uri)
	return nil
}

// snapshotStats returns the counters for nib/stats.
func (c *checker) snapshotStats() checkStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stats
	for _, d := range c.docs {
		st.Pending += d.pending
	}
	return st
}
