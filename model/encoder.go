package model

import (
	"fmt"
	"sync/atomic"

	"github.com/nib-editor/nib/gpu"
)

// Encoded is one encoded batch on the GPU: the encoder's last hidden state
// and, for each decoder layer, the cross-attention keys and values computed
// from it once.
//
// An Encoded is reference-counted: it starts with one reference, Retain
// adds one, Close drops one, and the GPU memory goes with the last. A
// decoder retains its input, so a cache may drop an Encoded that a decoder
// still uses.
type Encoded struct {
	m       *Model
	refs    atomic.Int32
	lens    []int
	batch   int
	length  int // padded length L
	hidden  *gpu.Tensor
	keyLens *gpu.Tensor
	crossK  []*gpu.Tensor
	crossV  []*gpu.Tensor
}

// encodeSubmitLayers is how many encoder layers go into one submission.
const encodeSubmitLayers = 2

// Encode runs the encoder over a batch of token sequences, padded to the
// longest with the pad id; padding is masked out of attention.
func (m *Model) Encode(inputs [][]int) (*Encoded, error) {
	c := m.cfg
	if len(inputs) == 0 {
		return nil, fmt.Errorf("model: encode: empty batch")
	}
	length := 0
	for i, in := range inputs {
		if err := checkIDs(in, c.VocabSize); err != nil {
			return nil, fmt.Errorf("model: encode: input %d: %w", i, err)
		}
		length = max(length, len(in))
	}
	batch := len(inputs)
	ids := make([]uint32, batch*length)
	lens := make([]uint32, batch)
	for i, in := range inputs {
		lens[i] = uint32(len(in))
		for j := range length {
			ids[i*length+j] = uint32(c.PadID)
			if j < len(in) {
				ids[i*length+j] = uint32(in[j])
			}
		}
	}
	table, err := m.table(true, length)
	if err != nil {
		return nil, err
	}
	e := &Encoded{m: m, batch: batch, length: length}
	e.refs.Store(1)
	for _, l := range lens {
		e.lens = append(e.lens, int(l))
	}
	s := &scratch{dev: m.dev}
	defer s.release()
	idT := s.get(gpu.U32, batch, length)
	if s.err != nil {
		return nil, s.err
	}
	if err := idT.WriteU32(ids); err != nil {
		return nil, err
	}
	if e.keyLens, err = m.dev.UploadU32(lens, batch); err != nil {
		return nil, err
	}
	b := m.dev.NewBatch()
	h := s.get(gpu.F32, batch, length, c.DModel)
	if h != nil {
		b.Embedding(h, m.w.Shared, idT)
	}
	inner := c.Inner()
	self := gpu.AttentionArgs{Heads: c.NumHeads, HeadDim: c.DKV, Bias: m.w.EncRelBias, Buckets: table, Mask: gpu.Mask{KeyLens: e.keyLens}}
	for i, l := range m.w.Enc {
		if s.err != nil {
			break
		}
		if i > 0 && i%encodeSubmitLayers == 0 {
			// Hand the GPU what is recorded so far: it computes these
			// layers while the host records the next ones.
			if err := b.Submit(); err != nil {
				s.err = err
				break
			}
		}
		// Five sub-layers fused as a decoder step's are (the norms folded
		// into the weights, the residuals into the output projections):
		// seven dispatches a layer instead of thirteen.
		f := m.enc[i]
		q, k, v := m.qkv(b, s, h, f.QKV)
		o := s.get(gpu.F32, batch, length, inner)
		if s.err != nil {
			break
		}
		b.Attention(o, q, k, v, self)
		h2 := fused(b, s, o, l.Self.O, c.DModel, gpu.FusedArgs{Res: h})
		h = m.feedForward(b, s, h2, f.FFNIn, l.FFN.Wo)
	}
	if s.err == nil {
		e.hidden, s.err = m.dev.NewTensor(gpu.F32, batch, length, c.DModel)
	}
	if s.err == nil {
		b.RMSNorm(e.hidden, h, m.w.EncFinal, float32(c.LayerNormEps))
		for _, l := range m.w.Dec {
			k, err := m.dev.NewTensor(gpu.F32, batch, length, c.Inner())
			if err != nil {
				s.err = err
				break
			}
			e.crossK = append(e.crossK, k)
			v, err := m.dev.NewTensor(gpu.F32, batch, length, c.Inner())
			if err != nil {
				s.err = err
				break
			}
			e.crossV = append(e.crossV, v)
			b.MatMul(k, e.hidden, l.Cross.K)
			b.MatMul(v, e.hidden, l.Cross.V)
		}
	}
	if s.err != nil {
		b.Discard()
		e.Close()
		return nil, fmt.Errorf("model: encode: %w", s.err)
	}
	if err := b.Submit(); err != nil {
		e.Close()
		return nil, fmt.Errorf("model: encode: %w", err)
	}
	return e, nil
}

