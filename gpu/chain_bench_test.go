package gpu_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nib-editor/nib/gpu"
)

// BenchmarkDecodeChain times each kernel of a FLAN-T5-base decode step as
// the step runs it: a plan of 50 dispatches of one kernel, each writing
// the buffer the previous one wrote (so the GPU waits between them, as it
// does between a step's dependent dispatches), replayed and waited for.
// Reported in µs per dispatch: the kernel's latency plus the barrier, the
// number a step's time is the sum of.
func BenchmarkDecodeChain(b *testing.B) {
	rng := rand.New(rand.NewPCG(71, 72))
	const d, inner, ff, heads, dkv, vocab, capacity, pos, encLen = 768, 768, 2048, 12, 64, 32128, 1024, 128, 64
	x := upload(b, randF32(rng, d, 1), gpu.F32, 1, d)
	xf := upload(b, randF32(rng, ff, 1), gpu.F32, 1, ff)
	res := upload(b, randF32(rng, d, 1), gpu.F32, 1, d)
	qkvW := upload(b, randF32(rng, 3*inner*d, 0.05), gpu.F16, 3*inner, d)
	oW := upload(b, randF32(rng, d*inner, 0.05), gpu.F16, d, inner)
	ffW := upload(b, randF32(rng, 2*ff*d, 0.05), gpu.F16, 2*ff, d)
	oW8 := upload(b, randF32(rng, d*inner, 0.05), gpu.Q8, d, inner)
	ffW8 := upload(b, randF32(rng, 2*ff*d, 0.05), gpu.Q8, 2*ff, d)
	woW := upload(b, randF32(rng, d*ff, 0.05), gpu.F32, d, ff)
	lmW := upload(b, randF32(rng, vocab*d, 0.05), gpu.F32, vocab, d)
	qkv := upload(b, randF32(rng, 3*inner, 1), gpu.F32, 1, 3*inner)
	kc := upload(b, randF32(rng, capacity*inner, 1), gpu.F32, 1, capacity, inner)
	vc := upload(b, randF32(rng, capacity*inner, 1), gpu.F32, 1, capacity, inner)
	bias := upload(b, randF32(rng, 32*heads, 1), gpu.F32, 32, heads)
	buckets := uploadU32(b, make([]uint32, 2*capacity-1))
	state := uploadU32(b, []uint32{pos, 0, 0, 0})
	state32 := uploadU32(b, []uint32{32, 0, 0, 0})
	cq := upload(b, randF32(rng, inner, 1), gpu.F32, 1, 1, inner)
	ck := upload(b, randF32(rng, encLen*inner, 1), gpu.F32, 1, encLen, inner)
	lens := uploadU32(b, []uint32{encLen})
	rows := uploadU32(b, []uint32{0})
	emb := upload(b, randF32(rng, vocab*d, 1), gpu.F16, vocab, d)
	ids := uploadU32(b, []uint32{5}, 1, 1)
	logits := upload(b, randF32(rng, vocab, 1), gpu.F32, 1, vocab)
	topIDs, topLP := scratch(b, gpu.U32, 1, 1), scratch(b, gpu.F32, 1, 1)
	outD := scratch(b, gpu.F32, 1, d)
	outQKV := scratch(b, gpu.F32, 1, 3*inner)
	outFF := scratch(b, gpu.F32, 1, ff)
	outI := scratch(b, gpu.F32, 1, 1, inner)
	outLM := scratch(b, gpu.F32, 1, vocab)
	small := scratch(b, gpu.F32, 4)
	outI2 := scratch(b, gpu.F32, 1, inner)
	lmW16 := upload(b, randF32(rng, vocab*d, 0.05), gpu.F16, vocab, d)
	part := scratch(b, gpu.U32, dev.ArgmaxPartials(1, vocab, d, gpu.F16))
	lmW8 := upload(b, randF32(rng, vocab*d, 0.05), gpu.Q8, vocab, d)
	part8 := scratch(b, gpu.U32, dev.ArgmaxPartials(1, vocab, d, gpu.Q8))
	kernels := []struct {
		name string
		rec  func(*gpu.Batch)
	}{
		{"add-4 (floor)", func(p *gpu.Batch) { p.Add(small, small2(b), small2(b)) }},
		{"embedding", func(p *gpu.Batch) { p.Embedding(outD, emb, ids) }},
		{"norm+qkv f16 2304x768", func(p *gpu.Batch) { p.FMatVec(outQKV, x, qkvW, gpu.FusedArgs{Norm: true, Eps: 1e-6}) }},
		{"attnstep 12x64 pos128", func(p *gpu.Batch) {
			p.AttnStep(outI, qkv, kc, vc, gpu.AttnStepArgs{Heads: heads, HeadDim: dkv, Bias: bias, Buckets: buckets, State: state})
		}},
		{"attnstep 12x64 pos32", func(p *gpu.Batch) {
			p.AttnStep(outI, qkv, kc, vc, gpu.AttnStepArgs{Heads: heads, HeadDim: dkv, Bias: bias, Buckets: buckets, State: state32})
		}},
		{"o+res f16 768x768", func(p *gpu.Batch) { p.FMatVec(outD, x, oW, gpu.FusedArgs{Res: res}) }},
		{"cross attention 12x64 tk64", func(p *gpu.Batch) {
			p.Attention(outI, cq, ck, ck, gpu.AttentionArgs{Heads: heads, HeadDim: dkv, Mask: gpu.Mask{KeyLens: lens}, KVRows: rows})
		}},
		{"norm+gated ffn f16 2x2048x768", func(p *gpu.Batch) {
			p.FMatVec(outFF, x, ffW, gpu.FusedArgs{Norm: true, Eps: 1e-6, Gate: true, Act: "gelu_new"})
		}},
		{"wo+res f32 768x2048", func(p *gpu.Batch) { p.FMatVec(outD, xf, woW, gpu.FusedArgs{Res: res}) }},
		{"norm+lm_head f32 32128x768", func(p *gpu.Batch) { p.FMatVec(outLM, x, lmW, gpu.FusedArgs{Norm: true, Eps: 1e-6}) }},
		{"topk k=1 32128", func(p *gpu.Batch) { p.TopK(topIDs, topLP, logits, 1) }},
		{"attn cross fused 12x64 tk64", func(p *gpu.Batch) {
			p.AttnCross(outI2, x, oW, ck, ck, gpu.ProjArgs{Heads: heads, HeadDim: dkv, Eps: 1e-6, KeyLens: lens, KVRows: rows})
		}},
		// int8 weights (--int8) in the same places.
		{"o+res q8 768x768", func(p *gpu.Batch) { p.FMatVec(outD, x, oW8, gpu.FusedArgs{Res: res}) }},
		{"norm+gated ffn q8 2x2048x768", func(p *gpu.Batch) {
			p.FMatVec(outFF, x, ffW8, gpu.FusedArgs{Norm: true, Eps: 1e-6, Gate: true, Act: "gelu_new"})
		}},
		{"attn cross fused q8 12x64 tk64", func(p *gpu.Batch) {
			p.AttnCross(outI2, x, oW8, ck, ck, gpu.ProjArgs{Heads: heads, HeadDim: dkv, Eps: 1e-6, KeyLens: lens, KVRows: rows})
		}},
		{"norm+lm_head q8 + argmax 32128x768", func(p *gpu.Batch) {
			p.FMatVec(outLM, x, lmW8, gpu.FusedArgs{Norm: true, Eps: 1e-6, Argmax: part8})
			p.ArgmaxCombine(topIDs, topLP, part8, 1, vocab, d, gpu.Q8)
		}},
		// The lm_head's parts apart: the product alone, with the norm,
		// and as MatMul runs it (FMatVec with nothing fused).
		{"lm_head f16 32128x768", func(p *gpu.Batch) { p.FMatVec(outLM, x, lmW16, gpu.FusedArgs{}) }},
		{"norm+lm_head f16 32128x768", func(p *gpu.Batch) { p.FMatVec(outLM, x, lmW16, gpu.FusedArgs{Norm: true, Eps: 1e-6}) }},
		{"matmul lm_head f16 32128x768", func(p *gpu.Batch) { p.MatMul(outLM, x, lmW16) }},
		{"norm+lm_head f16 + argmax 32128x768", func(p *gpu.Batch) {
			p.FMatVec(outLM, x, lmW16, gpu.FusedArgs{Norm: true, Eps: 1e-6, Argmax: part})
			p.ArgmaxCombine(topIDs, topLP, part, 1, vocab, d, gpu.F16)
		}},
	}
	// A batch of 8 rows (nib bench --only batch): the fused products read
	// their weights once for all rows; attention runs a workgroup per row
	// and head.
	const R = 8
	x8 := upload(b, randF32(rng, R*d, 1), gpu.F32, R, d)
	xf8 := upload(b, randF32(rng, R*ff, 1), gpu.F32, R, ff)
	res8 := upload(b, randF32(rng, R*d, 1), gpu.F32, R, d)
	qkv8 := upload(b, randF32(rng, R*3*inner, 1), gpu.F32, R, 3*inner)
	kc8 := upload(b, randF32(rng, R*capacity*inner, 1), gpu.F32, R, capacity, inner)
	vc8 := upload(b, randF32(rng, R*capacity*inner, 1), gpu.F32, R, capacity, inner)
	ck8 := upload(b, randF32(rng, R*encLen*inner, 1), gpu.F32, R, encLen, inner)
	lens8 := uploadU32(b, []uint32{encLen, encLen, encLen, encLen, encLen, encLen, encLen, encLen})
	rows8 := uploadU32(b, []uint32{0, 1, 2, 3, 4, 5, 6, 7})
	woW16 := upload(b, randF32(rng, d*ff, 0.05), gpu.F16, d, ff)
	outD8, outQKV8, outFF8 := scratch(b, gpu.F32, R, d), scratch(b, gpu.F32, R, 3*inner), scratch(b, gpu.F32, R, ff)
	outI8, outLM8 := scratch(b, gpu.F32, R, inner), scratch(b, gpu.F32, R, vocab)
	part88 := scratch(b, gpu.U32, dev.ArgmaxPartials(R, vocab, d, gpu.F16))
	ids8, lp8 := scratch(b, gpu.U32, R), scratch(b, gpu.F32, R)
	kernels = append(kernels, []struct {
		name string
		rec  func(*gpu.Batch)
	}{
		{"8 rows: norm+qkv f16 2304x768", func(p *gpu.Batch) { p.FMatVec(outQKV8, x8, qkvW, gpu.FusedArgs{Norm: true, Eps: 1e-6}) }},
		{"8 rows: attnstep 12x64 pos128", func(p *gpu.Batch) {
			p.AttnStep(outI8, qkv8, kc8, vc8, gpu.AttnStepArgs{Heads: heads, HeadDim: dkv, Bias: bias, Buckets: buckets, State: state})
		}},
		{"8 rows: o+res f16 768x768", func(p *gpu.Batch) { p.FMatVec(outD8, x8, oW, gpu.FusedArgs{Res: res8}) }},
		{"8 rows: attn cross fused 12x64 tk64", func(p *gpu.Batch) {
			p.AttnCross(outI8, x8, oW, ck8, ck8, gpu.ProjArgs{Heads: heads, HeadDim: dkv, Eps: 1e-6, KeyLens: lens8, KVRows: rows8})
		}},
		{"8 rows: norm+gated ffn f16 2x2048x768", func(p *gpu.Batch) {
			p.FMatVec(outFF8, x8, ffW, gpu.FusedArgs{Norm: true, Eps: 1e-6, Gate: true, Act: "gelu_new"})
		}},
		{"8 rows: wo+res f16 768x2048", func(p *gpu.Batch) { p.FMatVec(outD8, xf8, woW16, gpu.FusedArgs{Res: res8}) }},
		{"8 rows: norm+lm_head f16 + argmax 32128x768", func(p *gpu.Batch) {
			p.FMatVec(outLM8, x8, lmW16, gpu.FusedArgs{Norm: true, Eps: 1e-6, Argmax: part88})
			p.ArgmaxCombine(ids8, lp8, part88, R, vocab, d, gpu.F16)
		}},
	}...)
	// The encoder's kernels on a 64-token prompt, as a layer runs them:
	// the fused products over the prompt's blocks of 8 rows, attention,
	// and the final norm and a cross-attention key projection for the
	// decoder.
	const T = 64
	ex := upload(b, randF32(rng, T*d, 1), gpu.F32, 1, T, d)
	eff := upload(b, randF32(rng, T*ff, 1), gpu.F32, 1, T, ff)
	eo := scratch(b, gpu.F32, 1, T, d)
	eo2 := scratch(b, gpu.F32, 1, T, inner)
	eoff := scratch(b, gpu.F32, 1, T, ff)
	normW := upload(b, randF32(rng, d, 1), gpu.F32, d)
	eq := upload(b, randF32(rng, T*inner, 1), gpu.F32, 1, T, inner)
	ebuckets := uploadU32(b, make([]uint32, 2*T-1))
	woF16 := upload(b, randF32(rng, d*ff, 0.05), gpu.F16, d, ff)
	kernels = append(kernels, []struct {
		name string
		rec  func(*gpu.Batch)
	}{
		{"enc norm+q f16 64x768x768", func(p *gpu.Batch) { p.FMatVec(eo2, ex, qkvW, gpu.FusedArgs{N: inner, Norm: true, Eps: 1e-6}) }},
		{"enc attention 12x64 T64", func(p *gpu.Batch) {
			p.Attention(eo2, eq, eq, eq, gpu.AttentionArgs{Heads: heads, HeadDim: dkv, Bias: bias, Buckets: ebuckets})
		}},
		{"enc o+res f16 64x768x768", func(p *gpu.Batch) { p.FMatVec(eo, eq, oW, gpu.FusedArgs{Res: ex}) }},
		{"enc norm+gated ffn f16 64x2x2048x768", func(p *gpu.Batch) {
			p.FMatVec(eoff, ex, ffW, gpu.FusedArgs{Norm: true, Eps: 1e-6, Gate: true, Act: "gelu_new"})
		}},
		{"enc wo+res f16 64x768x2048", func(p *gpu.Batch) { p.FMatVec(eo, eff, woF16, gpu.FusedArgs{Res: ex}) }},
		{"enc final rmsnorm 64x768", func(p *gpu.Batch) { p.RMSNorm(eo, ex, normW, 1e-6) }},
		{"enc cross k matmul f16 64x768x768", func(p *gpu.Batch) { p.MatMul(eo2, ex, oW) }},
	}...)
	// NIB_BENCH_SHAPES="WGxTPRxRPI,..." also times the matrix-vector
	// kernels in those layouts (workgroup size, invocations per row, rows
	// per invocation; the prompt's kernel ignores RPI).
	shapes := []struct {
		name  string
		shape func(int) (int, int, int)
	}{{"", nil}}
	for _, s := range strings.Split(os.Getenv("NIB_BENCH_SHAPES"), ",") {
		var wg, tpr, rpi int
		if _, err := fmt.Sscanf(s, "%dx%dx%d", &wg, &tpr, &rpi); err != nil {
			continue
		}
		shapes = append(shapes, struct {
			name  string
			shape func(int) (int, int, int)
		}{fmt.Sprintf("/wg%dtpr%drpi%d", wg, tpr, rpi), func(int) (int, int, int) { return wg, tpr, rpi }})
	}
	// NIB_BENCH_ATTN_WG="64,128" also times the attention kernels in
	// workgroups of those sizes.
	for _, f := range strings.Split(os.Getenv("NIB_BENCH_ATTN_WG"), ",") {
		var wg int
		if _, err := fmt.Sscanf(f, "%d", &wg); err != nil {
			continue
		}
		gpu.SetAttentionWG(wg)
		for _, k := range kernels {
			if strings.Contains(k.name, "att") && !strings.HasPrefix(k.name, "enc") {
				runChain(b, fmt.Sprintf("%s/attnwg%d", k.name, wg), k.rec)
			}
		}
		gpu.SetAttentionWG(0)
	}
	for _, sh := range shapes {
		gpu.SetMatvecShape(sh.shape)
		for _, k := range kernels {
			if sh.shape != nil && !strings.Contains(k.name, "ffn") && !strings.Contains(k.name, "res") && !strings.Contains(k.name, "qkv") && !strings.Contains(k.name, "lm_head") && !(strings.HasPrefix(k.name, "enc ") && strings.Contains(k.name, " f16 ")) {
				continue
			}
			runChain(b, k.name+sh.name, k.rec)
		}
	}
	gpu.SetMatvecShape(nil)
}

