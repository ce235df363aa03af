package model

import (
	"context"
	"fmt"

	"github.com/nib-editor/nib/gpu"
)

// Decoder runs T5's decoder for one encoded batch, keeping the
// self-attention keys and values of every position fed so far (the KV
// cache), so that each new token costs one position's work.
type Decoder struct {
	m        *Model
	enc      *Encoded
	capacity int
	pos      int
	selfK    []*gpu.Tensor // per layer [B, capacity, inner]
	selfV    []*gpu.Tensor
	ids      [2]*gpu.Tensor // greedy ping-pong: this step's input, next step's
}

// NewDecoder prepares a decoder over enc for up to capacity positions.
func (m *Model) NewDecoder(enc *Encoded, capacity int) (*Decoder, error) {
	if capacity <= 0 {
		return nil, fmt.Errorf("model: decoder capacity %d", capacity)
	}
	c := m.cfg
	d := &Decoder{m: m, enc: enc, capacity: capacity}
	for range m.w.Dec {
		k, err := m.dev.NewTensor(gpu.F32, enc.batch, capacity, c.Inner())
		if err != nil {
			d.Close()
			return nil, err
		}
		d.selfK = append(d.selfK, k)
		v, err := m.dev.NewTensor(gpu.F32, enc.batch, capacity, c.Inner())
		if err != nil {
			d.Close()
			return nil, err
		}
		d.selfV = append(d.selfV, v)
	}
	return d, nil
}

// Pos returns the number of positions fed so far.
func (d *Decoder) Pos() int { return d.pos }

// Close releases the KV cache.
func (d *Decoder) Close() {
	for _, t := range append(d.selfK, d.selfV...) {
		t.Close()
	}
	d.selfK, d.selfV = nil, nil
	d.ids[0].Close()
	d.ids[1].Close()
}

// record records the decoder over t new tokens per batch item (ids, U32
// [B, t]) at positions pos..pos+t-1, appending to the KV cache, and returns
// the logits [B, t, vocab].
func (d *Decoder) record(b *gpu.Batch, s *scratch, ids *gpu.Tensor, t int) (*gpu.Tensor, error) {
	m, c := d.m, d.m.cfg
	batch := d.enc.batch
	if d.pos+t > d.capacity {
		return nil, fmt.Errorf("model: decoder: %d positions exceed the capacity of %d", d.pos+t, d.capacity)
	}
	keys := d.pos + t
	table, err := m.table(false, keys)
	if err != nil {
		return nil, err
	}
	inner := c.Inner()
	h := s.get(gpu.F32, batch, t, c.DModel)
	if h != nil {
		b.Embedding(h, m.w.Shared, ids)
	}
	for i, l := range m.w.Dec {
		if s.err != nil {
			break
		}
		x := m.norm(b, s, h, l.SelfNorm)
		k := s.get(gpu.F32, batch, t, inner)
		v := s.get(gpu.F32, batch, t, inner)
		if s.err != nil {
			break
		}
		b.MatMul(k, x, l.Self.K)
		b.MatMul(v, x, l.Self.V)
		for bi := range batch {
			b.CopyRange(d.selfK[i], (bi*d.capacity+d.pos)*inner, k, bi*t*inner, t*inner)
			b.CopyRange(d.selfV[i], (bi*d.capacity+d.pos)*inner, v, bi*t*inner, t*inner)
		}
		self := gpu.AttentionArgs{Keys: keys, Bias: m.w.DecRelBias, Buckets: table, Mask: gpu.Mask{Causal: true}}
		h = residual(b, s, h, m.attention(b, s, x, l.Self, d.selfK[i], d.selfV[i], self))
		if s.err != nil {
			break
		}
		cross := gpu.AttentionArgs{Mask: gpu.Mask{KeyLens: d.enc.keyLens}}
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
	logits := s.get(gpu.F32, batch, t, c.VocabSize)
	if s.err != nil {
		return nil, s.err
	}
	b.MatMul(logits, x, m.w.LMHead)
	return logits, nil
}

// Logits feeds tokens[b] (the same number for every batch item) at the next
// positions, as in teacher forcing, and returns the logits [B, T, vocab].
func (d *Decoder) Logits(tokens [][]int) ([]float32, error) {
	m := d.m
	if len(tokens) != d.enc.batch {
		return nil, fmt.Errorf("model: decoder: %d token rows for a batch of %d", len(tokens), d.enc.batch)
	}
	t := len(tokens[0])
	ids := make([]uint32, 0, d.enc.batch*t)
	for i, row := range tokens {
		if len(row) != t {
			return nil, fmt.Errorf("model: decoder: row %d has %d tokens, row 0 has %d", i, len(row), t)
		}
		if err := checkIDs(row, m.cfg.VocabSize); err != nil {
			return nil, fmt.Errorf("model: decoder: row %d: %w", i, err)
		}
		ids = append(ids, toU32(row)...)
	}
	s := &scratch{dev: m.dev}
	defer s.release()
	idT := s.get(gpu.U32, d.enc.batch, t)
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

// Greedy decodes up to steps tokens per batch item after the decoder start
// token, choosing each by argmax on the GPU and reading back only the ids.
// With stopAtEOS, a row ends after its EOS token and decoding stops when
// every row has ended. It checks ctx between steps. The returned rows hold
// the generated tokens without the start token.
func (d *Decoder) Greedy(ctx context.Context, steps int, stopAtEOS bool) ([][]int, error) {
	m, c := d.m, d.m.cfg
	batch := d.enc.batch
	if d.pos != 0 {
		return nil, fmt.Errorf("model: greedy decoding must start at position 0, not %d", d.pos)
	}
	for i := range d.ids {
		if d.ids[i] == nil {
			t, err := m.dev.NewTensor(gpu.U32, batch, 1)
			if err != nil {
				return nil, err
			}
			d.ids[i] = t
		}
	}
	start := make([]uint32, batch)
	for i := range start {
		start[i] = uint32(c.DecoderStartID)
	}
	if err := d.ids[0].WriteU32(start); err != nil {
		return nil, err
	}
	out := make([][]int, batch)
	done := make([]bool, batch)
	s := &scratch{dev: m.dev}
	b := m.dev.NewBatch()
	for step := 0; step < steps; step++ {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		in, next := d.ids[step%2], d.ids[(step+1)%2]
		logits, err := d.record(b, s, in, 1)
		if err != nil {
			b.Discard()
			s.release()
			return out, err
		}
		b.Argmax(next, logits)
		r := b.Read(next)
		err = b.Submit()
		s.release()
		if err != nil {
			return out, err
		}
		d.pos++
		ids, err := r.U32()
		if err != nil {
			return out, err
		}
		all := true
		for i, id := range ids {
			if done[i] {
				continue
			}
			out[i] = append(out[i], int(id))
			if stopAtEOS && int(id) == c.EOSID {
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
