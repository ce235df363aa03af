// Package cache holds what outlives a single request: LRU, a generic cache
// with a byte budget, keeps encoder outputs and stored decoder states,
// closing the least recently used ones when the budget is exceeded, and
// counts hits, misses and evictions so that the daemon can report them.
//
// It imports nothing of nib's: what it holds only has to know its size and
// how to close (Value), so the GPU runtime below and the completion service
// above it stay independent of it. Compiled pipelines are not here: they
// belong to the device that compiled them, and package gpu keeps them.
package cache
