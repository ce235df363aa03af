// Package model is FLAN-T5 (and the T5 family) in Go: the configuration,
// the weight table checked against checkpoints, relative position buckets,
// the encoder and decoder forward passes on the GPU. Its tests check them
// against a pure-Go CPU path (cpu_test.go) as a second reference.
//
// Subpackages: safetensors reads checkpoints, tokenizer is T5's
// SentencePiece tokenizer, hub finds and downloads models in the Hugging
// Face cache layout.
package model
