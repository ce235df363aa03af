package tokenize

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/nib-editor/nib/model/hub"
	"github.com/nib-editor/nib/model/tokenizer"
)

const tokenizeUsage = `usage: nib tokenize --model DIR|HUB-ID

Reads one text per line on stdin, each written as a JSON string such as
"Hello world", and writes its T5 token ids, </s> included, as one JSON
array per line on stdout: [8774,296,1]. The ids are those of Hugging Face
transformers' AutoTokenizer, so the two can be compared line by line.

flags:
`

// maxTokenizeLine bounds one input line; a JSON string of a long document
// fits with room to spare.
const maxTokenizeLine = 64 << 20

// Run implements `nib tokenize`. Output is flushed after each
// line, so it can be driven interactively or through a pipe. Errors name
// the input line at fault.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tokenize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "", "model folder holding tokenizer.json or spiece.model, or a Hugging Face hub id in the cache")
	fs.Usage = func() {
		fmt.Fprint(stderr, tokenizeUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // the usage was asked for and printed
		}
		return fmt.Errorf("tokenize: %w", err)
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("tokenize: unexpected argument %q (texts come on stdin)", fs.Arg(0))
	}
	if *model == "" {
		fs.Usage()
		return errors.New("tokenize: --model is required")
	}
	dir, err := hub.Resolve(*model)
	if err != nil {
		return fmt.Errorf("tokenize: %w", err)
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return err // already says tokenizer: and the folder
	}

	in := bufio.NewScanner(stdin)
	in.Buffer(make([]byte, 0, 64<<10), maxTokenizeLine)
	out := bufio.NewWriter(stdout)
	line := 0
	for in.Scan() {
		line++
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("tokenize: stopped before line %d: %w", line, err)
		}
		var text string
		if err := json.Unmarshal(in.Bytes(), &text); err != nil {
			return fmt.Errorf("tokenize: line %d: want a JSON string such as \"Hello world\": %w", line, err)
		}
		ids, err := json.Marshal(tok.Encode(text))
		if err != nil {
			return fmt.Errorf("tokenize: line %d: %w", line, err)
		}
		out.Write(ids)
		out.WriteByte('\n')
		if err := out.Flush(); err != nil {
			return fmt.Errorf("tokenize: writing the ids of line %d: %w", line, err)
		}
	}
	if err := in.Err(); err != nil {
		return fmt.Errorf("tokenize: reading line %d: %w", line+1, err)
	}
	return nil
}
