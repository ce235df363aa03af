package forward

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/nib-editor/nib/cmd/lsp/internal/cli"
	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/internal/load"
	"github.com/nib-editor/nib/model"
	"github.com/nib-editor/nib/model/hub"
	"github.com/nib-editor/nib/model/safetensors"
)

const forwardUsage = `usage: nib forward --model DIR|HUB-ID --reference FILE [flags]

Runs every case of a reference file (inputs and transformers' outputs, as in
../shared/fixtures/*/reference.safetensors) through the model on the GPU and
compares encoder outputs and logits within --tolerance and greedy ids
exactly. Exits 1 if any case fails.

flags:
`

// Run runs every case of a reference file (the format of
// ../shared/fixtures/*/reference.safetensors) through the GPU model and
// compares: encoder output and teacher-forced logits by the maximum error
// relative to the largest reference value, greedy ids exactly.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("forward", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("model", "", "model folder or Hugging Face hub id (required)")
	refPath := fs.String("reference", "", "reference .safetensors file (required)")
	f16 := fs.Bool("f16", false, "store weights in f16 (arithmetic stays f32)")
	int8 := fs.Bool("int8", false, "store projections as 8-bit values with a scale per 32 (embeddings f16)")
	tol := fs.Float64("tolerance", 1e-4, "largest accepted error relative to the largest reference value")
	adapter := fs.String("adapter", "", "GPU adapter: index or name substring (default $"+gpu.AdapterEnv+")")
	logLevel := cli.LogLevel(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, forwardUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *refPath == "" {
		fs.Usage()
		return errors.New("forward: --model and --reference are required")
	}
	folder, err := hub.Resolve(*dir)
	if err != nil {
		return err
	}
	ck, err := model.OpenCheckpoint(folder)
	if err != nil {
		return err
	}
	defer ck.Close()
	ref, err := safetensors.Open(*refPath)
	if err != nil {
		return err
	}
	defer ref.Close()
	dev, err := gpu.Open(gpu.Options{Adapter: *adapter, Logger: cli.Logger(stderr, *logLevel)})
	if err != nil {
		return err
	}
	defer dev.Close()
	m, err := model.Load(dev, ck, model.Options{F16: *f16, Int8: *int8})
	if err != nil {
		return err
	}
	defer m.Close()
	fmt.Fprintf(stdout, "model %s on %s, weights %s, tolerance %g\n", folder, dev.Info(), load.WeightsName(*f16, *int8), *tol)

	cases := referenceCases(ref)
	if len(cases) == 0 {
		return fmt.Errorf("forward: %s holds no case*.input_ids or batch.input_ids", *refPath)
	}
	for _, name := range cases {
		if err := checkExpected(ref, name); err != nil {
			return fmt.Errorf("forward: %s: %w", *refPath, err)
		}
	}
	failed := 0
	for _, name := range cases {
		r, err := runCase(ctx, m, ref, name)
		if err != nil {
			return fmt.Errorf("forward: %s: %s: %w", *refPath, name, err)
		}
		ok := r.ok(*tol)
		if !ok {
			failed++
		}
		fmt.Fprintf(stdout, "%-6s %s\n", name, r.format(*tol))
	}
	if failed > 0 {
		return fmt.Errorf("forward: %d of %d cases failed", failed, len(cases))
	}
	fmt.Fprintf(stdout, "all %d cases pass\n", len(cases))
	return nil
}

// referenceCases lists the case prefixes in ref: case0, case1, ..., batch.
func referenceCases(ref *safetensors.File) []string {
	var cases []string
	for _, n := range ref.Names() {
		if p, ok := strings.CutSuffix(n, ".input_ids"); ok {
			cases = append(cases, p)
		}
	}
	sort.Slice(cases, func(i, j int) bool {
		a, aerr := strconv.Atoi(strings.TrimPrefix(cases[i], "case"))
		b, berr := strconv.Atoi(strings.TrimPrefix(cases[j], "case"))
		if aerr == nil && berr == nil {
			return a < b
		}
		return cases[i] < cases[j]
	})
	return cases
}

// expectedOutputs are the tensors a case may hold for forward to compare,
// after the case's name and a dot.
var expectedOutputs = []string{"encoder_last_hidden_state", "logits", "greedy_ids"}

// checkExpected refuses a case with nothing to compare, which would
// otherwise pass having checked nothing.
func checkExpected(ref *safetensors.File, name string) error {
	want := make([]string, len(expectedOutputs))
	for i, out := range expectedOutputs {
		want[i] = name + "." + out
		if _, ok := ref.Tensor(want[i]); ok {
			return nil
		}
	}
	return fmt.Errorf("case %s has %s.input_ids but no expected outputs to compare (none of %s)", name, name, strings.Join(want, ", "))
}

