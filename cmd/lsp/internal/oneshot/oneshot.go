package oneshot

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"go.uber.org/zap/zapcore"

	"github.com/nib-editor/nib/cmd/lsp/internal/cli"
	"github.com/nib-editor/nib/completion"
	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/internal/load"
	"github.com/nib-editor/nib/model"
)

// The terminal commands, for trying nib without an editor:
//
//	nib complete --model google/flan-t5-small "The meeting is moved to"
//	echo "me and him goes" | nib rewrite --instruction "Fix the grammar"
//
// They take the text from their arguments or stdin, use the Hugging Face
// cache (pulling the model on first use, with a progress bar on stderr),
// and stream the generated text to stdout as it is decoded.

const defaultOneShotModel = "google/flan-t5-small"

// oneShotFlags are the flags both commands share.
type oneShotFlags struct {
	model, adapter    string
	f16               bool
	maxTokens, n      int
	strategy          string
	temperature, topP float64
	topK              int
	seed              uint64
	maxInput          int
	logLevel          *zapcore.Level
}

func (o *oneShotFlags) register(fs *flag.FlagSet, maxTokens int, strategy string, n int) {
	def := os.Getenv("NIB_MODEL")
	if def == "" {
		def = defaultOneShotModel
	}
	fs.StringVar(&o.model, "model", def, "model folder or Hugging Face hub id (default $NIB_MODEL, else "+defaultOneShotModel+")")
	fs.StringVar(&o.adapter, "adapter", "", "GPU adapter: index or name substring")
	fs.BoolVar(&o.f16, "f16", true, "store weights in f16 (feed-forward outputs and lm_head stay f32)")
	maxHelp := "most tokens to generate"
	if maxTokens == 0 {
		maxHelp = fmt.Sprintf("most tokens to generate; 0 sizes it by the text: %g times its tokens plus %d, at most %d",
			completion.DefaultRewriteLength.Ratio, completion.DefaultRewriteLength.Margin, completion.DefaultRewriteMaxTokens)
	}
	fs.IntVar(&o.maxTokens, "max-tokens", maxTokens, maxHelp)
	fs.IntVar(&o.n, "n", n, "alternatives to print")
	fs.StringVar(&o.strategy, "strategy", strategy, "greedy, beam, sample or diverse (the greedy answer first, the others sampled and near-duplicates dropped)")
	fs.Float64Var(&o.temperature, "temperature", 0, "sampling temperature; 0 is the strategy's own (1, or 0.7 for diverse)")
	fs.Float64Var(&o.topP, "top-p", 0, "sampling nucleus; 0 is the strategy's own (1, or 0.9 for diverse)")
	fs.IntVar(&o.topK, "top-k", completion.DefaultTopK, "sampling candidates per step")
	fs.Uint64Var(&o.seed, "seed", 0, "sampling seed")
	fs.IntVar(&o.maxInput, "max-input-tokens", 512, "prompt budget in tokens")
	o.logLevel = cli.LogLevel(fs)
}

func (o *oneShotFlags) params() (completion.Params, error) {
	s, err := completion.ParseStrategy(o.strategy)
	if err != nil {
		return completion.Params{}, err
	}
	if s == completion.Greedy && o.n > 1 {
		return completion.Params{}, fmt.Errorf("--n %d needs --strategy diverse, beam or sample: greedy decoding has one answer", o.n)
	}
	maxTokens := o.maxTokens
	if maxTokens == 0 { // sized by the text (rewrite), under this cap
		maxTokens = completion.DefaultRewriteMaxTokens
	}
	p := completion.Params{Strategy: s, N: o.n, MaxTokens: maxTokens, Temperature: o.temperature, TopP: o.topP, TopK: o.topK, Seed: o.seed}
	return p, p.Validate()
}

