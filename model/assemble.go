package model

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/model/safetensors"
)

// How weights are laid out on the GPU. Each layer's are rearranged once,
// at load, for the fused kernels (kernels/fmatvec.wgsl) that run a
// sub-layer in one dispatch, a decoder step's few rows or a prompt's many;
// the rest are uploaded as the checkpoint has them:
//
//   - Each layer norm's weight is folded into the columns of the
//     projections that read its output, so that the fused kernels need
//     only the RMS of their input. The norms themselves go away (the
//     encoder's final norm stays: its output is the encoder's hidden
//     state).
//   - The self-attention q, k and v projections are stacked into one
//     [3*inner, d_model] matrix, and a gated feed-forward's wi_0 and wi_1
//     into one [2*d_ff, d_model]: one dispatch each per step.
//   - The final norm (and, with tied embeddings, the d_model^-0.5 output
//     scale) is folded into the lm_head. Tied models get an lm_head of
//     their own for that; the embedding stays as it is.
//
// Folding multiplies weights by the norm's scale before rounding to f16, so
// an f16 model differs from an f32 one only by rounding, as before.

// foldedLayer holds an encoder or decoder layer's rearranged weights.
type foldedLayer struct {
	// QKV is [3*inner, d_model]: q, k, v, the self-attention norm folded in.
	QKV *gpu.Tensor
	// CrossQ is [inner, d_model], the cross-attention norm folded in (nil
	// in the encoder).
	CrossQ *gpu.Tensor
	// FFNIn is [2*d_ff, d_model] (gate then up) for a gated feed-forward,
	// else [d_ff, d_model]; the feed-forward norm folded in.
	FFNIn *gpu.Tensor
}

// weightSource supplies a model's tensors to assemble: written into a GPU
// tensor as they are, or as their bytes for rearranging. Its methods may
// be called from several goroutines at once.
type weightSource interface {
	// fill writes the tensor into t (of its shape, F32, F16 or Q8),
	// multiplied by scale, through u where it converts as it writes.
	fill(u *uploader, t *gpu.Tensor, name string, shape []int, kind weightKind, scale float32) error
	// tensor returns the tensor's data, F32, F16 or BF16, checked against
	// shape, for reading only (a checkpoint's is its mapped file).
	tensor(name string, shape []int, kind weightKind) (safetensors.Tensor, error)
	// bytes is the size of the tensor in the source, for progress.
	bytes(name string, shape []int) int64
}

