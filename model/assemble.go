package model

import (
	"fmt"
	"math"
	"strings"

	"github.com/nib-editor/nib/gpu"
)

// How weights are laid out on the GPU. The encoder's are uploaded as the
// checkpoint has them. The decoder's are rearranged once, at load, for its
// one-token steps:
//
//   - Each layer norm's weight is folded into the columns of the
//     projections that read its output, so that the step's fused kernels
//     need only the RMS of their input (kernels/fmatvec.wgsl). The norms
//     themselves are then plain RMS normalisations (weight one).
//   - The self-attention q, k and v projections are stacked into one
//     [3*inner, d_model] matrix, and a gated feed-forward's wi_0 and wi_1
//     into one [2*d_ff, d_model]: one dispatch each per step.
//   - The final norm (and, with tied embeddings, the d_model^-0.5 output
//     scale) is folded into the lm_head. Tied models get an lm_head of
//     their own for that; the embedding stays as it is.
//
// Folding multiplies weights by the norm's scale before rounding to f16, so
// an f16 model differs from an f32 one only by rounding, as before.

// decoderFast holds a decoder layer's rearranged weights.
type decoderFast struct {
	// QKV is [3*inner, d_model]: q, k, v, the self-attention norm folded in.
	QKV *gpu.Tensor
	// CrossQ is [inner, d_model], the cross-attention norm folded in.
	CrossQ *gpu.Tensor
	// FFNIn is [2*d_ff, d_model] (gate then up) for a gated feed-forward,
	// else [d_ff, d_model]; the feed-forward norm folded in.
	FFNIn *gpu.Tensor
}

// weightSource supplies a model's tensors to assemble: uploaded as they
// are, or as float32 for rearranging.
type weightSource interface {
	// upload puts the tensor on dev as dtype, multiplied by scale.
	upload(dev *gpu.Device, name string, shape []int, kind weightKind, dtype gpu.DType, scale float32) (*gpu.Tensor, error)
	// float32s returns the tensor's values; the slice is the caller's.
	float32s(name string, shape []int, kind weightKind) ([]float32, error)
	// bytes is the size of the tensor in the source, for progress.
	bytes(name string, shape []int) int64
}

// folded says whether a tensor is rearranged rather than uploaded as it
// is: the decoder's norms and the projections they feed, and the lm_head.
func folded(name string) bool {
	if name == "lm_head.weight" {
		return true
	}
	if !strings.HasPrefix(name, "decoder.") {
		return false
	}
	switch {
	case strings.HasSuffix(name, "layer_norm.weight"),
		strings.HasSuffix(name, "SelfAttention.q.weight"),
		strings.HasSuffix(name, "SelfAttention.k.weight"),
		strings.HasSuffix(name, "SelfAttention.v.weight"),
		strings.HasSuffix(name, "EncDecAttention.q.weight"),
		strings.Contains(name, "DenseReluDense.wi"):
		return true
	}
	return false
}