// inputText is the text from the arguments, or stdin when there are none.
func inputText(args []string, stdin io.Reader) (string, error) {
	if len(args) > 0 {
		return strings.Join(args, " "), nil
	}
	if stdin == nil {
		return "", errors.New("no text given: pass it as an argument or on stdin")
	}
	b, err := io.ReadAll(io.LimitReader(stdin, 64<<20))
	if err != nil {
		return "", fmt.Errorf("reading stdin: %w", err)
	}
	text := strings.TrimRight(string(b), "\r\n")
	if strings.TrimSpace(text) == "" {
		return "", errors.New("no text given: pass it as an argument or on stdin")
	}
	return text, nil
}

// oneShotService loads the model and starts a completion service on it.
func oneShotService(ctx context.Context, o *oneShotFlags, stderr io.Writer) (*completion.Service, func(), error) {
	dir, err := load.ResolveOrPull(ctx, o.model, stderr)
	if err != nil {
		return nil, nil, err
	}
	ck, tok, err := load.OpenFolder(dir)
	if err != nil {
		return nil, nil, err
	}
	defer ck.Close()
	dev, err := gpu.Open(gpu.Options{Adapter: o.adapter, Logger: cli.Logger(stderr, *o.logLevel)})
	if err != nil {
		return nil, nil, err
	}
	// The upload's progress redraws one line on a terminal; a pipe or a
	// log file gets none of it.
	var report func(string, int)
	if cli.IsTerminal(stderr) {
		last := -1
		report = func(msg string, pct int) {
			if pct/10 != last/10 {
				fmt.Fprintf(stderr, "\rnib: %s %3d%%", msg, pct)
				last = pct
			}
		}
		defer fmt.Fprint(stderr, "\r\033[K")
	}
	m, err := load.Resident(dev, ck, model.Options{F16: o.f16}, report)
	if err != nil {
		dev.Close()
		return nil, nil, err
	}
	svc := completion.NewService(m, tok, completion.ServiceOptions{})
	return svc, func() { svc.Close(); m.Close(); dev.Close() }, nil
}

// printer streams alternative 0 to out as it grows and prints each other
// one on its own line when it arrives whole (diverse rewrites) or at the
// end; when more than one was asked for, each is numbered from [1].
// On a terminal a changed best beam redraws the line; elsewhere (a pipe,
// a file) streaming stops at the first change and the final text follows,
// so that the output holds no control characters.
type printer struct {
	mu      sync.Mutex
	out     io.Writer
	tty     bool
	number  bool // prefix each alternative with [i]
	started bool // the first alternative's prefix is out
	shown   string
	stopped bool
	ended   bool         // the first alternative's line is ended
	printed map[int]bool // later alternatives already printed
}

func newPrinter(out io.Writer, n int) *printer {
	return &printer{out: out, tty: cli.IsTerminal(out), number: n > 1, printed: map[int]bool{}}
}

// callback returns the streaming callback for a strategy: none for beam
// search off a terminal, whose best beam may change (a pipe gets the final
// text only).
func (p *printer) callback(s completion.Strategy) func(int, string) {
	if s == completion.Beam && !p.tty {
		return nil
	}
	return p.onText
}

// label is alternative i's prefix.
func (p *printer) label(i int) string {
	if !p.number {
		return ""
	}
	return fmt.Sprintf("[%d] ", i+1)
}

// start writes the first alternative's prefix once.
func (p *printer) start() {
	if !p.started {
		io.WriteString(p.out, p.label(0))
		p.started = true
	}
}

func (p *printer) onText(alt int, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if alt != 0 {
		// Sent whole, once the first alternative has ended.
		if !p.ended {
			p.start()
			io.WriteString(p.out, "\n")
			p.ended = true
		}
		fmt.Fprintf(p.out, "%s%s\n", p.label(alt), text)
		p.printed[alt] = true
		return
	}
	switch {
	case p.stopped || p.ended:
	case strings.HasPrefix(text, p.shown):
		p.start()
		io.WriteString(p.out, text[len(p.shown):])
		p.shown = text
	case p.tty:
		// Beam search changed its best: redraw the line.
		fmt.Fprintf(p.out, "\r\033[K%s%s", p.label(0), text)
		p.shown = text
	default:
		p.stopped = true
	}
}

