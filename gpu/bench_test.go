package gpu_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nib-editor/nib/gpu"
)

// Benchmarks time kernels by wall clock over many dispatches per submit,
// waiting for the GPU at the end, so that submission overhead is amortised
// as it is in a decode step. Sizes are those of the H100 targets in
// BENCHMARKS.md and of FLAN-T5's layers; on a software device they take
// minutes, so CI does not run them.

// perSubmit bounds the dispatches recorded into one batch.
const perSubmit = 64

func runDispatches(b *testing.B, record func(*gpu.Batch)) {
	b.Helper()
	batch := dev.NewBatch()
	record(batch) // warm up: compile the pipeline, create bind groups
	submit(b, batch)
	if err := dev.Sync(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		record(batch)
		if batch.Recorded() >= perSubmit || i == b.N-1 {
			submit(b, batch)
		}
	}
	if err := dev.Sync(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkMatMul(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, dtype := range []gpu.DType{gpu.F32, gpu.F16} {
		for _, s := range []int{1024, 2048, 4096} {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", dtype, s, s, s), func(b *testing.B) {
				x := upload(b, randF32(rng, s*s, 1), gpu.F32, s, s)
				w := upload(b, randF32(rng, s*s, 1), dtype, s, s)
				out := scratch(b, gpu.F32, s, s)
				runDispatches(b, func(batch *gpu.Batch) { batch.MatMul(out, x, w) })
				flops := 2 * float64(s) * float64(s) * float64(s)
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// matvecShapes are FLAN-T5-base's decode-step matrices (attention
// projections, gated feed-forward in and out, lm_head) and square matrices
// larger than the H100's 50 MB L2 cache, where only memory bandwidth counts.
var matvecShapes = []struct {
	name string
	n, k int
}{
	{"base-attn", 768, 768},
	{"base-ffn-in", 2048, 768},
	{"base-ffn-out", 768, 2048},
	{"base-lm-head", 32128, 768},
	{"xl-ffn-in", 5120, 2048},
	{"xl-lm-head", 32128, 2048},
	{"8192", 8192, 8192},
}

func BenchmarkMatVec(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, dtype := range []gpu.DType{gpu.F32, gpu.F16} {
		for _, s := range matvecShapes {
			b.Run(fmt.Sprintf("%s/%s_%dx%d", dtype, s.name, s.n, s.k), func(b *testing.B) {
				x := upload(b, randF32(rng, s.k, 1), gpu.F32, 1, s.k)
				w := upload(b, randF32(rng, s.n*s.k, 1), dtype, s.n, s.k)
				out := scratch(b, gpu.F32, 1, s.n)
				runDispatches(b, func(batch *gpu.Batch) { batch.MatMul(out, x, w) })
				bytes := float64(w.Bytes()) + 4*float64(s.k+s.n)
				b.ReportMetric(bytes*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
		}
	}
}

// BenchmarkCopy measures a device-to-device buffer copy, the yardstick for
// the matrix-vector target. GB/s counts bytes read plus bytes written.
func BenchmarkCopy(b *testing.B) {
	for _, mb := range []int{64, 256, 1024} {
		b.Run(fmt.Sprintf("%dMB", mb), func(b *testing.B) {
			if uint64(mb)<<20 > dev.MaxStorageBinding() {
				b.Skipf("%d MB exceeds this adapter's %d-byte buffers", mb, dev.MaxStorageBinding())
			}
			n := mb << 20 / 4
			src := scratch(b, gpu.F32, n)
			dst := scratch(b, gpu.F32, n)
			runDispatches(b, func(batch *gpu.Batch) { batch.Copy(dst, src) })
			b.ReportMetric(2*float64(src.Bytes())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}

// BenchmarkAttention times T5 attention as FLAN-T5-base runs it (12 heads
// of 64): a decode step over a growing self-attention cache, and the
// encoder over a 512-token input.
func BenchmarkAttention(b *testing.B) {
	rng := rand.New(rand.NewPCG(11, 12))
	const heads, dim, buckets = 12, 64, 32
	cases := []struct {
		name   string
		tq, tk int
		causal bool
	}{
		{"decode-64", 1, 64, true},
		{"decode-256", 1, 256, true},
		{"decode-1024", 1, 1024, true},
		{"encoder-512", 512, 512, false},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			hd := heads * dim
			q := upload(b, randF32(rng, c.tq*hd, 1), gpu.F32, 1, c.tq, hd)
			k := upload(b, randF32(rng, c.tk*hd, 1), gpu.F32, 1, c.tk, hd)
			v := upload(b, randF32(rng, c.tk*hd, 1), gpu.F32, 1, c.tk, hd)
			bias := upload(b, randF32(rng, buckets*heads, 1), gpu.F32, buckets, heads)
			table := make([]uint32, 2*c.tk-1)
			for i := range table {
				table[i] = uint32(rng.IntN(buckets))
			}
			bk := uploadU32(b, table)
			out := scratch(b, gpu.F32, 1, c.tq, hd)
			args := gpu.AttentionArgs{Heads: heads, HeadDim: dim, Bias: bias, Buckets: bk, Mask: gpu.Mask{Causal: c.causal}}
			runDispatches(b, func(batch *gpu.Batch) { batch.Attention(out, q, k, v, args) })
		})
	}
}
