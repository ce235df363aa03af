package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/nib-editor/nib/gpu"
)

// Decoder runs T5's decoder over an encoded batch, keeping the
// self-attention keys and values of every position fed so far (the KV
// cache), so that each new token costs one position's work. It has rows,
// each one sequence being generated, that advance in lockstep; every row
// reads the encoder output of one encoded input, and several rows (beams,
// alternatives) may share one. A Decoder is used by one goroutine at a
// time.
//
// A step is a gpu.Plan recorded once for the decoder's rows: the embedding,
// seven fused dispatches per layer (norm and the stacked q/k/v projection;
// self-attention with the KV append; output projection and residual; norm,
// query projection and cross-attention; its output and residual; norm and
// the (gated) feed-forward input; its output and residual), the final norm
// with the lm_head and the argmax's first half, and its combine, which
// also advances the position. Only the token ids and the position change from
// one step to the next, and they live in GPU buffers the plan reads, so a
// step records the plan with no lookups and submits one command buffer.
type Decoder struct {
	m        *Model
	enc      *Encoded
	capacity int
	pos      int
	encRows  []uint32      // per row, the encoded input it reads
	selfK    []*gpu.Tensor // per layer [rows, capacity, inner]
	selfV    []*gpu.Tensor
	buckets  *gpu.Tensor // relative-position buckets for capacity positions
	// posBias is each relative position's bias row (the buckets' rows of
	// the bias gathered) for the one-dispatch layers, nil without them.
	posBias *gpu.Tensor
	state   *gpu.Tensor // U32 [4]: the position of the step
	// Per-row tensors, remade when the rows change.
	rowMap                            *gpu.Tensor // encRows on the GPU
	ids                               *gpu.Tensor // U32 [rows, 1]: the tokens fed at a step
	act                               []*gpu.Tensor
	h, h2, h3, qkv, o, co, ff, logits *gpu.Tensor
	// part and best: the plan's argmax of the logits (partials, then the
	// log-probability of the chosen id, which goes into ids).
	part, best *gpu.Tensor
	// hist and histLP keep every planned step's choice by position, so
	// that RunGreedy reads several steps back at once.
	hist, histLP *gpu.Tensor
	// layerScratch is the one-dispatch layers' scratch (gpu.DecoderLayer),
	// nil where the plan takes seven dispatches a layer.
	layerScratch *gpu.Tensor
	plan         *gpu.Plan
	topIDs       *gpu.Tensor // U32 [rows, k]
	topLP        *gpu.Tensor // F32 [rows, k]
}

// Candidates are one row's most likely next tokens, best first, with their
// log-probabilities (log-softmax of the logits over the whole vocabulary).
type Candidates struct {
	IDs      []int
	LogProbs []float32
}

