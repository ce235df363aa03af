// Package tokenize prints T5 token ids of JSON strings (`nib tokenize`).
package tokenize
