package pull

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/nib-editor/nib/model/hub"
)

const pullUsage = `usage: nib pull [--revision R] <hub id>

Downloads the files nib needs from a Hugging Face model repository, such as
google/flan-t5-base, into the Hugging Face cache that Python shares
($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub), and
prints the snapshot folder. Files already there are not downloaded again;
an interrupted pull resumes. $HF_ENDPOINT picks another hub or mirror;
$HF_TOKEN (or the token file of 'hf auth login') is sent for private and
gated repositories.

flags:
`

// Run implements `nib pull`: the snapshot folder goes to stdout,
// so scripts can use it, and progress and usage to stderr.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pull", flag.ContinueOnError)
	fs.SetOutput(stderr)
	revision := fs.String("revision", "", "branch, tag or commit to pull (default main; id@R says the same)")
	fs.Usage = func() {
		fmt.Fprint(stderr, pullUsage)
		fs.PrintDefaults()
	}
	parse := func(args []string) error {
		err := fs.Parse(args)
		if err != nil && !errors.Is(err, flag.ErrHelp) {
			err = fmt.Errorf("pull: %w", err)
		}
		return err
	}
	// Flags may follow the id as well (nib pull google/flan-t5-base
	// --revision v1), so parse, take the id, and parse the rest.
	var id string
	err := parse(args)
	if err == nil {
		if fs.NArg() == 0 {
			fs.Usage()
			return errors.New("pull: no hub id given (such as google/flan-t5-base)")
		}
		id = fs.Arg(0)
		err = parse(fs.Args()[1:])
	}
	if errors.Is(err, flag.ErrHelp) {
		return nil // the usage was asked for and printed
	}
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("pull: one hub id at a time; also got %q", fs.Args())
	}
	dir, err := hub.Pull(ctx, id, hub.PullOptions{Revision: *revision, Progress: stderr})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, dir)
	return err
}
