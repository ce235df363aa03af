// Package bench measures decode speed, latency and memory (`nib bench`).
package bench
