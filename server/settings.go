package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"

	"github.com/sourcegraph/jsonrpc2"
	"go.uber.org/zap"

	"github.com/nib-editor/nib/completion"
)

// settings are what a client may configure, through initializationOptions
// and workspace/didChangeConfiguration (PROTOCOL.md, "Settings").
type settings struct {
	Model   string `json:"model"`
	Adapter string `json:"adapter"`
	F16     bool   `json:"f16"`
	// Int8 stores the projections as 8-bit values (a scale per 32):
	// half the memory of f16, logits within about 2e-2 of f32.
	Int8           bool             `json:"int8"`
	MaxInputTokens int              `json:"maxInputTokens"`
	Completion     completeSettings `json:"completion"`
	Rewrite        rewriteSettings  `json:"rewrite"`
	Check          checkSettings    `json:"check"`
	Templates      templates        `json:"templates"`
	Instructions   []instruction    `json:"instructions"`
	QueueSize      int              `json:"queueSize"`
	LoadTimeoutMs  int              `json:"loadTimeoutMs"`
	// EncoderCacheMB and DecoderCacheMB bound the GPU memory of the
	// encoder-output cache and of the decoder states kept for
	// type-through.
	EncoderCacheMB int `json:"encoderCacheMB"`
	DecoderCacheMB int `json:"decoderCacheMB"`
}

type completeSettings struct {
	MaxTokens         int  `json:"maxTokens"`
	StopAtSentenceEnd bool `json:"stopAtSentenceEnd"`
}

type rewriteSettings struct {
	// MaxTokens is the most tokens a rewrite may have; LengthRatio and
	// LengthMargin size each rewrite's budget under it by the selection
	// (completion.RewriteLength), LengthRatio 0 turning that off.
	MaxTokens    int     `json:"maxTokens"`
	LengthRatio  float64 `json:"lengthRatio"`
	LengthMargin int     `json:"lengthMargin"`
	Alternatives int     `json:"alternatives"`
	Strategy     string  `json:"strategy"`
}

// length is the rewrite budget's rule, nil when it is off.
func (r rewriteSettings) length() *completion.RewriteLength {
	if r.LengthRatio == 0 {
		return nil
	}
	return &completion.RewriteLength{Ratio: r.LengthRatio, Margin: r.LengthMargin}
}

// checkSettings configure grammar checking (PROTOCOL.md, "Checking").
type checkSettings struct {
	Enabled     bool   `json:"enabled"`
	Instruction string `json:"instruction"`
	// MaxChangedWords, MaxChangedChars and MinGain are
	// completion.CheckRule's.
	MaxChangedWords int     `json:"maxChangedWords"`
	MaxChangedChars int     `json:"maxChangedChars"`
	MinGain         float64 `json:"minGain"`
	// Languages are the languageIds checked; empty checks every document.
	Languages  []string `json:"languages"`
	DebounceMs int      `json:"debounceMs"`
	// Severity is "information" or "hint".
	Severity string `json:"severity"`
	CacheMB  int    `json:"cacheMB"`
}

// rule is the settings' completion.CheckRule.
func (c checkSettings) rule() completion.CheckRule {
	return completion.CheckRule{MaxChangedWords: c.MaxChangedWords, MaxChangedChars: c.MaxChangedChars, MinGain: c.MinGain}
}

// checks reports whether documents of languageID are checked.
func (c checkSettings) checks(languageID string) bool {
	return c.Enabled && (len(c.Languages) == 0 || slices.Contains(c.Languages, languageID))
}

type templates struct {
	Complete string `json:"complete"`
	Rewrite  string `json:"rewrite"`
}

// instruction is one rewrite offered as a code action.
type instruction struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Instruction string `json:"instruction"`
}

func defaultSettings() settings {
	return settings{
		F16:            true,
		MaxInputTokens: 512,
		Completion:     completeSettings{MaxTokens: 32, StopAtSentenceEnd: true},
		Rewrite: rewriteSettings{MaxTokens: completion.DefaultRewriteMaxTokens, LengthRatio: completion.DefaultRewriteLength.Ratio,
			LengthMargin: completion.DefaultRewriteLength.Margin, Alternatives: 3, Strategy: "diverse"},
		Templates: templates{
			Complete: "{before}<extra_id_0>{after}",
			Rewrite:  "{instruction}:\n\n{text}",
		},
		Instructions: []instruction{
			{ID: "grammar", Title: "Fix grammar", Instruction: "Fix the grammar"},
			{ID: "formal", Title: "Make more formal", Instruction: "Rewrite this text more formally"},
			{ID: "simpler", Title: "Make simpler", Instruction: "Rewrite this text in simpler words"},
			{ID: "shorter", Title: "Make shorter", Instruction: "Shorten this text"},
		},
		Check: checkSettings{
			Instruction: completion.DefaultCheckInstruction, MaxChangedWords: completion.DefaultCheckRule.MaxChangedWords,
			MaxChangedChars: completion.DefaultCheckRule.MaxChangedChars, MinGain: completion.DefaultCheckRule.MinGain,
			Languages: []string{"markdown", "plaintext", "text", "mail", "gitcommit"}, DebounceMs: 750, Severity: "information", CacheMB: 16,
		},
		QueueSize:      16,
		LoadTimeoutMs:  120000,
		EncoderCacheMB: 256,
		DecoderCacheMB: 256,
	}
}

