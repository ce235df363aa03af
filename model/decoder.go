package model

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/nib-editor/nib/gpu"
)

// Decoder runs T5's decoder over an encoded batch, keeping the
// self-attention keys and values of every position fed so far (the KV
// cache), so that each new token costs one position's work. It has rows,
// each one sequence being generated, that advance in lockstep; every row
// reads the encoder output of one encoded input, and several rows (beams,
// alternatives) may share one. A Decoder is used by one goroutine at a
// time.
type Decoder struct {
	m        *Model
	enc      *Encoded
	capacity int
	pos      int
	encRows  []uint32      // per row, the encoded input it reads
	rowMap   *gpu.Tensor   // encRows on the GPU
	selfK    []*gpu.Tensor // per layer [rows, capacity, inner]
	selfV    []*gpu.Tensor
	ids      *gpu.Tensor // U32 [rows, 1]: the tokens fed at a step
	topIDs   *gpu.Tensor // U32 [rows, k]
	topLP    *gpu.Tensor // F32 [rows, k]
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
	enc.Retain()
	d := &Decoder{m: m, enc: enc, capacity: capacity}
	rows := make([]uint32, enc.batch)
	for i := range rows {
		rows[i] = uint32(i)
	}
	if err := d.setRows(rows); err != nil {
		d.Close()
		return nil, err
	}
	var err error
	d.selfK, d.selfV, err = d.kvTensors(len(rows))
	if err != nil {
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

// setRows replaces the row-to-input map and the per-row tensors sized by
// it.
func (d *Decoder) setRows(rows []uint32) error {
	rowMap, err := d.m.dev.UploadU32(rows, len(rows))
	if err != nil {
		return fmt.Errorf("model: decoder rows: %w", err)
	}
	ids, err := d.m.dev.NewTensor(gpu.U32, len(rows), 1)
	if err != nil {
		rowMap.Close()
		return fmt.Errorf("model: decoder rows: %w", err)
	}
	d.rowMap.Close()
	d.ids.Close()
	d.topIDs.Close()
	d.topLP.Close()
	d.rowMap, d.ids, d.topIDs, d.topLP = rowMap, ids, nil, nil
	d.encRows = rows
	return nil
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
	for _, t := range append(slices.Clone(d.selfK), d.selfV...) {
		n += t.Bytes()
	}
	return int64(n)
}

// Encoded returns the encoder output the decoder reads.
func (d *Decoder) Encoded() *Encoded { return d.enc }

// Close releases the KV cache and the decoder's reference to its encoder
// output.
func (d *Decoder) Close() {
	closeAll(d.selfK)
	closeAll(d.selfV)
	d.selfK, d.selfV = nil, nil
	for _, t := range []*gpu.Tensor{d.rowMap, d.ids, d.topIDs, d.topLP} {
		t.Close()
	}
	d.rowMap, d.ids, d.topIDs, d.topLP = nil, nil, nil, nil
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
// returns the logits [rows, t, vocab].
func (d *Decoder) record(b *gpu.Batch, s *scratch, ids *gpu.Tensor, t int) (*gpu.Tensor, error) {
	m, c := d.m, d.m.cfg
	rows := d.Rows()
	if d.pos+t > d.capacity {
		return nil, fmt.Errorf("model: decoder: %d positions exceed the capacity of %d", d.pos+t, d.capacity)
	}
	keys := d.pos + t
	table, err := m.table(false, keys)
	if err != nil {
		return nil, err
	}
	inner := c.Inner()
	h := s.get(gpu.F32, rows, t, c.DModel)
	if h != nil {
		b.Embedding(h, m.w.Shared, ids)
	}
	for i, l := range m.w.Dec {
		if s.err != nil {
			break
		}
		x := m.norm(b, s, h, l.SelfNorm)
		k := s.get(gpu.F32, rows, t, inner)
		v := s.get(gpu.F32, rows, t, inner)
		if s.err != nil {
			break
		}
		b.MatMul(k, x, l.Self.K)
		b.MatMul(v, x, l.Self.V)
		for r := range rows {
			b.CopyRange(d.selfK[i], (r*d.capacity+d.pos)*inner, k, r*t*inner, t*inner)
			b.CopyRange(d.selfV[i], (r*d.capacity+d.pos)*inner, v, r*t*inner, t*inner)
		}
		self := gpu.AttentionArgs{Keys: keys, Bias: m.w.DecRelBias, Buckets: table, Mask: gpu.Mask{Causal: true}}
		h = residual(b, s, h, m.attention(b, s, x, l.Self, d.selfK[i], d.selfV[i], self))
		if s.err != nil {
			break
		}
		cross := gpu.AttentionArgs{Mask: gpu.Mask{KeyLens: d.enc.keyLens}, KVRows: d.rowMap}
		h = residual(b, s, h, m.attention(b, s, m.norm(b, s, h, l.CrossNorm), l.Cross, d.enc.crossK[i], d.enc.crossV[i], cross))
		if s.err != nil {
			break
		}
		h = residual(b, s, h, m.ffn(b, s, m.norm(b, s, h, l.FFNNorm), l.FFN))
	}
	x := (*gpu.Tensor)(nil)
	if s.err == nil {
		// The final norm's weight carries the tied-embedding scale.
		x = m.norm(b, s, h, m.w.DecFinal)
	}
	logits := s.get(gpu.F32, rows, t, c.VocabSize)
	if s.err != nil {
		return nil, s.err
	}
	b.MatMul(logits, x, m.w.LMHead)
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

// Step feeds one token per row at the next position and returns, per row,
// the k most likely next tokens, best first. The choice is made on the
// GPU: only k ids and log-probabilities per row come back. Ties go to the
// lower id. It records and submits one command buffer.
func (d *Decoder) Step(ctx context.Context, tokens []int, k int) ([]Candidates, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, c := d.m, d.m.cfg
	rows := d.Rows()
	if len(tokens) != rows {
		return nil, fmt.Errorf("model: decoder step: %d tokens for %d rows", len(tokens), rows)
	}
	if k < 1 || k > c.VocabSize {
		return nil, fmt.Errorf("model: decoder step: k=%d outside [1, %d]", k, c.VocabSize)
	}
	if err := checkIDs(tokens, c.VocabSize); err != nil {
		return nil, fmt.Errorf("model: decoder step: %w", err)
	}
	if d.topIDs == nil || d.topIDs.Shape()[1] != k {
		d.topIDs.Close()
		d.topLP.Close()
		d.topIDs, d.topLP = nil, nil
		var err error
		if d.topIDs, err = m.dev.NewTensor(gpu.U32, rows, k); err != nil {
			return nil, err
		}
		if d.topLP, err = m.dev.NewTensor(gpu.F32, rows, k); err != nil {
			return nil, err
		}
	}
	if err := d.ids.WriteU32(toU32(tokens)); err != nil {
		return nil, err
	}
	s := &scratch{dev: m.dev}
	defer s.release()
	b := m.dev.NewBatch()
	logits, err := d.record(b, s, d.ids, 1)
	if err != nil {
		b.Discard()
		return nil, err
	}
	b.TopK(d.topIDs, d.topLP, logits, k)
	rIDs, rLP := b.Read(d.topIDs), b.Read(d.topLP)
	if err := b.Submit(); err != nil {
		return nil, err
	}
	d.pos++
	ids, err := rIDs.U32()
	if err != nil {
		return nil, err
	}
	lp, err := rLP.Bytes()
	if err != nil {
		return nil, err
	}
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
	if err := d.setRows(encRows); err != nil {
		closeAll(k)
		closeAll(v)
		return err
	}
	closeAll(d.selfK)
	closeAll(d.selfV)
	d.selfK, d.selfV = k, v
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
