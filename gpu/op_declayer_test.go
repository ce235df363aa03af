package gpu_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nib-editor/nib/gpu"
)

// TestDecoderLayer runs a decoder layer as one dispatch and as the seven
// the planned step records (each checked against its reference by its own
// test), over the same inputs, and compares the residual stream after it
// and the appended cache rows.
func TestDecoderLayer(t *testing.T) {
	if dev.DecoderLayerWorkgroups() == 0 {
		t.Fatalf("adapter %s cannot run DecoderLayer", dev.Info().Name)
	}
	cases := []declayerCase{
		{32, 4, 8, 64, 12, 0, true, "gelu_new", gpu.F16},
		{48, 3, 16, 96, 20, 7, false, "relu", gpu.F32},
		{64, 2, 32, 72, 300, 270, true, "gelu_new", gpu.F32},
		{128, 2, 64, 256, 20, 9, false, "relu", gpu.Q8},
		{768, 12, 64, 2048, 140, 129, true, "gelu_new", gpu.F16},
		{768, 12, 64, 2048, 140, 129, true, "gelu_new", gpu.Q8},
	}
	rng := rand.New(rand.NewPCG(91, 92))
	type layout struct {
		tpr                                        int
		pre, kvpre, kvearly, red2, tpq, fanin, cqp string
	}
	// Every layout on the small cases (the adapter's own choice, then 8,
	// 16 and 32 invocations to a row, which over few workgroups also
	// takes several spans each; weights, and keys and values, loaded
	// while the barriers wait, with the query's loads and after them; one
	// barrier counter and groups of them; sums in two levels and in a
	// tree; the cross query in one round of loads and in several, in
	// each head's workgroup and in a phase of its own); the large ones in
	// the adapter's own.
	layouts := []layout{{0, "1", "", "", "", "", "", ""}, {8, "0", "1", "", "", "", "4", "1"}, {16, "1", "0", "0", "0", "2", "2", ""},
		{32, "0", "0", "self", "0", "", "", "1"}, {32, "1", "1", "", "", "1", "8", ""}}
	for _, c := range cases {
		for _, l := range layouts {
			if c.d == 768 && l.tpr != 0 {
				continue
			}
			name := fmt.Sprintf("d%d_h%d_dkv%d_ff%d_pos%d_%s_%s/tpr%d_pre%s_kvpre%s_kvearly%s_red2%s_tpq%s_fanin%s_cqp%s", c.d, c.heads, c.dkv, c.ff, c.pos, c.act, c.w,
				l.tpr, l.pre, l.kvpre, l.kvearly, l.red2, l.tpq, l.fanin, l.cqp)
			t.Run(name, func(t *testing.T) {
				gpu.SetDecoderLayerTPR(l.tpr)
				defer gpu.SetDecoderLayerTPR(0)
				t.Setenv("NIB_DECLAYER_PRE", l.pre)
				t.Setenv("NIB_DECLAYER_KVPRE", l.kvpre)
				t.Setenv("NIB_DECLAYER_KVEARLY", l.kvearly)
				t.Setenv("NIB_DECLAYER_RED2", l.red2)
				t.Setenv("NIB_DECLAYER_TPQ", l.tpq)
				t.Setenv("NIB_DECLAYER_FANIN", l.fanin)
				t.Setenv("NIB_DECLAYER_CQP", l.cqp)
				testDecoderLayer(t, rng, c)
			})
		}
	}
}

// declayerCase is a layer's shape for TestDecoderLayer.
type declayerCase struct {
	d, heads, dkv, ff, capacity, pos int
	gated                            bool
	act                              string
	w                                gpu.DType
}