// merge returns st with the fields present in raw replaced: raw is the
// settings object, or an object with them under "nib". Unknown fields are
// ignored; a field of the wrong type or an impossible value is an error
// naming it, and st is not changed.
func (st settings) merge(raw json.RawMessage) (settings, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return st, nil
	}
	var wrapper map[string]json.RawMessage
	if err := json.Unmarshal(raw, &wrapper); err != nil {
		return st, fmt.Errorf("settings are not a JSON object: %s", describeUnmarshalError(err))
	}
	if inner, ok := wrapper["nib"]; ok {
		raw = inner
	}
	next := st
	// Instructions replace the list as a whole, so start from none when
	// the field is present.
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return st, fmt.Errorf("settings.nib is not a JSON object: %s", describeUnmarshalError(err))
	}
	if _, ok := probe["instructions"]; ok {
		next.Instructions = nil
	}
	if err := checkJSON("", raw, reflect.TypeOf(next)); err != nil {
		return st, fmt.Errorf("settings: %v", err)
	}
	if err := json.Unmarshal(raw, &next); err != nil {
		return st, fmt.Errorf("settings: %s", describeUnmarshalError(err))
	}
	if err := next.validate(); err != nil {
		return st, err
	}
	return next, nil
}

func (st settings) validate() error {
	checks := []struct {
		name   string
		v      int
		lo, hi int
	}{
		{"maxInputTokens", st.MaxInputTokens, 8, 4096},
		{"completion.maxTokens", st.Completion.MaxTokens, 1, 512},
		{"rewrite.maxTokens", st.Rewrite.MaxTokens, 1, 1024},
		{"rewrite.alternatives", st.Rewrite.Alternatives, 1, 8},
		{"rewrite.lengthMargin", st.Rewrite.LengthMargin, 0, 1024},
		{"check.maxChangedWords", st.Check.MaxChangedWords, 0, 1 << 20},
		{"check.maxChangedChars", st.Check.MaxChangedChars, 0, 1 << 30},
		{"check.debounceMs", st.Check.DebounceMs, 0, 60000},
		{"check.cacheMB", st.Check.CacheMB, 0, 4096},
		{"queueSize", st.QueueSize, 1, 4096},
		{"loadTimeoutMs", st.LoadTimeoutMs, 1, 3600000},
		{"encoderCacheMB", st.EncoderCacheMB, 0, 1 << 20},
		{"decoderCacheMB", st.DecoderCacheMB, 0, 1 << 20},
	}
	for _, c := range checks {
		if c.v < c.lo || c.v > c.hi {
			return fmt.Errorf("settings: field %q: %d is outside [%d, %d]", c.name, c.v, c.lo, c.hi)
		}
	}
	if r := st.Rewrite.LengthRatio; !(r == 0 || r >= 0.1 && r <= 100) {
		return fmt.Errorf("settings: field \"rewrite.lengthRatio\": %g is neither 0 (off) nor in [0.1, 100]", r)
	}
	if g := st.Check.MinGain; math.IsNaN(g) || math.Abs(g) > 1e6 {
		return fmt.Errorf("settings: field \"check.minGain\": %g is not a number of nats within [-1e6, 1e6]", g)
	}
	if strings.TrimSpace(st.Check.Instruction) == "" {
		return fmt.Errorf("settings: field \"check.instruction\": must not be empty")
	}
	if st.Check.Severity != "information" && st.Check.Severity != "hint" {
		return fmt.Errorf("settings: field \"check.severity\": %q is neither \"information\" nor \"hint\"", st.Check.Severity)
	}
	if _, err := parseStrategy(st.Rewrite.Strategy); err != nil {
		return fmt.Errorf("settings: field \"rewrite.strategy\": %v", err)
	}
	if err := checkTemplates(st.Templates.Complete, st.Templates.Rewrite); err != nil {
		return fmt.Errorf("settings: field \"templates\": %v", err)
	}
	seen := map[string]bool{}
	for i, in := range st.Instructions {
		if strings.TrimSpace(in.Instruction) == "" || strings.TrimSpace(in.Title) == "" {
			return fmt.Errorf("settings: field \"instructions[%d]\": title and instruction must not be empty", i)
		}
		if in.ID != "" && seen[in.ID] {
			return fmt.Errorf("settings: field \"instructions[%d]\": id %q is used twice", i, in.ID)
		}
		seen[in.ID] = true
	}
	return nil
}

// loadSpec is what loading a model depends on: a change reloads it.
type loadSpec struct {
	model, adapter string
	f16, int8      bool
}

func (st settings) loadSpec() loadSpec {
	return loadSpec{model: st.Model, adapter: st.Adapter, f16: st.F16, int8: st.Int8}
}

// didChangeConfiguration merges new settings; a wrong field is reported to
// the user and the previous settings are kept whole. A different model,
// adapter or weight storage reloads the model.
func (s *server) didChangeConfiguration(_ context.Context, req *jsonrpc2.Request) error {
	var p didChangeConfigurationParams
	if err := unmarshalParams(req, &p); err != nil {
		return err
	}
	s.mu.Lock()
	old := s.settings
	next, err := old.merge(p.Settings)
	if err == nil {
		s.settings = next
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.log.Info("settings changed", zap.String("model", next.Model))
	s.eng.configure(next)
	if next.loadSpec() != old.loadSpec() {
		s.startLoad(next)
	}
	s.check.reconfigure()
	return nil
}
