package completion_test

import (
	"context"
	"fmt"

	"github.com/nib-editor/nib/completion"
	"github.com/nib-editor/nib/model"
)

// counter is a stand-in decoder whose rows always continue with the token
// after the last one fed, with probability 0.9.
type counter struct{ last []int }

func (c *counter) Rows() int { return len(c.last) }

func (c *counter) Step(_ context.Context, tokens []int, k int) ([]model.Candidates, error) {
	out := make([]model.Candidates, len(tokens))
	for i, t := range tokens {
		c.last[i] = t
		out[i] = model.Candidates{IDs: []int{t + 1}, LogProbs: []float32{-0.105}}
	}
	return out, nil
}

func (c *counter) Keep(rows []int) error {
	last := make([]int, len(rows))
	for i, r := range rows {
		last[i] = c.last[r]
	}
	c.last = last
	return nil
}

func ExampleDecode() {
	s := &counter{last: make([]int, 1)} // one encoded request
	res := completion.Decode(s, 0, []completion.Request{{
		Params:  completion.Params{Strategy: completion.Greedy, MaxTokens: 10, EOS: 4},
		OnToken: func(alt int, ids []int) { fmt.Println("so far", ids) },
	}})
	a := res[0].Alternatives[0]
	fmt.Printf("%v %s %.3f %v\n", a.IDs, a.Finish, a.LogProb, res[0].Err)
	// Output:
	// so far [1]
	// so far [1 2]
	// so far [1 2 3]
	// [1 2 3] eos -0.420 <nil>
}
