// Package gpu is nib's WebGPU compute runtime: adapter choice, the device
// and its limits, tensors in GPU buffers, a buffer pool, compiled pipelines,
// command batches that record many kernel dispatches and submit once, and
// readback of small results.
//
// Everything that touches github.com/cogentcore/webgpu lives here; packages
// above see Device, Tensor, Batch and the operations on Batch (one file per
// operation, op_*.go), which choose and specialise kernels from package
// kernels.
//
// Errors while recording a batch are sticky: the first one is kept and
// returned by Submit, so a forward pass can record dozens of operations and
// check once. A lost device turns every later call into an error wrapping
// ErrDeviceLost.
package gpu
