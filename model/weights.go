package model

import "fmt"

// weightKind tells a loader what a tensor is for, so that it can choose a
// storage dtype: FLAN-T5's activations overflow f16 in the feed-forward
// output projection and the lm_head, which therefore stay f32.
type weightKind uint8

const (
	kindNorm      weightKind = iota // RMSNorm scale [d_model]
	kindRelBias                     // relative attention bias [buckets, heads]
	kindEmbedding                   // token embedding [vocab, d_model]
	kindLinear                      // projection [out, in]
	kindFFNOut                      // feed-forward output projection wo
	kindLMHead                      // output projection [vocab, d_model]
)

type attnWeights[T any] struct{ Q, K, V, O T }

// ffnWeights holds Wi for a plain feed-forward block, Wi0 (gate) and Wi1
// for a gated one; Wo in both.
type ffnWeights[T any] struct{ Wi, Wi0, Wi1, Wo T }

type encoderLayer[T any] struct {
	SelfNorm T
	Self     attnWeights[T]
	FFNNorm  T
	FFN      ffnWeights[T]
}

type decoderLayer[T any] struct {
	SelfNorm  T
	Self      attnWeights[T]
	CrossNorm T
	Cross     attnWeights[T]
	FFNNorm   T
	FFN       ffnWeights[T]
}

// weights is every tensor of a T5 model, of a type T chosen by the loader:
// GPU tensors for inference, float32 slices for the CPU reference. When the
// embeddings are tied, LMHead and Shared are the same value.
type weights[T any] struct {
	Shared     T
	LMHead     T
	EncRelBias T
	DecRelBias T
	Enc        []encoderLayer[T]
	EncFinal   T
	Dec        []decoderLayer[T]
	DecFinal   T
}

// getter returns the tensor named name, whose shape config.json implies.
type getter[T any] func(name string, shape []int, kind weightKind) (T, error)

// loadWeights fills a weights[T] through get, in a fixed order, naming the
// tensors as transformers' T5ForConditionalGeneration does. It is the one
// declaration of a checkpoint's layout.
func loadWeights[T any](c *Config, get getter[T]) (*weights[T], error) {
	w := &weights[T]{
		Enc: make([]encoderLayer[T], c.NumLayers),
		Dec: make([]decoderLayer[T], c.NumDecoderLayers),
	}
	l := loader[T]{c: c, get: get}
	d, inner := c.DModel, c.Inner()
	if c.TieWordEmbeddings {
		// One tensor serves the embedding and the output projection.
		w.Shared = l.load("shared.weight", kindLMHead, c.VocabSize, d)
		w.LMHead = w.Shared
	} else {
		w.Shared = l.load("shared.weight", kindEmbedding, c.VocabSize, d)
		w.LMHead = l.load("lm_head.weight", kindLMHead, c.VocabSize, d)
	}
	w.EncRelBias = l.load("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", kindRelBias, c.NumBuckets, c.NumHeads)
	w.DecRelBias = l.load("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", kindRelBias, c.NumBuckets, c.NumHeads)
	for i := range w.Enc {
		p := fmt.Sprintf("encoder.block.%d.layer.", i)
		e := &w.Enc[i]
		e.SelfNorm = l.load(p+"0.layer_norm.weight", kindNorm, d)
		e.Self = l.attention(p+"0.SelfAttention.", d, inner)
		e.FFNNorm = l.load(p+"1.layer_norm.weight", kindNorm, d)
		e.FFN = l.ffn(p + "1.DenseReluDense.")
	}
	w.EncFinal = l.load("encoder.final_layer_norm.weight", kindNorm, d)
	for i := range w.Dec {
		p := fmt.Sprintf("decoder.block.%d.layer.", i)
		e := &w.Dec[i]
		e.SelfNorm = l.load(p+"0.layer_norm.weight", kindNorm, d)
		e.Self = l.attention(p+"0.SelfAttention.", d, inner)
		e.CrossNorm = l.load(p+"1.layer_norm.weight", kindNorm, d)
		e.Cross = l.attention(p+"1.EncDecAttention.", d, inner)
		e.FFNNorm = l.load(p+"2.layer_norm.weight", kindNorm, d)
		e.FFN = l.ffn(p + "2.DenseReluDense.")
	}
	w.DecFinal = l.load("decoder.final_layer_norm.weight", kindNorm, d)
	if l.err != nil {
		return nil, l.err
	}
	return w, nil
}

// loader keeps the first error so that loadWeights reads as a list.
type loader[T any] struct {
	c   *Config
	get getter[T]
	err error
}

func (l *loader[T]) load(name string, kind weightKind, shape ...int) T {
	var zero T
	if l.err != nil {
		return zero
	}
	t, err := l.get(name, shape, kind)
	if err != nil {
		l.err = err
		return zero
	}
	return t
}

func (l *loader[T]) attention(p string, d, inner int) attnWeights[T] {
	return attnWeights[T]{
		Q: l.load(p+"q.weight", kindLinear, inner, d),
		K: l.load(p+"k.weight", kindLinear, inner, d),
		V: l.load(p+"v.weight", kindLinear, inner, d),
		O: l.load(p+"o.weight", kindLinear, d, inner),
	}
}

func (l *loader[T]) ffn(p string) ffnWeights[T] {
	d, ff := l.c.DModel, l.c.DFF
	var f ffnWeights[T]
	if l.c.Gated {
		f.Wi0 = l.load(p+"wi_0.weight", kindLinear, ff, d)
		f.Wi1 = l.load(p+"wi_1.weight", kindLinear, ff, d)
	} else {
		f.Wi = l.load(p+"wi.weight", kindLinear, ff, d)
	}
	f.Wo = l.load(p+"wo.weight", kindFFNOut, d, ff)
	return f
}

// WeightSpec names one tensor a checkpoint of a configuration holds.
type WeightSpec struct {
	Name  string
	Shape []int
}

// Weights lists every tensor the configuration implies, in loading order,
// each once.
func (c *Config) Weights() []WeightSpec {
	var out []WeightSpec
	seen := map[string]bool{}
	_, _ = loadWeights(c, func(name string, shape []int, _ weightKind) (struct{}, error) {
		if !seen[name] {
			seen[name] = true
			out = append(out, WeightSpec{Name: name, Shape: shape})
		}
		return struct{}{}, nil
	})
	return out
}