// Hidden downloads the encoder's last hidden state, [B, L, d_model] with L
// the padded length. A stacked Encoded has none.
func (e *Encoded) Hidden() ([]float32, error) {
	if e.hidden == nil {
		return nil, fmt.Errorf("model: this encoder output keeps no hidden state")
	}
	return e.hidden.ReadF32()
}

// Len returns the padded input length.
func (e *Encoded) Len() int { return e.length }

// Bytes returns the GPU memory the encoder output holds.
func (e *Encoded) Bytes() int64 {
	var n uint64
	for _, t := range append(append([]*gpu.Tensor{e.hidden, e.keyLens}, e.crossK...), e.crossV...) {
		if t != nil {
			n += t.Bytes()
		}
	}
	return int64(n)
}

// Retain adds a reference; each Retain needs its own Close.
func (e *Encoded) Retain() { e.refs.Add(1) }

// Close drops a reference and releases the encoder output and its
// cross-attention keys and values with the last one.
func (e *Encoded) Close() {
	if e.refs.Add(-1) > 0 {
		return
	}
	e.hidden.Close()
	e.keyLens.Close()
	for _, t := range e.crossK {
		t.Close()
	}
	for _, t := range e.crossV {
		t.Close()
	}
	e.crossK, e.crossV = nil, nil
}

// Stack joins encoder outputs into one batch, padded to the longest, so
// that requests encoded separately (or found in a cache) can be decoded
// together in one forward pass per step. The result holds copies of the
// cross-attention keys and values and no hidden state; the inputs are left
// as they were.
func (m *Model) Stack(encs []*Encoded) (*Encoded, error) {
	if len(encs) == 0 {
		return nil, fmt.Errorf("model: stack: no encoder outputs")
	}
	c := m.cfg
	out := &Encoded{m: m}
	out.refs.Store(1)
	for _, e := range encs {
		if e.m != m {
			return nil, fmt.Errorf("model: stack: encoder output of another model")
		}
		out.batch += e.batch
		out.length = max(out.length, e.length)
		out.lens = append(out.lens, e.lens...)
	}
	lens := make([]uint32, len(out.lens))
	for i, l := range out.lens {
		lens[i] = uint32(l)
	}
	var err error
	if out.keyLens, err = m.dev.UploadU32(lens, out.batch); err != nil {
		return nil, fmt.Errorf("model: stack: %w", err)
	}
	inner := c.Inner()
	b := m.dev.NewBatch()
	for l := range m.w.Dec {
		for _, dst := range []*[]*gpu.Tensor{&out.crossK, &out.crossV} {
			t, err := m.dev.NewTensor(gpu.F32, out.batch, out.length, inner)
			if err != nil {
				b.Discard()
				out.Close()
				return nil, fmt.Errorf("model: stack: %w", err)
			}
			*dst = append(*dst, t)
		}
		row := 0
		for _, e := range encs {
			for i := range e.batch {
				n := e.length * inner
				b.CopyRange(out.crossK[l], row*out.length*inner, e.crossK[l], i*n, n)
				b.CopyRange(out.crossV[l], row*out.length*inner, e.crossV[l], i*n, n)
				row++
			}
		}
	}
	if err := b.Submit(); err != nil {
		out.Close()
		return nil, fmt.Errorf("model: stack: %w", err)
	}
	return out, nil
}

// checkIDs refuses token ids outside the vocabulary: the GPU gather would
// silently read zeros for them.
func checkIDs(ids []int, vocab int) error {
	if len(ids) == 0 {
		return fmt.Errorf("model: empty token sequence")
	}
	for i, id := range ids {
		if id < 0 || id >= vocab {
			return fmt.Errorf("model: token %d at position %d is outside the vocabulary of %d", id, i, vocab)
		}
	}
	return nil
}

// toU32 converts token ids for the GPU, which reads them as uint32; checkIDs
// has ruled out negative ones.
func toU32(ids []int) []uint32 {
	out := make([]uint32, len(ids))
	for i, id := range ids {
		out[i] = uint32(id)
	}
	return out
}
