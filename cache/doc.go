// Package cache holds what outlives a single request: compiled GPU
// pipelines now, and the decoder KV cache and encoder-output cache as the
// model layer grows. Each cache counts hits and misses so that the daemon
// can report them.
package cache
