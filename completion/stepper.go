package completion

import (
	"context"

	"github.com/nib-editor/nib/model"
)

// Stepper advances rows of a decoder in lockstep: each row is one sequence being generated.
type Stepper interface {
	// Rows returns the number of live rows.
	Rows() int
	// Step feeds one token per row (len(tokens) == Rows()) at the next position and returns, per row,
	// the k most likely next tokens, best first, with their log-probabilities (log-softmax of the logits,
	// over the whole vocabulary). k >= 1. Ties go to the lower id.
	Step(ctx context.Context, tokens []int, k int) ([]model.Candidates, error)
	// Keep rearranges rows: afterwards row i continues what row rows[i] was (its whole history).
	// Rows may repeat (beam search duplicates a beam) or be left out (finished or cancelled rows).
	// len(rows) >= 1.
	Keep(rows []int) error
}
