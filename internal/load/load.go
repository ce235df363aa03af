// Package load opens a model for nib's daemon and its commands: the
// folder checked against its tokenizer, the weights made resident on the
// GPU, a hub id resolved (or pulled, for the terminal commands).
package load

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/model"
	"github.com/nib-editor/nib/model/hub"
	"github.com/nib-editor/nib/model/tokenizer"
)

// OpenFolder opens a model folder: the checkpoint, checked against its
// config, and the tokenizer, checked against the model's vocabulary.
func OpenFolder(dir string) (*model.Checkpoint, *tokenizer.Tokenizer, error) {
	ck, err := model.OpenCheckpoint(dir)
	if err != nil {
		return nil, nil, err
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		ck.Close()
		return nil, nil, err
	}
	if tok.VocabSize() > ck.Config.VocabSize {
		ck.Close()
		return nil, nil, fmt.Errorf("model: %s: the tokenizer has %d pieces, more than the model's vocabulary of %d", dir, tok.VocabSize(), ck.Config.VocabSize)
	}
	return ck, tok, nil
}

// Resident uploads ck to dev and compiles every kernel it will use,
// reporting progress as a message and a percentage (report may be nil).
func Resident(dev *gpu.Device, ck *model.Checkpoint, opts model.Options, report func(msg string, pct int)) (*model.Model, error) {
	if report == nil {
		report = func(string, int) {}
	}
	opts.Progress = func(done, total int64) {
		if total > 0 {
			report("uploading weights", int(90*done/total))
		}
	}
	m, err := model.Load(dev, ck, opts)
	if err != nil {
		return nil, err
	}
	report("compiling kernels", 90)
	if err := m.Warm(); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// ResolveOrPull resolves a model reference, downloading a hub id that is
// not in the Hugging Face cache yet, with a progress bar on progress. Only
// the terminal commands do this; the daemon never opens a connection by
// itself.
func ResolveOrPull(ctx context.Context, ref string, progress io.Writer) (string, error) {
	dir, err := hub.Resolve(ref)
	if err == nil || !errors.Is(err, hub.ErrNotCached) {
		return dir, err
	}
	fmt.Fprintf(progress, "nib: %s is not in the Hugging Face cache; downloading it\n", ref)
	return hub.Pull(ctx, ref, hub.PullOptions{Progress: progress})
}

// WeightsName names a weight storage choice.
func WeightsName(f16, int8 bool) string {
	switch {
	case int8:
		return "int8"
	case f16:
		return "f16"
	}
	return "f32"
}
