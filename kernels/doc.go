// Package kernels holds nib's WGSL compute kernels, the table that describes
// them, their specialisation and a pure-Go reference for each.
//
// Every kernel is a .wgsl file embedded in the binary. A file is a
// text/template: specialisation (workgroup size, tile sizes, weight dtype)
// fills it in, because the WebGPU binding we use has no pipeline-overridable
// constants. Kernel.Key names one specialisation; the pipeline cache in
// package cache memoises compiled pipelines under that key.
//
// Binding conventions shared by every kernel: group 0, binding 0 is the
// kernel's parameter block (var<uniform> p: Params), bound with a dynamic
// offset so that one uniform buffer holds the parameters of a whole command
// batch; bindings 1..n are the storage buffers listed in Kernel.Buffers, in
// order. Parameters are 32-bit words (u32, i32 or f32), in the order of the
// WGSL struct.
//
// Weights in f16 are stored packed, two per u32 word (low half first), and
// read with unpack2x16float, so f16 weights work on adapters without the
// shader-f16 feature; arithmetic is always f32.
//
// This package imports nothing GPU-specific: package gpu compiles and
// dispatches these kernels.
package kernels
