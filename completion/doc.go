// Package completion turns editor requests into model input and model
// output into text: prompts, decoding strategies and streaming.
package completion
