package gpu

import (
	"math"
	"os"
	"slices"
	"strconv"

	"github.com/nib-editor/nib/kernels"
)

// DecoderLayerArgs are one T5 decoder layer's tensors for DecoderLayer, in
// the planned step's shapes: the residual stream H is F32 [1, d], Scratch
// U32 of DecoderLayerWords words, the weights as FMatVec and
// AttnCross take them (the norms folded in; see DecoderLayerWeight), SelfK and SelfV
// F32 [1, capacity, inner] caches, CrossK and CrossV the encoder's F32
// [E, L, inner] keys and values, PosBias F32 [2*capacity-1, heads] the
// relative position bias of each relative position from -(capacity-1)
// (row r holds position r - (capacity-1)'s: AttnStep's bias gathered by
// its buckets, as Embedding gathers rows), and the rest as AttnStep and
// AttnCross take them.
type DecoderLayerArgs struct {
	H, Scratch                          *Tensor
	QKV, SelfO, CrossQ, CrossO, In, Out *Tensor
	SelfK, SelfV, CrossK, CrossV        *Tensor
	PosBias, State, KeyLens, KVRows     *Tensor
	// Heads and HeadDim are H and D; inner = H*D.
	Heads, HeadDim int
	// Gated says In stacks gate and up rows; Act is "relu" or "gelu_new".
	Gated bool
	Act   string
	Eps   float32
}

// declayerBuffers is DecoderLayer's storage bindings.
const declayerBuffers = 16

// spinLimit bounds a barrier's polls before DecoderLayer gives up and
// marks its results wrong: a few milliseconds, where a barrier takes
// microseconds.
const spinLimit = 1 << 16

// DecoderLayerWords is the size in u32 words of DecoderLayer's scratch
// for a model of width d, inner width inner and feed-forward width ff.
func DecoderLayerWords(d, inner, ff int) int {
	o := declayerOffsets(d, inner, ff)
	return o[7]
}

// declayerOffsets are act's regions: q/k/v, self-attention output, h2,
// cross-attention output, h3, the feed-forward hidden, the cross query
// (NIB_DECLAYER_CQP), and the end. The first 64 words hold the barrier's;
// regions start at multiples of 64 words, so that no two share a cache
// line.
func declayerOffsets(d, inner, ff int) [8]int {
	up := func(n int) int { return (n + 63) / 64 * 64 }
	var o [8]int
	o[0] = 64
	for i, n := range []int{3 * inner, inner, d, inner, d, ff, inner} {
		o[i+1] = o[i] + up(n)
	}
	return o
}

// DecoderLayerWeight says whether DecoderLayer takes a weight matrix of
// dtype with cols columns: f16 or f32 with columns a multiple of 8, or q8
// with whole superblocks.
func DecoderLayerWeight(dtype DType, cols int) bool {
	switch dtype {
	case F16, F32:
		return cols%8 == 0
	case Q8:
		return cols%Q8Super == 0
	}
	return false
}

// DecoderLayerPreferred says whether a one-row step should run its
// decoder layers through DecoderLayer on this device: on a discrete GPU
// that can. On an H100 it decodes flan-t5-small, base and large 24-44%
// faster than seven dispatches a layer; on lavapipe, whose one workgroup
// runs the layer on one core, 3 times slower (BENCHMARKS.md). An
// integrated GPU is unmeasured, and may not hold 128 workgroups at once:
// its barrier would then spin to its limit at every wait of the load-time
// probe, long enough to risk the driver's timeout.
func (d *Device) DecoderLayerPreferred() bool {
	return d.DecoderLayerWorkgroups() > 0 && d.info.Type == "discrete-gpu"
}

// DecoderLayerWorkgroups is how many workgroups DecoderLayer runs at once,
// or 0 where it cannot run. They must all be resident together, since they
// wait for each other: one on a CPU adapter, whose workgroups run in turn,
// and 128 on a GPU (NIB_DECLAYER_GROUPS overrides it for measurements).
// It also needs declayerBuffers storage buffers in one kernel.
func (d *Device) DecoderLayerWorkgroups() int {
	if d.limits.MaxStorageBuffersPerShaderStage < declayerBuffers {
		return 0
	}
	if d.info.Type == "cpu" {
		return 1
	}
	if n, err := strconv.Atoi(os.Getenv("NIB_DECLAYER_GROUPS")); err == nil && n > 0 {
		return n
	}
	return 128
}

