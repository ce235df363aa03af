// Package adapters lists the GPU adapters WebGPU offers (`nib adapters`).
package adapters
