package gpu_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/kernels"
)

// attentionCase is one Attention call: b batch items, h heads of dim d, tq
// queries over tk keys in k and v of capacity tcap (tk when 0).
type attentionCase struct {
	name            string
	b, h, d, tq, tk int
	tcap            int
	lens            []uint32
	causal, bias    bool
	// rows maps query batch items to the batch items of k and v, of which
	// there are kvb.
	rows []uint32
	kvb  int
}

func TestAttention(t *testing.T) { bothLayouts(t, testAttention) }

func testAttention(t *testing.T) {
	cases := []attentionCase{
		{name: "encoder", b: 2, h: 3, d: 16, tq: 33, tk: 33, lens: []uint32{33, 20}, bias: true},
		{name: "encoder/nobias", b: 2, h: 3, d: 16, tq: 33, tk: 33, lens: []uint32{33, 20}},
		{name: "encoder/t5small", b: 1, h: 6, d: 64, tq: 64, tk: 64, bias: true},
		{name: "encoder/allpadding", b: 2, h: 2, d: 8, tq: 7, tk: 7, lens: []uint32{0, 3}, bias: true},
		{name: "decoder/step", b: 2, h: 12, d: 64, tq: 1, tk: 300, tcap: 512, causal: true, bias: true},
		{name: "decoder/step/first", b: 1, h: 3, d: 64, tq: 1, tk: 1, tcap: 16, causal: true, bias: true},
		{name: "decoder/prefill", b: 1, h: 2, d: 32, tq: 100, tk: 100, tcap: 128, causal: true, bias: true},
		{name: "decoder/prefill/tail", b: 2, h: 2, d: 12, tq: 5, tk: 40, tcap: 41, causal: true, bias: true},
		{name: "cross", b: 2, h: 3, d: 24, tq: 5, tk: 33, lens: []uint32{33, 17}},
		{name: "cross/manyqueries", b: 1, h: 2, d: 8, tq: 40, tk: 7},
		{name: "cross/step", b: 2, h: 4, d: 64, tq: 1, tk: 33, lens: []uint32{1, 33}},
		{name: "causal/morequeries", b: 1, h: 2, d: 4, tq: 9, tk: 4, causal: true},
		{name: "tiny", b: 1, h: 1, d: 7, tq: 1, tk: 1},
		{name: "odd", b: 2, h: 3, d: 33, tq: 7, tk: 7, bias: true, causal: true},
		{name: "dim1", b: 1, h: 2, d: 1, tq: 33, tk: 33, bias: true},
		{name: "dim255", b: 1, h: 1, d: 255, tq: 3, tk: 7, bias: true},
		{name: "dim256", b: 1, h: 2, d: 256, tq: 2, tk: 33, tcap: 40, causal: true},
		// Several chunks of keys, in both vector widths.
		{name: "long/step", b: 1, h: 2, d: 64, tq: 1, tk: 1000, tcap: 1024, causal: true, bias: true},
		{name: "long/padded", b: 2, h: 1, d: 33, tq: 3, tk: 1000, lens: []uint32{1000, 600}, bias: true},
		{name: "long/cross", b: 1, h: 1, d: 7, tq: 2, tk: 777},
		// Beams sharing encoder rows: 5 decoder rows over 2 encoder rows.
		{name: "cross/rows", b: 5, h: 3, d: 16, tq: 1, tk: 33, lens: []uint32{20, 33}, rows: []uint32{1, 0, 0, 1, 1}, kvb: 2},
		{name: "cross/rows/fewer", b: 1, h: 2, d: 8, tq: 1, tk: 9, lens: []uint32{9, 4, 9}, rows: []uint32{1}, kvb: 3},
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runAttention(t, rng, c) })
	}
}

func runAttention(t *testing.T, rng *rand.Rand, c attentionCase) {
	const numBuckets = 32
	if c.tcap == 0 {
		c.tcap = c.tk
	}
	hd := c.h * c.d
	kvb := c.b
	if c.rows != nil {
		kvb = c.kvb
	}
	q := randF32(rng, c.b*c.tq*hd, 1)
	k := randF32(rng, kvb*c.tcap*hd, 1)
	v := randF32(rng, kvb*c.tcap*hd, 1)
	// Spare cache rows hold NaN: reading them would poison the output.
	for bi := range kvb {
		for j := c.tk; j < c.tcap; j++ {
			for x := range hd {
				k[(bi*c.tcap+j)*hd+x] = float32(math.NaN())
				v[(bi*c.tcap+j)*hd+x] = float32(math.NaN())
			}
		}
	}
	ref := kernels.AttentionArgs{
		Batch: c.b, Queries: c.tq, Keys: c.tk, Capacity: c.tcap, Heads: c.h, HeadDim: c.d,
		Mask: kernels.Mask{KeyLens: c.lens, Causal: c.causal}, KVRows: c.rows,
	}
	args := gpu.AttentionArgs{Heads: c.h, HeadDim: c.d, Mask: gpu.Mask{Causal: c.causal}}
	if c.rows != nil {
		args.KVRows = uploadU32(t, c.rows)
	}
	if c.tk != c.tcap {
		args.Keys = c.tk
	}
	if c.bias {
		ref.Bias = randF32(rng, numBuckets*c.h, 4)
		// Random buckets, not T5's monotone ones, so that an index off by
		// one shows; a spare entry checks that longer tables are accepted.
		// Longer than needed on odd cases: the table is centred on its
		// own length, not on Tk.
		ref.Buckets = make([]uint32, 2*c.tk+(c.tk%2)*40)
		for i := range ref.Buckets {
			ref.Buckets[i] = uint32(rng.IntN(numBuckets))
		}
		args.Bias = upload(t, ref.Bias, gpu.F32, numBuckets, c.h)
		args.Buckets = uploadU32(t, ref.Buckets)
	}
	if c.lens != nil {
		args.Mask.KeyLens = uploadU32(t, c.lens)
	}
	out := scratch(t, gpu.F32, c.b, c.tq, hd)
	b := dev.NewBatch()
	b.Attention(out, upload(t, q, gpu.F32, c.b, c.tq, hd),
		upload(t, k, gpu.F32, kvb, c.tcap, hd), upload(t, v, gpu.F32, kvb, c.tcap, hd), args)
	submit(t, b)
	// Tolerance: scores up to about ±15 carry f32 rounding of a few ulp
	// of their magnitude into the exponent, about 1e-6 relative in each
	// probability; the outputs are convex combinations of values in ±1.
	// lavapipe stays within 3e-7 of the float64 reference.
	closeTo(t, download(t, out), kernels.AttentionRef(q, k, v, ref), 1e-5, 1e-4)
}