func testDecoderLayer(t *testing.T, rng *rand.Rand, c declayerCase) {
	const numBuckets, inputs, encLen = 32, 2, 10
	inner := c.heads * c.dkv
	ffRows := c.ff
	if c.gated {
		ffRows *= 2
	}
	h := randF32(rng, c.d, 1)
	qkvW := upload(t, randF32(rng, 3*inner*c.d, 0.2), c.w, 3*inner, c.d)
	oW := upload(t, randF32(rng, c.d*inner, 0.2), c.w, c.d, inner)
	cqW := upload(t, randF32(rng, inner*c.d, 0.2), c.w, inner, c.d)
	coW := upload(t, randF32(rng, c.d*inner, 0.2), c.w, c.d, inner)
	inW := upload(t, randF32(rng, ffRows*c.d, 0.2), c.w, ffRows, c.d)
	outW := upload(t, randF32(rng, c.d*c.ff, 0.1), c.w, c.d, c.ff)
	kInit := randF32(rng, c.capacity*inner, 1)
	vInit := randF32(rng, c.capacity*inner, 1)
	ck := upload(t, randF32(rng, inputs*encLen*inner, 1), gpu.F32, inputs, encLen, inner)
	cv := upload(t, randF32(rng, inputs*encLen*inner, 1), gpu.F32, inputs, encLen, inner)
	biasHost := randF32(rng, numBuckets*c.heads, 1)
	bias := upload(t, biasHost, gpu.F32, numBuckets, c.heads)
	bk := make([]uint32, 2*c.capacity-1)
	for i := range bk {
		bk[i] = uint32(rng.IntN(numBuckets))
	}
	buckets := uploadU32(t, bk)
	// The layer takes each relative position's bias row, gathered here.
	posBiasHost := make([]float32, 0, len(bk)*c.heads)
	for _, k := range bk {
		posBiasHost = append(posBiasHost, biasHost[int(k)*c.heads:(int(k)+1)*c.heads]...)
	}
	posBias := upload(t, posBiasHost, gpu.F32, len(bk), c.heads)
	state := uploadU32(t, []uint32{uint32(c.pos), 0, 0, 0})
	lens := uploadU32(t, []uint32{encLen, 6})
	rows := uploadU32(t, []uint32{1})
	const eps = 1e-6

	// The seven dispatches.
	hRef := upload(t, h, gpu.F32, 1, c.d)
	kRef, vRef := upload(t, kInit, gpu.F32, 1, c.capacity, inner), upload(t, vInit, gpu.F32, 1, c.capacity, inner)
	qkv, o, co := scratch(t, gpu.F32, 1, 3*inner), scratch(t, gpu.F32, 1, inner), scratch(t, gpu.F32, 1, inner)
	h2, h3, ff := scratch(t, gpu.F32, 1, c.d), scratch(t, gpu.F32, 1, c.d), scratch(t, gpu.F32, 1, c.ff)
	b := dev.NewBatch()
	b.FMatVec(qkv, hRef, qkvW, gpu.FusedArgs{Norm: true, Eps: eps})
	b.AttnStep(o, qkv, kRef, vRef, gpu.AttnStepArgs{Heads: c.heads, HeadDim: c.dkv, Bias: bias, Buckets: buckets, State: state})
	b.FMatVec(h2, o, oW, gpu.FusedArgs{Res: hRef})
	b.AttnCross(co, h2, cqW, ck, cv, gpu.ProjArgs{Heads: c.heads, HeadDim: c.dkv, Eps: eps, KeyLens: lens, KVRows: rows})
	b.FMatVec(h3, co, coW, gpu.FusedArgs{Res: h2})
	b.FMatVec(ff, h3, inW, gpu.FusedArgs{Norm: true, Eps: eps, Gate: c.gated, Act: c.act})
	b.FMatVec(hRef, ff, outW, gpu.FusedArgs{Res: h3})
	submit(t, b)

	// One dispatch, run twice over fresh inputs, so that the
	// barrier's words left by the first are what the second
	// starts from.
	scr := scratch(t, gpu.U32, gpu.DecoderLayerWords(c.d, inner, c.ff))
	b = dev.NewBatch()
	b.Clear(scr)
	submit(t, b)
	for run := range 2 {
		hOne := upload(t, h, gpu.F32, 1, c.d)
		kOne, vOne := upload(t, kInit, gpu.F32, 1, c.capacity, inner), upload(t, vInit, gpu.F32, 1, c.capacity, inner)
		b = dev.NewBatch()
		b.DecoderLayer(gpu.DecoderLayerArgs{
			H: hOne, Scratch: scr, QKV: qkvW, SelfO: oW, CrossQ: cqW, CrossO: coW, In: inW, Out: outW,
			SelfK: kOne, SelfV: vOne, CrossK: ck, CrossV: cv,
			PosBias: posBias, State: state, KeyLens: lens, KVRows: rows,
			Heads: c.heads, HeadDim: c.dkv, Gated: c.gated, Act: c.act, Eps: eps,
		})
		submit(t, b)
		words, err := scr.ReadU32()
		if err != nil {
			t.Fatal(err)
		}
		if words[0] != 0 || words[1] != 0 || words[2] != 0 {
			t.Fatalf("run %d: barrier words %v, want zeros (arrivals, leavers, spins given up)", run, words[:3])
		}
		// The same sums in other orders: FMatVec's tolerance
		// against its reference, for h and the appended cache row; the
		// other rows are untouched.
		closeTo(t, download(t, hOne), download(t, hRef), 2e-4, 2e-4)
		for _, kv := range [][2]*gpu.Tensor{{kOne, kRef}, {vOne, vRef}} {
			got, want := download(t, kv[0]), download(t, kv[1])
			row := c.pos * inner
			closeTo(t, got[row:row+inner], want[row:row+inner], 2e-4, 2e-4)
			closeTo(t, append(got[:row:row], got[row+inner:]...), append(want[:row:row], want[row+inner:]...), 0, 0)
		}
	}
}
