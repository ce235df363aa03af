package model

import (
	"math"

	"github.com/nib-editor/nib/kernels"
)

// CPU runs T5 in plain Go with float64 accumulation, one sequence at a
// time, following transformers' code literally. It is slow and exists as a
// second reference for tests of the GPU path.
type CPU struct {
	cfg *Config
	w   *weights[[]float32]
}

// LoadCPU reads every weight of ck as float32.
func LoadCPU(ck *Checkpoint) (*CPU, error) {
	w, err := loadWeights(ck.Config, func(name string, shape []int, _ weightKind) ([]float32, error) {
		return ck.float32s(name, shape)
	})
	if err != nil {
		return nil, err
	}
	return &CPU{cfg: ck.Config, w: w}, nil
}

// Encode returns the encoder's last hidden state for ids, [len(ids),
// d_model], after the final layer norm.
func (m *CPU) Encode(ids []int) ([]float32, error) {
	c := m.cfg
	n := len(ids)
	if err := checkIDs(ids, c.VocabSize); err != nil {
		return nil, err
	}
	h := kernels.EmbeddingRef(m.w.Shared, c.DModel, toU32(ids))
	table := BucketTable(n, true, c.NumBuckets, c.MaxDistance)
	for _, l := range m.w.Enc {
		x := kernels.RMSNormRef(h, l.SelfNorm, float32(c.LayerNormEps))
		h = kernels.AddRef(h, m.attention(x, n, x, n, l.Self, m.w.EncRelBias, table, false))
		x = kernels.RMSNormRef(h, l.FFNNorm, float32(c.LayerNormEps))
		h = kernels.AddRef(h, m.ffn(x, n, l.FFN))
	}
	return kernels.RMSNormRef(h, m.w.EncFinal, float32(c.LayerNormEps)), nil
}

// DecoderLogits returns the logits [len(dec), vocab] of the decoder fed dec
// (teacher forcing) against the encoder output enc of encLen positions.
func (m *CPU) DecoderLogits(enc []float32, encLen int, dec []int) ([]float32, error) {
	c := m.cfg
	n := len(dec)
	if err := checkIDs(dec, c.VocabSize); err != nil {
		return nil, err
	}
	h := kernels.EmbeddingRef(m.w.Shared, c.DModel, toU32(dec))
	table := BucketTable(n, false, c.NumBuckets, c.MaxDistance)
	for _, l := range m.w.Dec {
		x := kernels.RMSNormRef(h, l.SelfNorm, float32(c.LayerNormEps))
		h = kernels.AddRef(h, m.attention(x, n, x, n, l.Self, m.w.DecRelBias, table, true))
		x = kernels.RMSNormRef(h, l.CrossNorm, float32(c.LayerNormEps))
		h = kernels.AddRef(h, m.attention(x, n, enc, encLen, l.Cross, nil, nil, false))
		x = kernels.RMSNormRef(h, l.FFNNorm, float32(c.LayerNormEps))
		h = kernels.AddRef(h, m.ffn(x, n, l.FFN))
	}
	h = kernels.RMSNormRef(h, m.w.DecFinal, float32(c.LayerNormEps))
	if c.TieWordEmbeddings {
		// transformers rescales before the tied projection.
		s := float32(math.Pow(float64(c.DModel), -0.5))
		for i := range h {
			h[i] *= s
		}
	}
	return kernels.MatMulRef(h, m.w.LMHead, n, c.VocabSize, c.DModel), nil
}

// attention is one T5 attention block: queries from x (n rows), keys and
// values from src (s rows), output projected back to d_model.
func (m *CPU) attention(x []float32, n int, src []float32, s int, w attnWeights[[]float32], bias []float32, buckets []uint32, causal bool) []float32 {
	c := m.cfg
	d, inner := c.DModel, c.Inner()
	q := kernels.MatMulRef(x, w.Q, n, inner, d)
	k := kernels.MatMulRef(src, w.K, s, inner, d)
	v := kernels.MatMulRef(src, w.V, s, inner, d)
	o := kernels.AttentionRef(q, k, v, kernels.AttentionArgs{
		Batch: 1, Queries: n, Keys: s, Capacity: s, Heads: c.NumHeads, HeadDim: c.DKV,
		Bias: bias, Buckets: buckets, Mask: kernels.Mask{Causal: causal},
	})
	return kernels.MatMulRef(o, w.O, n, d, inner)
}

func (m *CPU) ffn(x []float32, n int, w ffnWeights[[]float32]) []float32 {
	c := m.cfg
	d, ff := c.DModel, c.DFF
	var h []float32
	switch {
	case c.Gated && c.Activation == "gelu_new":
		h = kernels.GatedGeluRef(kernels.MatMulRef(x, w.Wi0, n, ff, d), kernels.MatMulRef(x, w.Wi1, n, ff, d))
	case c.Gated:
		h = kernels.GatedReluRef(kernels.MatMulRef(x, w.Wi0, n, ff, d), kernels.MatMulRef(x, w.Wi1, n, ff, d))
	case c.Activation == "gelu_new":
		h = kernels.GeluNewRef(kernels.MatMulRef(x, w.Wi, n, ff, d))
	default:
		h = kernels.ReLURef(kernels.MatMulRef(x, w.Wi, n, ff, d))
	}
	return kernels.MatMulRef(h, w.Wo, n, d, ff)
}