// folded says whether a tensor is rearranged rather than uploaded as it
// is: the layers' norms and the projections they feed, the decoder's final
// norm and the lm_head.
func folded(name string) bool {
	if name == "lm_head.weight" {
		return true
	}
	if !strings.HasPrefix(name, "decoder.") && !strings.HasPrefix(name, "encoder.block.") {
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

// assemble loads a model from src onto dev. Tensors are allocated in a
// fixed order, then read, rearranged, converted and written by a worker per
// CPU: a checkpoint's hundreds of megabytes are mostly conversion work.
func assemble(dev *gpu.Device, cfg *Config, opts Options, src weightSource) (*Model, error) {
	var total int64
	for _, spec := range cfg.Weights() {
		total += src.bytes(spec.Name, spec.Shape)
	}
	m := &Model{cfg: cfg, dev: dev}
	up := &uploader{dev: dev}
	var (
		allocated []*gpu.Tensor
		jobs      []loadJob
	)
	fail := func(err error) (*Model, error) {
		for _, t := range allocated {
			t.Close()
		}
		return nil, err
	}
	alloc := func(dtype gpu.DType, shape ...int) (*gpu.Tensor, error) {
		t, err := dev.NewWeight(dtype, shape...)
		if err != nil {
			return nil, fmt.Errorf("model: allocate weights: %w", err)
		}
		allocated = append(allocated, t)
		return t, nil
	}
	w, err := loadWeights(cfg, func(name string, shape []int, kind weightKind) (*gpu.Tensor, error) {
		if folded(name) {
			return nil, nil
		}
		dtype, scale := opts.storage(cfg, name, kind)
		if dtype == gpu.F16 && (kind == kindFFNOut || kind == kindLMHead) {
			// Checked for f16's range before choosing: FLAN-T5's are well
			// within it, but a checkpoint's outliers must not become
			// infinities.
			v, err := src.tensor(name, shape, kind)
			if err != nil {
				return nil, err
			}
			if beyondF16(v, nil) {
				dtype = gpu.F32
			}
		}
		t, err := alloc(dtype, shape...)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, loadJob{name: name, bytes: src.bytes(name, shape), run: func() error {
			return src.fill(up, t, name, shape, kind, scale)
		}})
		return t, nil
	})
	if err != nil {
		return fail(err)
	}
	m.w = w

	d, inner, ff := cfg.DModel, cfg.Inner(), cfg.DFF
	linear, _ := opts.storage(cfg, "", kindLinear)
	// The cross-attention's query projection stays f16 under int8: its
	// fused kernel runs a workgroup per head, and with q8 weights took
	// 13.8 µs a layer on the H100 against 8.6 with f16 ones (BENCHMARKS.md),
	// for 0.6 MB a layer saved at flan-t5-base's size.
	crossQ := linear
	if linear == gpu.Q8 {
		crossQ = gpu.F16
	}
	// stacked allocates a rearranged layer matrix of rows rows, filled by
	// a job that reads the named projections of layer prefix p, folds the
	// norm into each and stacks them.
	stacked := func(dst **gpu.Tensor, dtype gpu.DType, p string, rows int, norm string, names ...string) error {
		t, err := alloc(dtype, rows, d)
		if err != nil {
			return err
		}
		*dst = t
		var size int64
		for _, name := range append([]string{norm}, names...) {
			size += src.bytes(p+name, nil)
		}
		jobs = append(jobs, loadJob{name: p + names[0], bytes: size, run: func() error {
			norm, err := src.tensor(p+norm, []int{d}, kindNorm)
			if err != nil {
				return err
			}
			g := make([]float32, d)
			decodeF32(g, norm, 0, nil)
			parts := make([]safetensors.Tensor, len(names))
			for i, name := range names {
				n := inner
				if strings.Contains(name, "DenseReluDense") {
					n = ff
				}
				if parts[i], err = src.tensor(p+name, []int{n, d}, kindLinear); err != nil {
					return err
				}
			}
			return writeFolded(up, t, parts, g)
		}})
		return nil
	}
	// fold stacks layer prefix p's projections that follow a norm: q/k/v
	// (sub-layer 0), the cross-attention's query in a decoder layer
	// (sub-layer 1), and the feed-forward input (the last sub-layer).
	fold := func(l *foldedLayer, p string, decoder bool) error {
		if err := stacked(&l.QKV, linear, p, 3*inner, "0.layer_norm.weight", "0.SelfAttention.q.weight", "0.SelfAttention.k.weight", "0.SelfAttention.v.weight"); err != nil {
			return err
		}
		sub := "1"
		if decoder {
			if err := stacked(&l.CrossQ, crossQ, p, inner, "1.layer_norm.weight", "1.EncDecAttention.q.weight"); err != nil {
				return err
			}
			sub = "2"
		}
		norm := sub + ".layer_norm.weight"
		if cfg.Gated {
			return stacked(&l.FFNIn, linear, p, 2*ff, norm, sub+".DenseReluDense.wi_0.weight", sub+".DenseReluDense.wi_1.weight")
		}
		return stacked(&l.FFNIn, linear, p, ff, norm, sub+".DenseReluDense.wi.weight")
	}
	m.enc = make([]foldedLayer, cfg.NumLayers)
	for i := range m.enc {
		if err := fold(&m.enc[i], fmt.Sprintf("encoder.block.%d.layer.", i), false); err != nil {
			return fail(err)
		}
	}
	m.dec = make([]foldedLayer, cfg.NumDecoderLayers)
	for i := range m.dec {
		if err := fold(&m.dec[i], fmt.Sprintf("decoder.block.%d.layer.", i), true); err != nil {
			return fail(err)
		}
	}
	// The lm_head's storage dtype depends on its folded values: they are
	// checked here, and folded and written by a job.
	normT, err := src.tensor("decoder.final_layer_norm.weight", []int{d}, kindNorm)
	if err != nil {
		return fail(err)
	}
	g := make([]float32, d)
	decodeF32(g, normT, 0, nil)
	lmName := "lm_head.weight"
	lmBytes := src.bytes("decoder.final_layer_norm.weight", nil)
	if cfg.TieWordEmbeddings {
		// transformers scales the decoder output by d_model^-0.5 before
		// the tied projection.
		s := float32(math.Pow(float64(d), -0.5))
		for i := range g {
			g[i] *= s
		}
		lmName = "shared.weight"
	} else {
		lmBytes += src.bytes(lmName, nil)
	}
	lm, err := src.tensor(lmName, []int{cfg.VocabSize, d}, kindLMHead)
	if err != nil {
		return fail(err)
	}
	lmType := gpu.F32
	switch {
	case opts.Int8 && !cfg.TieWordEmbeddings:
		lmType = gpu.Q8
	case (opts.F16 || opts.Int8) && !beyondF16(lm, g):
		lmType = gpu.F16
	}
	if m.lmHead, err = alloc(lmType, cfg.VocabSize, d); err != nil {
		return fail(err)
	}
	lmT := m.lmHead
	jobs = append(jobs, loadJob{name: "lm_head.weight", bytes: lmBytes, run: func() error {
		return writeFolded(up, lmT, []safetensors.Tensor{lm}, g)
	}})
	if err := runLoadJobs(jobs, total, opts.Progress); err != nil {
		return fail(err)
	}
	// wgpu-native keeps the staging copy of every write until the next
	// submission: without one here, the model would hold a second copy of
	// its weights until its first request, and models replaced before any
	// request would pile theirs up.
	if err := dev.Sync(); err != nil {
		return fail(fmt.Errorf("model: upload weights: %w", err))
	}
	return m, nil
}

// loadJob fills one tensor; bytes is its share of the source, for
// progress.
type loadJob struct {
	name  string
	bytes int64
	run   func() error
}

// runLoadJobs runs jobs on a worker per CPU and returns the first error,
// naming the tensor. Progress is reported in order of completion, one call
// at a time.
func runLoadJobs(jobs []loadJob, total int64, progress func(done, total int64)) error {
	var (
		next     atomic.Int64
		mu       sync.Mutex
		done     int64
		firstErr error
		wg       sync.WaitGroup
	)
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) {
					return
				}
				mu.Lock()
				stop := firstErr != nil
				mu.Unlock()
				if stop {
					return
				}
				err := jobs[i].run()
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("model: load %s: %w", jobs[i].name, err)
				}
				done += jobs[i].bytes
				if progress != nil && err == nil {
					progress(min(done, total), total)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return firstErr
}

// writeFolded writes parts one after the other into t (F32, F16 or Q8,
// of their total length), each row multiplied elementwise by g:
// norm(x) . w = (x / rms) . (g * w).
func writeFolded(u *uploader, t *gpu.Tensor, parts []safetensors.Tensor, g []float32) error {
	if t.DType() != gpu.Q8 {
		return u.write(t, parts, g)
	}
	n := 0
	for _, p := range parts {
		n += p.Elements()
	}
	if n != t.Len() {
		return fmt.Errorf("model: %d values for %s", n, t)
	}
	return t.WriteFloats(decodeParts(n, parts, g, decodeF32))
}
