// Package cache holds what outlives a single request: compiled GPU
// pipelines now, and the decoder KV cache and encoder-output cache as the
// model layer grows. Each cache counts hits and misses so that the daemon
// can report them. LRU, a generic cache with a byte budget, holds encoder
// outputs and stored decoder states, closing the least recently used ones
// when the budget is exceeded.
package cache