// declayerSkip is the phase NIB_DECLAYER_SKIP names (1 to 7), whose work
// DecoderLayer then leaves out to time it (its results are wrong), 8 for
// "all" (every phase's work, to time the barriers alone), or 0.
func declayerSkip() int {
	v := os.Getenv("NIB_DECLAYER_SKIP")
	if v == "all" {
		return 8
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= 7 {
		return n
	}
	return 0
}

// declayerWG is DecoderLayer's workgroup size: 256, or what
// NIB_DECLAYER_WG names (a power of two from 64 up to the device's
// limit), for measurements.
func (d *Device) declayerWG() int {
	n, err := strconv.Atoi(os.Getenv("NIB_DECLAYER_WG"))
	if err != nil || n < 64 || n&(n-1) != 0 || n > int(d.limits.MaxComputeInvocationsPerWorkgroup) {
		return 256
	}
	return n
}

// declayerFanin is how many workgroups arrive at each of the barrier's
// group counters (kernels.DecLayer's FANIN), or 0 for one counter:
// NIB_DECLAYER_FANIN, where it leaves at most declayerGroupWords groups.
func declayerFanin(groups int) int {
	n, err := strconv.Atoi(os.Getenv("NIB_DECLAYER_FANIN"))
	if err != nil || n < 1 || (groups+n-1)/n > declayerGroupWords {
		return 0
	}
	return n
}

// declayerGroupWords is how many group counters fit in the barrier's 64
// words after the first four.
const declayerGroupWords = 60

// declayerTPROverride, when positive, replaces declayerTPR's choice in
// tests (export_test.go).
var declayerTPROverride int

// declayerTPR is how many invocations of a wg-wide workgroup share each
// output row of a product of rows rows over groups workgroups: the most
// (fewest loads each) that leaves every workgroup at most one span of
// rows, since a second span is a second wait for memory; 8 where none
// does.
func declayerTPR(rows, groups, wg int) int {
	if declayerTPROverride > 0 {
		return declayerTPROverride
	}
	if n, err := strconv.Atoi(os.Getenv("NIB_DECLAYER_TPR")); err == nil && n > 0 {
		return n
	}
	for _, tpr := range []int{32, 16} {
		if (rows+wg/tpr-1)/(wg/tpr) <= groups {
			return tpr
		}
	}
	return 8
}

// nvidiaVendorID is NVIDIA's PCI vendor id.
const nvidiaVendorID = 0x10de

// declayerAcquire says whether DecoderLayer puts a fence after each
// barrier's wait (kernels.DecLayer's ACQUIRE): everywhere but on NVIDIA's
// GPUs. WGSL's atomics are relaxed, so only the fence orders a
// workgroup's loads after the wait formally, and lavapipe over two
// workgroups read stale values without it. NVIDIA's GPUs compute the
// layer right without it (TestDecoderLayer on an H100) and run 5-7%
// faster (BENCHMARKS.md): there the waiting invocation's loads go to the
// L2 cache, where every SM's stores are, and they are issued only once
// the wait has seen the count, while the fence also waits for the next
// phase's weights already in flight. NIB_DECLAYER_ACQUIRE=1 or 0 forces
// it either way.
func (d *Device) declayerAcquire() bool {
	switch os.Getenv("NIB_DECLAYER_ACQUIRE") {
	case "0":
		return false
	case "1":
		return true
	}
	return d.info.VendorID != nvidiaVendorID
}

// declayerEarlyWords bounds the words an invocation of the cross-attention
// holds in registers at once with KVEARLY: its first round of query
// weights and the first keys and values. On an H100, flan-t5-small and
// base (96 words of weights, 128 of keys and values) decode 5-7% and
// 3% faster with KVEARLY, and large (128 and 128) 10% slower, most likely
// from registers spilled (BENCHMARKS.md).
const declayerEarlyWords = 224

// declayerKVEarly says whether the self- and the cross-attention phase
// load their first keys and values with the query's loads
// (kernels.DecLayer's KVEARLY and KVEARLYX): both where the
// cross-attention's loads in flight then fit declayerEarlyWords, with the
// cross query's weights of dtype w over d_model dm in rounds of tpq
// invocations to a row. NIB_DECLAYER_KVEARLY=1 or 0 forces both, and
// =self the self-attention's alone (unmeasured: the self-attention holds
// no query weights, so it may gain where the cross-attention loses).
func declayerKVEarly(w DType, dm, tpq, wg, dkv int) (self, cross bool) {
	switch os.Getenv("NIB_DECLAYER_KVEARLY") {
	case "0":
		return false, false
	case "1":
		return true, true
	case "self":
		return true, false
	}
	// An invocation's share of a query row, and its first key and its
	// slice's first values (vectors of four).
	row := int(w.bytes(dm)) / 4
	dv := dkv / 4
	slices := max(wg/dv, 1)
	kv := 4 * (dv + (wg+slices-1)/slices)
	fits := (row+tpq-1)/tpq+kv <= declayerEarlyWords
	return fits, fits
}

// declayerTPQ is how many invocations of a wg-wide workgroup share each
// of a head's dkv query rows when the head's workgroup projects its own
// query: by default as many as take all the rows in one round of loads
// (at least 1, at most 32); NIB_DECLAYER_TPQ overrides it, for
// measurements.
func declayerTPQ(wg, dkv int) int {
	if n, err := strconv.Atoi(os.Getenv("NIB_DECLAYER_TPQ")); err == nil && n > 0 && n <= wg {
		return n
	}
	return min(max(wg/dkv, 1), 32)
}

// DecoderLayer records one decoder layer of a one-row step as a single
// dispatch (kernels.DecLayer): what FMatVec (norm and q/k/v), AttnStep,
// FMatVec (output and residual), AttnCross, FMatVec (output and residual),
// FMatVec (norm and feed-forward in) and FMatVec (output and residual)
// record, H read and written in place. For measurements, environment
// variables change its layout: NIB_DECLAYER_GROUPS (workgroups),
// NIB_DECLAYER_WG (their size), NIB_DECLAYER_FANIN (workgroups to each
// of the barrier's group counters), NIB_DECLAYER_CQP=1 (the cross query's
// projection over every workgroup, a barrier more, instead of in each
// head's),
// NIB_DECLAYER_TPR (invocations to a product's row), NIB_DECLAYER_PRE=0
// (load a phase's weights after its barrier rather than while it waits),
// NIB_DECLAYER_KVPRE=1 (the attention's first keys and values while it
// waits: slower on the H100), NIB_DECLAYER_KVEARLY=1, 0 or self (load
// them with the attention's query or after it, where by default
// declayerKVEarly chooses), NIB_DECLAYER_RED2=0
// (workgroup sums and maxima in a tree of log2(WG) barriers rather than
// two levels), NIB_DECLAYER_ACQUIRE=1 or 0 (a fence after each
// barrier's wait or none, where by default only NVIDIA's GPUs go without:
// see declayerAcquire; BENCHMARKS.md has what each measured),
// NIB_DECLAYER_SKIP=k
// leaves phase k's work out, and =all every phase's (benchmarks only). Scratch[2] counts barriers
// that gave up waiting (workgroups not all resident): the results are
// then wrong.
func (b *Batch) DecoderLayer(a DecoderLayerArgs) {
	const op = "decoder layer"
	ts := []*Tensor{a.H, a.Scratch, a.QKV, a.SelfO, a.CrossQ, a.CrossO, a.In, a.Out,
		a.SelfK, a.SelfV, a.CrossK, a.CrossV, a.PosBias, a.State, a.KeyLens, a.KVRows}
	for _, t := range ts {
		if t == nil {
			b.failf("%s: nil tensor", op)
			return
		}
	}
	groups := b.d.DecoderLayerWorkgroups()
	if groups == 0 {
		b.failf("%s: the device has %d storage buffers per kernel, %d needed", op,
			b.d.limits.MaxStorageBuffersPerShaderStage, declayerBuffers)
		return
	}
	if a.Heads <= 0 || a.HeadDim <= 0 || a.HeadDim%4 != 0 || a.HeadDim > kernels.AttentionMaxHeadDim {
		b.failf("%s: %d heads of dim %d (a multiple of 4 up to %d)", op, a.Heads, a.HeadDim, kernels.AttentionMaxHeadDim)
		return
	}
	if a.H.dtype != F32 || len(a.H.shape) != 2 || a.H.shape[0] != 1 {
		b.failf("%s: h %s is not f32 [1, d]", op, a.H)
		return
	}
	dm, inner := a.H.shape[1], a.Heads*a.HeadDim
	if len(a.In.shape) != 2 {
		b.failf("%s: feed-forward in %s is not a matrix", op, a.In)
		return
	}
	ffRows := a.In.shape[0]
	ff := ffRows
	if a.Gated {
		ff = ffRows / 2
	}
	if a.Act != "relu" && a.Act != "gelu_new" {
		b.failf("%s: activation %q", op, a.Act)
		return
	}
	mats := []struct {
		name       string
		t          *Tensor
		rows, cols int
	}{
		{"q/k/v", a.QKV, 3 * inner, dm}, {"self output", a.SelfO, dm, inner}, {"cross query", a.CrossQ, inner, dm},
		{"cross output", a.CrossO, dm, inner}, {"feed-forward in", a.In, ffRows, dm}, {"feed-forward out", a.Out, dm, ff},
	}
	dtypes := make([]string, len(mats))
	for i, m := range mats {
		if len(m.t.shape) != 2 || m.t.shape[0] != m.rows || m.t.shape[1] != m.cols || !DecoderLayerWeight(m.t.dtype, m.cols) {
			b.failf("%s: %s weight %s is not f16 or f32 [%d, %d] with columns a multiple of 8, or q8 with a multiple of %d",
				op, m.name, m.t, m.rows, m.cols, Q8Super)
			return
		}
		dtypes[i] = m.t.dtype.String()
	}
	if a.SelfK.dtype != F32 || len(a.SelfK.shape) != 3 || a.SelfK.shape[0] != 1 || a.SelfK.shape[2] != inner ||
		a.SelfV.dtype != F32 || !slices.Equal(a.SelfV.shape, a.SelfK.shape) {
		b.failf("%s: caches %s and %s are not f32 [1, capacity, %d]", op, a.SelfK, a.SelfV, inner)
		return
	}
	capacity := a.SelfK.shape[1]
	if a.CrossK.dtype != F32 || len(a.CrossK.shape) != 3 || a.CrossK.shape[2] != inner ||
		a.CrossV.dtype != F32 || !slices.Equal(a.CrossV.shape, a.CrossK.shape) {
		b.failf("%s: cross keys %s and values %s are not f32 [E, L, %d]", op, a.CrossK, a.CrossV, inner)
		return
	}
	if a.PosBias.dtype != F32 || len(a.PosBias.shape) != 2 || a.PosBias.shape[0] < 2*capacity-1 ||
		a.PosBias.shape[0]%2 != 1 || a.PosBias.shape[1] != a.Heads {
		b.failf("%s: position bias %s is not f32 [2*%d-1 or more (odd), %d]", op, a.PosBias, capacity, a.Heads)
		return
	}
	if a.State.dtype != U32 || a.KeyLens.dtype != U32 || a.KeyLens.n < a.CrossK.shape[0] || a.KVRows.dtype != U32 || a.KVRows.n < 1 {
		b.failf("%s: state %s, key lengths %s or rows %s are not u32 of their sizes",
			op, a.State, a.KeyLens, a.KVRows)
		return
	}
	wg := b.d.declayerWG()
	kvpre := os.Getenv("NIB_DECLAYER_KVPRE") == "1"
	o := declayerOffsets(dm, inner, ff)
	if a.Scratch.dtype != U32 || a.Scratch.n < o[7] {
		b.failf("%s: scratch %s is not u32 of at least %d words", op, a.Scratch, o[7])
		return
	}
	defs := kernels.Defines{
		"D": dm, "INNER": inner, "FF": ff, "HEADS": a.Heads, "DV": a.HeadDim / 4, "GATE": a.Gated, "ACT": a.Act,
		"WQKV": dtypes[0], "WO": dtypes[1], "WCQ": dtypes[2], "WCO": dtypes[3], "WIN": dtypes[4], "WOUT": dtypes[5],
		"A_QKV": o[0], "A_O": o[1], "A_H2": o[2], "A_CO": o[3], "A_H3": o[4], "A_FF": o[5], "A_CQ": o[6],
		"XS4": max(dm, inner, ff) / 4, "PRE": os.Getenv("NIB_DECLAYER_PRE") != "0", "KVPRE": kvpre,
		"RED2":    os.Getenv("NIB_DECLAYER_RED2") != "0",
		"ACQUIRE": b.d.declayerAcquire(), "SKIP": declayerSkip(),
		"WG": wg, "FANIN": declayerFanin(groups), "CQP": os.Getenv("NIB_DECLAYER_CQP") == "1",
	}
	tpr := func(rows int) int { return declayerTPR(rows, groups, wg) }
	defs["TPR_QKV"], defs["TPR_O"], defs["TPR_IN"], defs["TPR_OUT"] = tpr(3*inner), tpr(dm), tpr(ff), tpr(dm)
	defs["TPR_CQ"] = tpr(inner)
	defs["TPQ"] = declayerTPQ(wg, a.HeadDim)
	self, cross := declayerKVEarly(a.CrossQ.dtype, dm, defs["TPQ"].(int), wg, a.HeadDim)
	defs["KVEARLY"], defs["KVEARLYX"] = self && !kvpre, cross && !kvpre
	params := []uint32{uint32(capacity), uint32((a.PosBias.shape[0] - 1) / 2), uint32(a.CrossK.shape[1]), spinLimit, math.Float32bits(a.Eps)}
	b.dispatch(kernels.DecLayer, defs, params, [3]uint32{uint32(groups), 1, 1}, ts...)
}