// NewDecoder prepares a decoder over enc for up to capacity positions, with
// one row per encoded input. It retains enc until Close.
func (m *Model) NewDecoder(enc *Encoded, capacity int) (*Decoder, error) {
	if capacity <= 0 {
		return nil, fmt.Errorf("model: decoder capacity %d", capacity)
	}
	if enc == nil || enc.m != m {
		return nil, fmt.Errorf("model: decoder over an encoder output of another model")
	}
	c := m.cfg
	enc.Retain()
	d := &Decoder{m: m, enc: enc, capacity: capacity}
	var err error
	if d.buckets, err = m.dev.UploadU32(BucketTable(capacity, false, c.NumBuckets, c.MaxDistance), 2*capacity-1); err != nil {
		d.Close()
		return nil, fmt.Errorf("model: decoder: %w", err)
	}
	if d.state, err = m.dev.UploadU32(make([]uint32, 4), 4); err != nil {
		d.Close()
		return nil, fmt.Errorf("model: decoder: %w", err)
	}
	rows := make([]uint32, enc.batch)
	for i := range rows {
		rows[i] = uint32(i)
	}
	if d.selfK, d.selfV, err = d.kvTensors(len(rows)); err != nil {
		d.Close()
		return nil, err
	}
	if err := d.setRows(rows); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// kvTensors allocates KV-cache tensors for rows rows.
func (d *Decoder) kvTensors(rows int) (k, v []*gpu.Tensor, err error) {
	c := d.m.cfg
	for range d.m.w.Dec {
		for _, dst := range []*[]*gpu.Tensor{&k, &v} {
			t, err := d.m.dev.NewTensor(gpu.F32, rows, d.capacity, c.Inner())
			if err != nil {
				closeAll(k)
				closeAll(v)
				return nil, nil, fmt.Errorf("model: decoder KV cache: %w", err)
			}
			*dst = append(*dst, t)
		}
	}
	return k, v, nil
}

// setRows replaces the row-to-input map and everything sized by the rows:
// the step's activations and its plan, over the current KV tensors.
func (d *Decoder) setRows(rows []uint32) error {
	m, c := d.m, d.m.cfg
	d.releaseRows()
	d.encRows = rows
	n := len(rows)
	var err error
	alloc := func(dtype gpu.DType, shape ...int) *gpu.Tensor {
		if err != nil {
			return nil
		}
		var t *gpu.Tensor
		t, err = m.dev.NewTensor(dtype, shape...)
		if err == nil {
			d.act = append(d.act, t)
		}
		return t
	}
	d.rowMap, err = m.dev.UploadU32(rows, n)
	if err == nil {
		d.act = append(d.act, d.rowMap)
	}
	d.ids = alloc(gpu.U32, n, 1)
	ff := c.DFF
	d.h, d.h2, d.h3 = alloc(gpu.F32, n, c.DModel), alloc(gpu.F32, n, c.DModel), alloc(gpu.F32, n, c.DModel)
	d.qkv = alloc(gpu.F32, n, 3*c.Inner())
	d.o, d.co = alloc(gpu.F32, n, c.Inner()), alloc(gpu.F32, n, c.Inner())
	d.ff = alloc(gpu.F32, n, ff)
	d.logits = alloc(gpu.F32, n, c.VocabSize)
	d.part = alloc(gpu.U32, m.dev.ArgmaxPartials(n, c.VocabSize, c.DModel, m.lmHead.DType()))
	d.best = alloc(gpu.F32, n, 1)
	d.hist, d.histLP = alloc(gpu.U32, d.capacity, n), alloc(gpu.F32, d.capacity, n)
	d.layerScratch, d.posBias = nil, nil
	if n == 1 && m.layerStep() {
		d.layerScratch = alloc(gpu.U32, gpu.DecoderLayerWords(c.DModel, c.Inner(), ff))
		d.posBias = alloc(gpu.F32, d.buckets.Len(), c.NumHeads)
		if err == nil {
			// The barrier's words start at zero; each dispatch leaves them so.
			b := m.dev.NewBatch()
			b.Clear(d.layerScratch)
			b.Embedding(d.posBias, m.w.DecRelBias, d.buckets)
			err = b.Submit()
		}
	}
	if err != nil {
		return fmt.Errorf("model: decoder rows: %w", err)
	}
	if n > maxStepRows {
		// More rows than the fused kernels take: steps go through the
		// teacher-forcing path (see Step).
		return nil
	}
	d.plan, err = d.recordPlan()
	if err != nil {
		return fmt.Errorf("model: decoder step: %w", err)
	}
	return nil
}

// maxStepRows is the most rows a planned step takes: the fused kernels
// handle up to 8 rows in one pass over the weights.
const maxStepRows = 8

// recordPlan records the decoder step over the current rows.
func (d *Decoder) recordPlan() (*gpu.Plan, error) {
	m, c := d.m, d.m.cfg
	eps := float32(c.LayerNormEps)
	b := m.dev.NewPlanBatch()
	b.Embedding(d.h, m.w.Shared, d.ids)
	for i, l := range m.w.Dec {
		f := m.dec[i]
		if d.layerScratch != nil {
			b.DecoderLayer(gpu.DecoderLayerArgs{
				H: d.h, Scratch: d.layerScratch,
				QKV: f.QKV, SelfO: l.Self.O, CrossQ: f.CrossQ, CrossO: l.Cross.O, In: f.FFNIn, Out: l.FFN.Wo,
				SelfK: d.selfK[i], SelfV: d.selfV[i], CrossK: d.enc.crossK[i], CrossV: d.enc.crossV[i],
				PosBias: d.posBias, State: d.state, KeyLens: d.enc.keyLens, KVRows: d.rowMap,
				Heads: c.NumHeads, HeadDim: c.DKV, Gated: c.Gated, Act: c.Activation, Eps: eps,
			})
			continue
		}
		// Self-attention in two dispatches: fusing the q/k/v projection
		// into the attention measured slower on the H100 (BENCHMARKS.md),
		// as a head's workgroup then reads all of its 3*d_kv weight rows
		// alone; the cross-attention's one query block fuses well.
		b.FMatVec(d.qkv, d.h, f.QKV, gpu.FusedArgs{Norm: true, Eps: eps})
		b.AttnStep(d.o, d.qkv, d.selfK[i], d.selfV[i], gpu.AttnStepArgs{
			Heads: c.NumHeads, HeadDim: c.DKV, Bias: m.w.DecRelBias, Buckets: d.buckets, State: d.state,
		})
		b.FMatVec(d.h2, d.o, l.Self.O, gpu.FusedArgs{Res: d.h})
		b.AttnCross(d.co, d.h2, f.CrossQ, d.enc.crossK[i], d.enc.crossV[i], gpu.ProjArgs{
			Heads: c.NumHeads, HeadDim: c.DKV, Eps: eps, KeyLens: d.enc.keyLens, KVRows: d.rowMap,
		})
		b.FMatVec(d.h3, d.co, l.Cross.O, gpu.FusedArgs{Res: d.h2})
		b.FMatVec(d.ff, d.h3, f.FFNIn, gpu.FusedArgs{Norm: true, Eps: eps, Gate: c.Gated, Act: c.Activation})
		b.FMatVec(d.h, d.ff, l.FFN.Wo, gpu.FusedArgs{Res: d.h3})
	}
	// The greedy choice, on the GPU, straight into the next step's input;
	// a step that wants more candidates runs TopK on the logits after.
	b.FMatVec(d.logits, d.h, m.lmHead, gpu.FusedArgs{Norm: true, Eps: eps, Argmax: d.part})
	b.ArgmaxCombineHist(d.ids, d.best, d.part, d.Rows(), c.VocabSize, c.DModel, m.lmHead.DType(),
		gpu.History{State: d.state, IDs: d.hist, LogProbs: d.histLP})
	return b.Plan()
}

// layerStep says whether a one-row step runs each decoder layer as one
// dispatch (gpu.DecoderLayer): where the device prefers it
// (gpu.Device.DecoderLayerPreferred) and takes every layer matrix
// (gpu.DecoderLayerWeight), unless a step found its barrier failing.
// NIB_DECLAYER=0 turns it off; NIB_DECLAYER=1 turns it on wherever the
// device can run it, a CPU adapter too (tests, measurements).
func (m *Model) layerStep() bool {
	switch os.Getenv("NIB_DECLAYER") {
	case "0":
		return false
	case "1":
		if m.dev.DecoderLayerWorkgroups() == 0 {
			return false
		}
	default:
		if !m.dev.DecoderLayerPreferred() {
			return false
		}
	}
	if m.layerOff.Load() || m.cfg.DKV%4 != 0 {
		return false
	}
	for i, l := range m.w.Dec {
		f := m.dec[i]
		for _, t := range []*gpu.Tensor{f.QKV, l.Self.O, f.CrossQ, l.Cross.O, f.FFNIn, l.FFN.Wo} {
			if !gpu.DecoderLayerWeight(t.DType(), t.Shape()[1]) {
				return false
			}
		}
	}
	return true
}

// errLayerBarrier is layerCheck's error: the one-dispatch layers'
// barrier failed.
var errLayerBarrier = errors.New("the one-dispatch decoder layers' barrier failed")

// layerCheck reads the one-dispatch layers' count of barrier waits that
// gave up (nil: none were read). Any means the GPU did not run the
// layer's workgroups all at once and the step's results are wrong: the
// model then records plans of seven dispatches a layer from now on, and
// the request fails.
func (d *Decoder) layerCheck(spins *gpu.Readback) error {
	if spins == nil {
		return nil
	}
	words, err := spins.U32()
	if err != nil {
		return err
	}
	if words[0] != 0 {
		d.m.layerOff.Store(true)
		return fmt.Errorf("model: decoder: %w: %d waits gave up (the GPU did not run %d workgroups at once); later steps take seven dispatches a layer",
			errLayerBarrier, words[0], d.m.dev.DecoderLayerWorkgroups())
	}
	return nil
}

// releaseRows releases the per-row tensors and the plan.
func (d *Decoder) releaseRows() {
	d.plan.Close()
	d.plan = nil
	closeAll(d.act)
	d.act = nil
	d.topIDs.Close()
	d.topLP.Close()
	d.topIDs, d.topLP = nil, nil
}

// Rows returns the number of rows.
func (d *Decoder) Rows() int { return len(d.encRows) }

// Pos returns the number of positions fed so far.
func (d *Decoder) Pos() int { return d.pos }

// Capacity returns the most positions the decoder can hold.
func (d *Decoder) Capacity() int { return d.capacity }

// Bytes returns the GPU memory held by the KV cache.
func (d *Decoder) Bytes() int64 {
	var n uint64
	for i := range d.selfK {
		n += d.selfK[i].Bytes() + d.selfV[i].Bytes()
	}
	return int64(n)
}

// Close releases the KV cache and the decoder's reference to its encoder
// output.
func (d *Decoder) Close() {
	d.releaseRows()
	closeAll(d.selfK)
	closeAll(d.selfV)
	d.selfK, d.selfV = nil, nil
	d.buckets.Close()
	d.state.Close()
	d.buckets, d.state = nil, nil
	if d.enc != nil {
		d.enc.Close()
		d.enc = nil
	}
}

func closeAll(ts []*gpu.Tensor) {
	for _, t := range ts {
		t.Close()
	}
}

// record records the decoder over t new tokens per row (ids, U32
// [rows, t]) at positions pos..pos+t-1, appending to the KV cache, and
// returns the logits [rows, t, vocab]. It is the teacher-forcing path (and
// the step's, beyond maxStepRows rows): a step's fused kernels over every
// row, recorded afresh rather than planned.
func (d *Decoder) record(b *gpu.Batch, s *scratch, ids *gpu.Tensor, t int) (*gpu.Tensor, error) {
	m, c := d.m, d.m.cfg
	rows := d.Rows()
	if d.pos+t > d.capacity {
		return nil, fmt.Errorf("model: decoder: %d positions exceed the capacity of %d", d.pos+t, d.capacity)
	}
	keys := d.pos + t
	inner := c.Inner()
	h := s.get(gpu.F32, rows, t, c.DModel)
	if h != nil {
		b.Embedding(h, m.w.Shared, ids)
	}
	eps := float32(c.LayerNormEps)
	for i, l := range m.w.Dec {
		if s.err != nil {
			break
		}
		f := m.dec[i]
		q, k, v := m.qkv(b, s, h, f.QKV)
		o := s.get(gpu.F32, rows, t, inner)
		if s.err != nil {
			break
		}
		for r := range rows {
			b.CopyRange(d.selfK[i], (r*d.capacity+d.pos)*inner, k, r*t*inner, t*inner)
			b.CopyRange(d.selfV[i], (r*d.capacity+d.pos)*inner, v, r*t*inner, t*inner)
		}
		b.Attention(o, q, d.selfK[i], d.selfV[i], gpu.AttentionArgs{
			Heads: c.NumHeads, HeadDim: c.DKV, Keys: keys, Bias: m.w.DecRelBias, Buckets: d.buckets, Mask: gpu.Mask{Causal: true},
		})
		h2 := fused(b, s, o, l.Self.O, c.DModel, gpu.FusedArgs{Res: h})
		cq := fused(b, s, h2, f.CrossQ, inner, gpu.FusedArgs{Norm: true, Eps: eps})
		co := s.get(gpu.F32, rows, t, inner)
		if s.err != nil {
			break
		}
		b.Attention(co, cq, d.enc.crossK[i], d.enc.crossV[i], gpu.AttentionArgs{
			Heads: c.NumHeads, HeadDim: c.DKV, Mask: gpu.Mask{KeyLens: d.enc.keyLens}, KVRows: d.rowMap,
		})
		h3 := fused(b, s, co, l.Cross.O, c.DModel, gpu.FusedArgs{Res: h2})
		h = m.feedForward(b, s, h3, f.FFNIn, l.FFN.Wo)
	}
	logits := fused(b, s, h, m.lmHead, c.VocabSize, gpu.FusedArgs{Norm: true, Eps: eps})
	if s.err != nil {
		return nil, s.err
	}
	return logits, nil
}

// checkRow refuses a row of tokens outside the vocabulary.
func (d *Decoder) checkRow(i int, row []int) error {
	if err := checkIDs(row, d.m.cfg.VocabSize); err != nil {
		return fmt.Errorf("model: decoder: row %d: %w", i, err)
	}
	return nil
}

// Logits feeds tokens[r] (the same number for every row) at the next
// positions, as in teacher forcing, and returns the logits
// [rows, T, vocab].
func (d *Decoder) Logits(tokens [][]int) ([]float32, error) {
	m := d.m
	if len(tokens) != d.Rows() {
		return nil, fmt.Errorf("model: decoder: %d token rows for %d decoder rows", len(tokens), d.Rows())
	}
	t := len(tokens[0])
	ids := make([]uint32, 0, d.Rows()*t)
	for i, row := range tokens {
		if len(row) != t {
			return nil, fmt.Errorf("model: decoder: row %d has %d tokens, row 0 has %d", i, len(row), t)
		}
		if err := d.checkRow(i, row); err != nil {
			return nil, err
		}
		ids = append(ids, toU32(row)...)
	}
	s := &scratch{dev: m.dev}
	defer s.release()
	idT := s.get(gpu.U32, d.Rows(), t)
	if s.err != nil {
		return nil, s.err
	}
	if err := idT.WriteU32(ids); err != nil {
		return nil, err
	}
	b := m.dev.NewBatch()
	logits, err := d.record(b, s, idT, t)
	if err != nil {
		b.Discard()
		return nil, err
	}
	if err := b.Submit(); err != nil {
		return nil, err
	}
	d.pos += t
	return logits.ReadF32()
}

// prepareStep checks a step's tokens and writes them and the position to
// the GPU.
func (d *Decoder) prepareStep(tokens []int, k int) error {
	c := d.m.cfg
	rows := d.Rows()
	if len(tokens) != rows {
		return fmt.Errorf("model: decoder step: %d tokens for %d rows", len(tokens), rows)
	}
	if k < 1 || k > c.VocabSize {
		return fmt.Errorf("model: decoder step: k=%d outside [1, %d]", k, c.VocabSize)
	}
	if d.pos >= d.capacity {
		return fmt.Errorf("model: decoder: position %d exceeds the capacity of %d", d.pos, d.capacity)
	}
	if err := checkIDs(tokens, c.VocabSize); err != nil {
		return fmt.Errorf("model: decoder step: %w", err)
	}
	if err := d.topTensors(k); err != nil {
		return err
	}
	return d.ids.WriteU32(toU32(tokens))
}

// topTensors makes the top-k outputs for k candidates per row.
func (d *Decoder) topTensors(k int) error {
	if d.topIDs != nil && d.topIDs.Shape()[1] == k {
		return nil
	}
	d.topIDs.Close()
	d.topLP.Close()
	d.topIDs, d.topLP = nil, nil
	var err error
	if d.topIDs, err = d.m.dev.NewTensor(gpu.U32, d.Rows(), k); err != nil {
		return err
	}
	if d.topLP, err = d.m.dev.NewTensor(gpu.F32, d.Rows(), k); err != nil {
		return err
	}
	return nil
}

// recordStep records one step at d.pos into b and returns the logits: the
// plan, or the teacher-forcing path for more rows than it takes.
func (d *Decoder) recordStep(b *gpu.Batch, s *scratch) (*gpu.Tensor, error) {
	if d.plan == nil {
		return d.record(b, s, d.ids, 1)
	}
	if err := d.state.WriteU32([]uint32{uint32(d.pos), 0, 0, 0}); err != nil {
		return nil, err
	}
	b.Run(d.plan)
	return d.logits, nil
}

// Step feeds one token per row at the next position and returns, per row,
// the k most likely next tokens, best first. The choice is made on the
// GPU: only k ids and log-probabilities per row come back. Ties go to the
// lower id. It records and submits one command buffer.
func (d *Decoder) Step(ctx context.Context, tokens []int, k int) ([]Candidates, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := d.prepareStep(tokens, k); err != nil {
		return nil, err
	}
	s := &scratch{dev: d.m.dev}
	defer s.release()
	b := d.m.dev.NewBatch()
	logits, err := d.recordStep(b, s)
	if err != nil {
		b.Discard()
		return nil, err
	}
	var rIDs, rLP *gpu.Readback
	if k == 1 && d.plan != nil {
		// The plan chose already.
		rIDs, rLP = b.Read(d.ids), b.Read(d.best)
	} else {
		b.TopK(d.topIDs, d.topLP, logits, k)
		rIDs, rLP = b.Read(d.topIDs), b.Read(d.topLP)
	}
	var spins *gpu.Readback
	if d.plan != nil && d.layerScratch != nil {
		spins = b.ReadRange(d.layerScratch, 2, 1)
	}
	if err := b.Submit(); err != nil {
		return nil, err
	}
	d.pos++
	if err := d.layerCheck(spins); err != nil {
		return nil, err
	}
	ids, err := rIDs.U32()
	if err != nil {
		return nil, err
	}
	lp, err := rLP.Bytes()
	if err != nil {
		return nil, err
	}
	rows := d.Rows()
	out := make([]Candidates, rows)
	for r := range out {
		out[r].IDs = make([]int, k)
		out[r].LogProbs = make([]float32, k)
		for j := range k {
			i := r*k + j
			out[r].IDs[j] = int(ids[i])
			out[r].LogProbs[j] = math.Float32frombits(uint32(lp[4*i]) | uint32(lp[4*i+1])<<8 | uint32(lp[4*i+2])<<16 | uint32(lp[4*i+3])<<24)
		}
	}
	return out, nil
}

// Keep rearranges rows: afterwards row i continues what row rows[i] was,
// with its whole KV cache. Rows may repeat (beam search duplicates a beam)
// or be left out (finished or cancelled sequences), so finished work costs
// nothing at later steps.
func (d *Decoder) Keep(rows []int) error {
	if len(rows) == 0 {
		return fmt.Errorf("model: decoder keep: no rows")
	}
	identity := len(rows) == d.Rows()
	for i, r := range rows {
		if r < 0 || r >= d.Rows() {
			return fmt.Errorf("model: decoder keep: row %d does not exist (%d rows)", r, d.Rows())
		}
		identity = identity && r == i
	}
	if identity {
		return nil
	}
	k, v, err := d.kvTensors(len(rows))
	if err != nil {
		return err
	}
	if d.pos > 0 {
		inner := d.m.cfg.Inner()
		n := d.pos * inner
		b := d.m.dev.NewBatch()
		for l := range d.selfK {
			for i, r := range rows {
				b.CopyRange(k[l], i*d.capacity*inner, d.selfK[l], r*d.capacity*inner, n)
				b.CopyRange(v[l], i*d.capacity*inner, d.selfV[l], r*d.capacity*inner, n)
			}
		}
		if err := b.Submit(); err != nil {
			closeAll(k)
			closeAll(v)
			return fmt.Errorf("model: decoder keep: %w", err)
		}
	}
	encRows := make([]uint32, len(rows))
	for i, r := range rows {
		encRows[i] = d.encRows[r]
	}
	oldK, oldV := d.selfK, d.selfV
	d.selfK, d.selfV = k, v
	if err := d.setRows(encRows); err != nil {
		return err
	}
	closeAll(oldK)
	closeAll(oldV)
	return nil
}

// Greedy decodes up to steps tokens per row after the decoder start token,
// choosing each by argmax on the GPU. With stopAtEOS, a row ends after its
// EOS token and decoding stops when every row has ended. It checks ctx
// before each step. The returned rows hold the generated tokens without
// the start token.
func (d *Decoder) Greedy(ctx context.Context, steps int, stopAtEOS bool) ([][]int, error) {
	c := d.m.cfg
	if d.pos != 0 {
		return nil, fmt.Errorf("model: greedy decoding must start at position 0, not %d", d.pos)
	}
	rows := d.Rows()
	in := make([]int, rows)
	for i := range in {
		in[i] = c.DecoderStartID
	}
	out := make([][]int, rows)
	done := make([]bool, rows)
	for range steps {
		cands, err := d.Step(ctx, in, 1)
		if err != nil {
			return out, err
		}
		all := true
		for i, cand := range cands {
			in[i] = cand.IDs[0]
			if done[i] {
				continue
			}
			out[i] = append(out[i], in[i])
			if stopAtEOS && in[i] == c.EOSID {
				done[i] = true
			}
			all = all && done[i]
		}
		if stopAtEOS && all {
			break
		}
	}
	return out, nil
}

// RunGreedy decodes greedily from first (one token per row), the argmax
// taken on the GPU and fed back on the GPU, and the position advanced on
// the GPU: several steps go into one submission (1, then 2, 4 and up to
// maxChunk as the run goes on, so the first tokens come quickly), and the
// next submission is recorded while the GPU computes the last. The host's
// cost per step is then the recording alone, not a submission and a wait.
// emit gets each step's chosen ids and log-probabilities, in order, and
// returns false to stop; at most maxSteps steps are emitted. Steps computed
// past the one emit stopped at leave no trace: the position goes back, and
// their cache entries are overwritten by later steps.
//
// Decoders of more rows than a planned step takes run step by step.
func (d *Decoder) RunGreedy(ctx context.Context, first []int, maxSteps int, emit func(ids []int, logprobs []float32) bool) error {
	if d.plan == nil {
		tokens := append([]int(nil), first...)
		for range maxSteps {
			cands, err := d.Step(ctx, tokens, 1)
			if err != nil {
				return err
			}
			ids := make([]int, len(cands))
			lps := make([]float32, len(cands))
			for i, c := range cands {
				ids[i], lps[i] = c.IDs[0], c.LogProbs[0]
			}
			if !emit(ids, lps) {
				return nil
			}
			tokens = ids
		}
		return nil
	}
	if maxSteps <= 0 {
		return nil
	}
	if err := d.prepareStep(first, 1); err != nil {
		return err
	}
	if err := d.state.WriteU32([]uint32{uint32(d.pos), 0, 0, 0}); err != nil {
		return err
	}
	rows := d.Rows()
	type chunk struct {
		start, n        int
		ids, lps, spins *gpu.Readback
	}
	// discard gives up a chunk's reads that are not wanted; later work on
	// the queue runs after it, so there is no waiting for it.
	discard := func(c *chunk) {
		if c != nil {
			c.ids.Discard()
			c.lps.Discard()
			c.spins.Discard()
		}
	}
	next := 1
	submitted := 0 // steps submitted
	submit := func() (*chunk, error) {
		n := min(next, maxSteps-submitted, d.capacity-d.pos)
		if n <= 0 || ctx.Err() != nil {
			return nil, nil
		}
		next = min(2*next, maxChunk)
		b := d.m.dev.NewBatch()
		for range n {
			b.Run(d.plan)
		}
		c := &chunk{start: d.pos, n: n}
		c.ids = b.ReadRange(d.hist, d.pos*rows, n*rows)
		c.lps = b.ReadRange(d.histLP, d.pos*rows, n*rows)
		if d.layerScratch != nil {
			c.spins = b.ReadRange(d.layerScratch, 2, 1)
		}
		if err := b.Submit(); err != nil {
			return nil, err
		}
		d.pos += n
		submitted += n
		return c, nil
	}
	cur, err := submit()
	if err != nil {
		return err
	}
	emitted := 0
	for cur != nil {
		ahead, err := submit()
		if err != nil {
			return err
		}
		ids, err := cur.ids.U32()
		if err != nil {
			return err
		}
		raw, err := cur.lps.Bytes()
		if err != nil {
			return err
		}
		if err := d.layerCheck(cur.spins); err != nil {
			discard(ahead)
			return err
		}
		for j := range cur.n {
			out := make([]int, rows)
			lps := make([]float32, rows)
			for r := range rows {
				i := j*rows + r
				out[r] = int(ids[i])
				lps[r] = math.Float32frombits(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24)
			}
			emitted++
			if !emit(out, lps) {
				// What was computed ahead is not wanted.
				discard(ahead)
				d.pos = cur.start + j + 1
				return nil
			}
		}
		cur = ahead
	}
	if emitted < maxSteps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.pos >= d.capacity {
			return fmt.Errorf("model: decoder: position %d exceeds the capacity of %d", d.pos, d.capacity)
		}
	}
	return nil
}

// maxChunk is the most greedy steps RunGreedy puts in one submission: past
// it the host's submission cost is spread thin, and more would only waste
// GPU time after an early stop.
const maxChunk = 8
