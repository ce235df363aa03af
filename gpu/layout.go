package gpu

// Kernel layouts differ between GPUs and CPU implementations of Vulkan or
// WebGPU (lavapipe, SwiftShader). A GPU wants many invocations per weight
// row and wide workgroups, so that loads are in flight on every core and a
// step's latency stays short. A CPU runs a workgroup's invocations on one
// thread, a SIMD vector at a time, and every workgroup barrier switches
// between them: it wants one invocation per row, so that no partial sums
// meet in workgroup memory, and narrow attention workgroups. Measured on
// lavapipe (BENCHMARKS.md): 2.3-2.7x on the decode step's products and the
// lm_head, 10x on the self-attention step.

// cpuLayout reports whether d's kernels take the CPU layouts: the adapter
// is a CPU, unless a test forced the other way.
func (d *Device) cpuLayout() bool {
	if d.forceLayout != 0 {
		return d.forceLayout == layoutCPU
	}
	return d.info.Type == "cpu"
}

const (
	layoutGPU = 1 + iota
	layoutCPU
)

// cpuMatvecWG and cpuMatvecRPI are the matrix-vector layout on a CPU: one
// invocation per weight row (2 and 4 were slower on every shape), 32
// invocations per workgroup, each computing 8 output rows so that one load
// of x serves 8 weight loads (against 1, 2 and 4 rows in workgroups of 64
// and 128; BENCHMARKS.md).
const (
	cpuMatvecWG  = 32
	cpuMatvecRPI = 8
)

// cpuPromptWG and cpuPromptRPI are the matrix-vector layout of a prompt's
// rows on a CPU, in blocks of 8 rows of x: 16 weight rows per invocation,
// so that each load of x serves twice as many weight loads as a step's 8,
// in workgroups of one SIMD vector. On lavapipe, flan-t5-small's 64-token
// products took 0.66-0.84 of their time with 8 weight rows per invocation
// in workgroups of 32 (BENCHMARKS.md); 32 rows were slower on 512 outputs
// (one workgroup's worth, half of it spare).
const (
	cpuPromptWG  = 8
	cpuPromptRPI = 16
)

// cpuAttentionRowsWG is the workgroup of kernels.AttentionRows, which a
// CPU takes for Attention: one SIMD vector of queries (lavapipe's is 8
// lanes wide), so that even a decode step's few rows spread over the
// CPU's threads.
const cpuAttentionRowsWG = 8

// cpuLoopLimit is the most loop iterations lavapipe runs in one invocation:
// past it, loops end early and the results are silently wrong. An
// AttentionRows invocation runs up to 3*dv+2 iterations a key (the dot
// product, the sum of values, a rescale, the key loop), unless the
// compiler unrolls the loops over dv (Mesa 22.3 does up to 32), so a CPU
// takes it only for keys that fit, and attention.wgsl otherwise.
const cpuLoopLimit = 65535

// attentionWGOverride, when positive, replaces attentionWG's choice in
// benchmarks that compare workgroup sizes (export_test.go).
var attentionWGOverride int

// attentionWG narrows an attention kernel's workgroup of wg invocations on
// a CPU, where its reductions' barriers cost more than its width gains,
// keeping at least one invocation per element of a head vector of dv.
func (d *Device) attentionWG(wg, dv int) int {
	if attentionWGOverride > 0 {
		return attentionWGOverride
	}
	if d.cpuLayout() {
		return min(wg, max(32, pow2Workgroup(dv, 32, 256)))
	}
	return wg
}

// attentionPreload says whether the decode-step attention kernels, over
// rows of x, load their first chunk of keys and values before anything
// else, into registers: a key of dv vectors of v floats and a slice's
// values per invocation. On a GPU that takes one wait for memory off a
// one-row step's attention (BENCHMARKS.md); at 8 rows it measured slower.
// On a CPU, whose registers are memory, it only copies; heads wider than
// 64 floats would spill.
func (d *Device) attentionPreload(rows, dv, v int) bool {
	return rows == 1 && !d.cpuLayout() && v == 4 && dv <= 16
}