// runChain times a plan of 50 dispatches recorded by rec.
func runChain(b *testing.B, name string, rec func(*gpu.Batch)) {
	k := struct {
		name string
		rec  func(*gpu.Batch)
	}{name, rec}
	{
		b.Run(k.name, func(b *testing.B) {
			const chain = 50
			pb := dev.NewPlanBatch()
			for range chain {
				k.rec(pb)
			}
			plan, err := pb.Plan()
			if err != nil {
				b.Fatal(err)
			}
			defer plan.Close()
			run := func() {
				batch := dev.NewBatch()
				batch.Run(plan)
				submit(b, batch)
				if err := dev.Sync(); err != nil {
					b.Fatal(err)
				}
			}
			run()
			b.ResetTimer()
			t0 := time.Now()
			for range b.N {
				run()
			}
			total := float64(time.Since(t0).Microseconds()) / float64(b.N*chain)
			// The host's share: recording alone.
			t1 := time.Now()
			for range b.N {
				batch := dev.NewBatch()
				batch.Run(plan)
				batch.Discard()
			}
			host := float64(time.Since(t1).Microseconds()) / float64(b.N*chain)
			b.ReportMetric(total, "µs/dispatch")
			b.ReportMetric(total-host, "gpu-µs")
		})
	}
}

var smallIn *gpu.Tensor

func small2(b *testing.B) *gpu.Tensor {
	if smallIn == nil {
		t, err := dev.UploadF32([]float32{1, 2, 3, 4}, gpu.F32, 4)
		if err != nil {
			b.Fatal(err)
		}
		smallIn = t
	}
	return smallIn
}