func TestAttentionFixed(t *testing.T) {
	// One query at position 1 over two keys with zero dot products: the
	// bias alone decides. Key 0 (rel -1, entry 0) has bucket 1 with bias
	// ln 3, key 1 (rel 0, entry 1) bucket 0 with bias 0, so the weights are
	// 3/4 and 1/4 and out = 0.75*1 + 0.25*5.
	q := upload(t, []float32{1}, gpu.F32, 1, 1, 1)
	k := upload(t, []float32{0, 0}, gpu.F32, 1, 2, 1)
	v := upload(t, []float32{1, 5}, gpu.F32, 1, 2, 1)
	out := scratch(t, gpu.F32, 1, 1, 1)
	b := dev.NewBatch()
	b.Attention(out, q, k, v, gpu.AttentionArgs{
		Heads: 1, HeadDim: 1,
		Bias:    upload(t, []float32{0, 1.0986123}, gpu.F32, 2, 1),
		Buckets: uploadU32(t, []uint32{1, 0, 0}),
		Mask:    gpu.Mask{Causal: true},
	})
	submit(t, b)
	closeTo(t, download(t, out), []float32{2}, 1e-6, 1e-6)
}

func TestAttentionMismatch(t *testing.T) {
	q := scratch(t, gpu.F32, 2, 3, 8)
	kv := scratch(t, gpu.F32, 2, 5, 8)
	bias := scratch(t, gpu.F32, 32, 2)
	buckets := uploadU32(t, make([]uint32, 9))
	ok := gpu.AttentionArgs{Heads: 2, HeadDim: 4, Bias: bias, Buckets: buckets}
	for _, c := range []struct {
		name string
		out  *gpu.Tensor
		edit func(a *gpu.AttentionArgs)
	}{
		{"head dim", nil, func(a *gpu.AttentionArgs) { a.HeadDim = 3 }},
		{"head dim too large", nil, func(a *gpu.AttentionArgs) { a.Heads, a.HeadDim = 1, 512 }},
		{"keys beyond capacity", nil, func(a *gpu.AttentionArgs) { a.Keys = 6 }},
		{"bias without buckets", nil, func(a *gpu.AttentionArgs) { a.Buckets = nil }},
		{"buckets too short", nil, func(a *gpu.AttentionArgs) { a.Keys = 5; a.Buckets = uploadU32(t, make([]uint32, 8)) }},
		{"bias heads", nil, func(a *gpu.AttentionArgs) { a.Bias = scratch(t, gpu.F32, 32, 3) }},
		{"more queries than keys", nil, func(a *gpu.AttentionArgs) { a.Keys = 2 }},
		{"key lengths", nil, func(a *gpu.AttentionArgs) { a.Mask.KeyLens = uploadU32(t, []uint32{5}) }},
		{"out shape", scratch(t, gpu.F32, 2, 3, 4), func(a *gpu.AttentionArgs) {}},
		{"out is q", q, func(a *gpu.AttentionArgs) {}},
		{"kv rows length", nil, func(a *gpu.AttentionArgs) { a.KVRows = uploadU32(t, []uint32{0}) }},
		{"kv rows dtype", nil, func(a *gpu.AttentionArgs) { a.KVRows = scratch(t, gpu.F32, 2) }},
	} {
		a := ok
		c.edit(&a)
		out := c.out
		if out == nil {
			out = scratch(t, gpu.F32, 2, 3, 8)
		}
		b := dev.NewBatch()
		b.Attention(out, q, kv, kv, a)
		if err := b.Submit(); err == nil {
			t.Errorf("%s: mismatch was accepted", c.name)
		}
	}
	// The unedited arguments are valid.
	b := dev.NewBatch()
	b.Attention(scratch(t, gpu.F32, 2, 3, 8), q, kv, kv, ok)
	submit(t, b)
}