// finish prints the final alternatives: the first completes the streamed
// line, the others not printed yet follow numbered.
func (p *printer) finish(out *completion.Output) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(out.Alternatives) == 0 {
		fmt.Fprintln(p.out)
		return
	}
	if !p.ended {
		first := out.Alternatives[0].Text
		switch {
		case !p.started:
			fmt.Fprintf(p.out, "%s%s", p.label(0), first)
		case first == p.shown:
		case strings.HasPrefix(first, p.shown):
			io.WriteString(p.out, first[len(p.shown):])
		case p.tty:
			fmt.Fprintf(p.out, "\r\033[K%s%s", p.label(0), first)
		default:
			fmt.Fprintf(p.out, "\n%s%s", p.label(0), first)
		}
		fmt.Fprintln(p.out)
	}
	for i, a := range out.Alternatives {
		if i > 0 && !p.printed[i] {
			fmt.Fprintf(p.out, "%s%s\n", p.label(i), a.Text)
		}
	}
}

// Complete implements `nib complete`: it continues a text, streaming it to
// stdout.
func Complete(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("complete", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o oneShotFlags
	o.register(fs, 32, "greedy", 1)
	after := fs.String("after", "", "text after the cursor")
	sentence := fs.Bool("sentence", false, "stop at the end of a sentence")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: nib complete [flags] [TEXT]\n\nContinues TEXT (or stdin) and streams the continuation to stdout.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	text, err := inputText(fs.Args(), stdin)
	if err != nil {
		return fmt.Errorf("complete: %w", err)
	}
	params, err := o.params()
	if err != nil {
		return fmt.Errorf("complete: %w", err)
	}
	svc, closeFn, err := oneShotService(ctx, &o, stderr)
	if err != nil {
		return err
	}
	defer closeFn()
	p := newPrinter(stdout, params.N)
	out, err := svc.Complete(ctx, completion.CompleteRequest{
		Before: text, After: *after, MaxInputTokens: o.maxInput, Params: params,
		StopAtSentenceEnd: *sentence, OnText: p.callback(params.Strategy),
	})
	if err != nil {
		return fmt.Errorf("complete: %w", err)
	}
	p.finish(out)
	return nil
}

// Rewrite implements `nib rewrite`: it rewrites a text by an instruction,
// streaming the rewriting to stdout.
func Rewrite(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rewrite", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o oneShotFlags
	o.register(fs, 0, "diverse", 1)
	instruction := fs.String("instruction", "Fix the grammar", "what to do with the text")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: nib rewrite [flags] [TEXT]\n\nRewrites TEXT (or stdin) by --instruction and streams the result to stdout.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if strings.TrimSpace(*instruction) == "" {
		return errors.New("rewrite: --instruction is empty")
	}
	text, err := inputText(fs.Args(), stdin)
	if err != nil {
		return fmt.Errorf("rewrite: %w", err)
	}
	params, err := o.params()
	if err != nil {
		return fmt.Errorf("rewrite: %w", err)
	}
	svc, closeFn, err := oneShotService(ctx, &o, stderr)
	if err != nil {
		return err
	}
	defer closeFn()
	p := newPrinter(stdout, params.N)
	req := completion.RewriteRequest{
		Instruction: *instruction, Text: text, MaxInputTokens: o.maxInput, Params: params, OnText: p.callback(params.Strategy),
	}
	if o.maxTokens == 0 {
		req.Params.MaxTokens = completion.DefaultRewriteMaxTokens
		req.Length = &completion.DefaultRewriteLength
	}
	out, err := svc.Rewrite(ctx, req)
	if err != nil {
		return fmt.Errorf("rewrite: %w", err)
	}
	p.finish(out)
	return nil
}
