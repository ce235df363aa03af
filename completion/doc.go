// Package completion turns editor requests into model input and model
// output back into text: it builds prompts, runs the decoding strategies
// over the model's decoder, and streams the text as it is decoded. It knows
// plain Go types only (Request, Result, Prompt), never the protocol's, and
// imports model/tokenizer, never cmd/.
//
// # A request's path
//
// An inline completion takes the text on both sides of the cursor and
// builds a T5 span-infilling prompt, "{before}<extra_id_0>{after}" by
// default, trimmed to the token budget at paragraph, sentence or word
// boundaries, nearest text kept (BuildComplete). A rewrite fills
// "{instruction}:\n\n{text}" and refuses a selection over the budget
// (BuildRewrite). Templates come from settings; CheckCompleteTemplate and
// CheckRewriteTemplate validate them when they are set.
//
// The encoder runs on Prompt.IDs, and the decoder, behind the Stepper
// interface, holds one row per request. Decode runs requests that arrived
// together in lockstep on that one Stepper, each with its own Params:
//
//   - Greedy: the argmax at every step.
//   - Beam: Hugging Face's num_beams beam search, length penalty and
//     early-stopping modes included, returning the N best.
//   - Sample: temperature, top-k and top-p, from a generator seeded with
//     (Seed, alternative), so a seed always gives the same text.
//
// Decode expands each request to the rows it needs and drops the rows of
// finished alternatives and of cancelled requests with Stepper.Keep, so
// that no step is spent on work nobody waits for; a request's context is
// checked before and after every step.
//
// For a completion, Params.EOS is </s>, Params.StopIDs holds <extra_id_1>
// (the end of the span T5 fills), and CompleteRequest.StopAtSentenceEnd
// ends an alternative at the end of a sentence (SentenceEnd). The model's answer starts with <extra_id_0>, which
// the tokenizer drops when decoding.
//
// # Text
//
// OutputText is the text of generated ids: the tokenizer's decoding, with
// the first word's space kept where the model put one after a word
// ("Hello" + "▁world" is "Hello world"). The text of a sequence extends
// the text of each of its prefixes, so a caller can stream Request.OnToken's
// ids as deltas that never take text back, except when beam search's best
// sequence changes.
package completion