// assemble loads a model from src onto dev.
func assemble(dev *gpu.Device, cfg *Config, opts Options, src weightSource) (*Model, error) {
	var total, done int64
	for _, spec := range cfg.Weights() {
		total += src.bytes(spec.Name, spec.Shape)
	}
	progress := func(name string, shape []int) {
		if opts.Progress != nil {
			done += src.bytes(name, shape)
			opts.Progress(done, total)
		}
	}
	m := &Model{cfg: cfg, dev: dev}
	var uploaded []*gpu.Tensor
	fail := func(err error) (*Model, error) {
		for _, t := range uploaded {
			t.Close()
		}
		return nil, err
	}
	keep := func(t *gpu.Tensor) *gpu.Tensor {
		uploaded = append(uploaded, t)
		return t
	}
	w, err := loadWeights(cfg, func(name string, shape []int, kind weightKind) (*gpu.Tensor, error) {
		if folded(name) {
			return nil, nil
		}
		dtype, scale := opts.storage(cfg, name, kind)
		var t *gpu.Tensor
		var err error
		if dtype == gpu.F16 && (kind == kindFFNOut || kind == kindLMHead) {
			// Checked for f16's range: FLAN-T5's are well within it, but
			// a checkpoint's outliers must not become infinities.
			var v []float32
			if v, err = src.float32s(name, shape, kind); err == nil {
				t, err = dev.UploadF32(v, f16Safe(v), shape...)
			}
		} else {
			t, err = src.upload(dev, name, shape, kind, dtype, scale)
		}
		if err != nil {
			return nil, fmt.Errorf("model: upload %s: %w", name, err)
		}
		progress(name, shape)
		return keep(t), nil
	})
	if err != nil {
		return fail(err)
	}
	m.w = w

	d, inner, ff := cfg.DModel, cfg.Inner(), cfg.DFF
	linear := gpu.F32
	if opts.F16 {
		linear = gpu.F16
	}
	// get reads a folded tensor and counts it for progress.
	get := func(name string, kind weightKind, shape ...int) ([]float32, error) {
		v, err := src.float32s(name, shape, kind)
		if err != nil {
			return nil, err
		}
		progress(name, shape)
		return v, nil
	}
	put := func(data []float32, dtype gpu.DType, shape ...int) (*gpu.Tensor, error) {
		t, err := dev.UploadF32(data, dtype, shape...)
		if err != nil {
			return nil, fmt.Errorf("model: upload decoder weights: %w", err)
		}
		return keep(t), nil
	}
	m.dec = make([]decoderFast, cfg.NumDecoderLayers)
	for i := range m.dec {
		p := fmt.Sprintf("decoder.block.%d.layer.", i)
		var err error
		// stack reads the named projections, folds norm into each and
		// stacks them.
		stack := func(norm string, names ...string) ([]float32, error) {
			g, err := get(p+norm, kindNorm, d)
			if err != nil {
				return nil, err
			}
			var out []float32
			for _, name := range names {
				rows := inner
				if strings.Contains(name, "DenseReluDense") {
					rows = ff
				}
				v, err := get(p+name, kindLinear, rows, d)
				if err != nil {
					return nil, err
				}
				foldColumns(v, g)
				out = append(out, v...)
			}
			return out, nil
		}
		qkv, err := stack("0.layer_norm.weight", "0.SelfAttention.q.weight", "0.SelfAttention.k.weight", "0.SelfAttention.v.weight")
		if err != nil {
			return fail(err)
		}
		if m.dec[i].QKV, err = put(qkv, linear, 3*inner, d); err != nil {
			return fail(err)
		}
		cq, err := stack("1.layer_norm.weight", "1.EncDecAttention.q.weight")
		if err != nil {
			return fail(err)
		}
		if m.dec[i].CrossQ, err = put(cq, linear, inner, d); err != nil {
			return fail(err)
		}
		ffn, rows := []float32(nil), ff
		if cfg.Gated {
			ffn, err = stack("2.layer_norm.weight", "2.DenseReluDense.wi_0.weight", "2.DenseReluDense.wi_1.weight")
			rows = 2 * ff
		} else {
			ffn, err = stack("2.layer_norm.weight", "2.DenseReluDense.wi.weight")
		}
		if err != nil {
			return fail(err)
		}
		if m.dec[i].FFNIn, err = put(ffn, linear, rows, d); err != nil {
			return fail(err)
		}
	}
	g, err := get("decoder.final_layer_norm.weight", kindNorm, d)
	if err != nil {
		return fail(err)
	}
	var lm []float32
	if cfg.TieWordEmbeddings {
		// transformers scales the decoder output by d_model^-0.5 before
		// the tied projection.
		s := float32(math.Pow(float64(d), -0.5))
		for i := range g {
			g[i] *= s
		}
		lm, err = src.float32s("shared.weight", []int{cfg.VocabSize, d}, kindLMHead)
	} else {
		lm, err = get("lm_head.weight", kindLMHead, cfg.VocabSize, d)
	}
	if err != nil {
		return fail(err)
	}
	foldColumns(lm, g)
	lmType := gpu.F32
	if opts.F16 {
		lmType = f16Safe(lm)
	}
	if m.lmHead, err = put(lm, lmType, cfg.VocabSize, d); err != nil {
		return fail(err)
	}
	ones := make([]float32, d)
	for i := range ones {
		ones[i] = 1
	}
	if m.ones, err = put(ones, gpu.F32, d); err != nil {
		return fail(err)
	}
	return m, nil
}

// f16Safe returns F16 when every value of v is within f16's range, else
// F32.
func f16Safe(v []float32) gpu.DType {
	const maxF16 = 65504
	for _, x := range v {
		if x > maxF16 || x < -maxF16 {
			return gpu.F32
		}
	}
	return gpu.F16
}

// foldColumns multiplies each row of w (length len(g)) by g elementwise:
// norm(x) . w = (x / rms) . (g * w).
func foldColumns(w, g []float32) {
	d := len(g)
	for r := 0; r+d <= len(w); r += d {
		row := w[r : r+d]
		for i := range row {
			row[i] *= g[i]
		}
	}
}