// caseResult holds one case's comparisons; a negative error means the
// reference has no such tensor.
type caseResult struct {
	encoderErr, logitsErr float64
	greedy                string // "", "match", or what differed
}

func (r caseResult) ok(tol float64) bool {
	return r.encoderErr <= tol && r.logitsErr <= tol && (r.greedy == "" || r.greedy == "match")
}

func (r caseResult) format(tol float64) string {
	var parts []string
	mark := func(e float64) string {
		if e > tol {
			return fmt.Sprintf("%.2e FAIL", e)
		}
		return fmt.Sprintf("%.2e", e)
	}
	if r.encoderErr >= 0 {
		parts = append(parts, "encoder "+mark(r.encoderErr))
	}
	if r.logitsErr >= 0 {
		parts = append(parts, "logits "+mark(r.logitsErr))
	}
	if r.greedy != "" {
		g := "greedy " + r.greedy
		if r.greedy != "match" {
			g += " FAIL"
		}
		parts = append(parts, g)
	}
	return strings.Join(parts, "  ")
}

func runCase(ctx context.Context, m *model.Model, ref *safetensors.File, name string) (caseResult, error) {
	res := caseResult{encoderErr: -1, logitsErr: -1}
	inputs, err := idRows(ref, name+".input_ids")
	if err != nil {
		return res, err
	}
	if _, ok := ref.Tensor(name + ".attention_mask"); ok {
		mask, err := idRows(ref, name+".attention_mask")
		if err != nil {
			return res, err
		}
		for i := range inputs {
			n := 0
			for _, v := range mask[i] {
				n += v
			}
			inputs[i] = inputs[i][:n]
		}
	}
	enc, err := m.Encode(inputs)
	if err != nil {
		return res, err
	}
	defer enc.Close()
	if want, ok := ref.Tensor(name + ".encoder_last_hidden_state"); ok {
		got, err := enc.Hidden()
		if err != nil {
			return res, err
		}
		if res.encoderErr, err = relErr(got, want); err != nil {
			return res, err
		}
	}
	if want, ok := ref.Tensor(name + ".logits"); ok {
		dec, err := idRows(ref, name+".decoder_input_ids")
		if err != nil {
			return res, err
		}
		d, err := m.NewDecoder(enc, len(dec[0]))
		if err != nil {
			return res, err
		}
		got, err := d.Logits(dec)
		d.Close()
		if err != nil {
			return res, err
		}
		if res.logitsErr, err = relErr(got, want); err != nil {
			return res, err
		}
	}
	if _, ok := ref.Tensor(name + ".greedy_ids"); ok {
		want, err := idRows(ref, name+".greedy_ids")
		if err != nil {
			return res, err
		}
		steps := len(want[0]) - 1
		d, err := m.NewDecoder(enc, steps)
		if err != nil {
			return res, err
		}
		got, err := d.Greedy(ctx, steps, false)
		d.Close()
		if err != nil {
			return res, err
		}
		res.greedy = "match"
		for i := range want {
			row := append([]int{m.Config().DecoderStartID}, got[i]...)
			if fmt.Sprint(row) != fmt.Sprint(want[i]) {
				res.greedy = fmt.Sprintf("row %d: got %v, want %v", i, row, want[i])
				break
			}
		}
	}
	return res, nil
}

// idRows reads an integer [B, T] reference tensor as rows.
func idRows(ref *safetensors.File, name string) ([][]int, error) {
	t, ok := ref.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("no tensor %q", name)
	}
	if len(t.Shape) != 2 {
		return nil, fmt.Errorf("tensor %q has shape %v, want [batch, length]", name, t.Shape)
	}
	v, err := t.Int64()
	if err != nil {
		return nil, err
	}
	rows := make([][]int, t.Shape[0])
	for i := range rows {
		rows[i] = make([]int, t.Shape[1])
		for j := range rows[i] {
			rows[i][j] = int(v[i*t.Shape[1]+j])
		}
	}
	return rows, nil
}

// relErr is max|got-want| / max|want|.
func relErr(got []float32, want safetensors.Tensor) (float64, error) {
	w, err := want.Float32()
	if err != nil {
		return 0, err
	}
	if len(w) != len(got) {
		return 0, fmt.Errorf("tensor %q has %d values, the model gave %d", want.Name, len(w), len(got))
	}
	var maxErr, maxRef float64
	for i := range w {
		d := math.Abs(float64(got[i]) - float64(w[i]))
		if math.IsNaN(d) {
			return math.Inf(1), nil
		}
		maxErr = max(maxErr, d)
		maxRef = max(maxRef, math.Abs(float64(w[i])))
	}
	if maxRef == 0 {
		return maxErr, nil
	}
	return maxErr / maxRef, nil
}
