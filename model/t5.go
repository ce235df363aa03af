package model

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"unsafe"

	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/model/safetensors"
)

// Options configure Load.
type Options struct {
	// F16 stores the projection, embedding and lm_head weights in f16,
	// halving the bytes a decode step reads. Arithmetic stays f32: kernels
	// widen each weight to f32 and accumulate in f32, so the activations
	// that overflow f16 in FLAN-T5's feed-forward output projection (when
	// transformers runs it in fp16) never exist in f16 here. A tensor with
	// a value beyond f16's range (|x| > 65504) is kept in f32 instead of
	// becoming infinite; norms and the relative-position bias stay f32.
	F16 bool
	// Int8 stores the projections (and an untied lm_head) as 8-bit values
	// with an f32 scale per block of 32 (gpu.Q8), dequantised in the
	// kernels; embeddings and the decoder's cross-attention query
	// projections stay f16 (see assemble). It implies F16 for what it does
	// not quantise. Arithmetic stays f32.
	Int8 bool
	// Progress, if set, is called after each tensor is uploaded with the
	// bytes of checkpoint data done and in all.
	Progress func(done, total int64)
}

// Model is a T5 model resident on the GPU: weights uploaded once, bucket
// tables kept for the longest sequence seen. A Model, and the Encoded and
// Decoder values made from it, are used by one goroutine at a time.
type Model struct {
	cfg *Config
	dev *gpu.Device
	// w holds the weights uploaded as the checkpoint has them; the layers'
	// norms, q/k/v, cross q and feed-forward inputs, the decoder's final
	// norm and the lm_head are nil there and live rearranged in enc, dec
	// and lmHead (see assemble).
	w        *weights[*gpu.Tensor]
	enc, dec []foldedLayer
	lmHead   *gpu.Tensor

	// Bucket tables, centred, for sequences of up to encN and decN
	// positions; rebuilt larger when a longer sequence comes.
	encTable, decTable *gpu.Tensor
	encN, decN         int
	// layerOff turns the one-dispatch decoder layers off for good, once a
	// step found their barrier failing (Decoder.layerCheck).
	layerOff atomic.Bool
}

// Load uploads ck's weights to dev, rearranging the decoder's for its steps
// (see assemble).
func Load(dev *gpu.Device, ck *Checkpoint, opts Options) (*Model, error) {
	return assemble(dev, ck.Config, opts, checkpointSource{ck})
}

// checkpointSource reads weights from a checkpoint.
type checkpointSource struct{ ck *Checkpoint }

func (s checkpointSource) fill(u *uploader, dst *gpu.Tensor, name string, shape []int, _ weightKind, scale float32) error {
	t, err := s.ck.tensor(name, shape)
	if err != nil {
		return err
	}
	if scale == 1 && dst.DType() != gpu.Q8 {
		return u.write(dst, []safetensors.Tensor{t}, nil)
	}
	return fill(dst, t, scale)
}

func (s checkpointSource) tensor(name string, shape []int, _ weightKind) (safetensors.Tensor, error) {
	return s.ck.tensor(name, shape)
}

func (s checkpointSource) bytes(name string, _ []int) int64 {
	t, err := s.ck.st.Tensor(name)
	if err != nil {
		return 0
	}
	return int64(len(t.Data))
}

// storage returns how a model loaded with o stores the tensor name of
// kind: its dtype on the GPU and a factor its values are multiplied by.
// Load and LoadRandom both use it.
func (o Options) storage(cfg *Config, name string, kind weightKind) (gpu.DType, float32) {
	dtype := gpu.F32
	switch kind {
	case kindLinear, kindFFNOut:
		switch {
		case o.Int8:
			dtype = gpu.Q8
		case o.F16:
			dtype = gpu.F16
		}
	case kindEmbedding, kindLMHead:
		if o.F16 || o.Int8 {
			dtype = gpu.F16
		}
	}
	return dtype, 1
}

// fill writes a checkpoint tensor into dst (F32, F16 or Q8), multiplied by
// scale, through float32: checkpointSource.fill converts the others as it
// writes. An f32 tensor at scale one is read from the mapped file as it is.
func fill(dst *gpu.Tensor, t safetensors.Tensor, scale float32) error {
	if scale == 1 {
		if f, ok := float32View(t); ok {
			return dst.WriteFloats(f) // quantises as dst needs
		}
	}
	f, err := t.Float32()
	if err != nil {
		return err
	}
	if scale != 1 {
		for i := range f {
			f[i] *= scale
		}
	}
	return dst.WriteFloats(f)
}

// float32View returns an F32 tensor's data as float32 without copying,
// when the host is little-endian (as safetensors is) and the data is
// 4-byte aligned.
func float32View(t safetensors.Tensor) ([]float32, bool) {
	if t.DType != safetensors.F32 || len(t.Data) == 0 || uintptr(unsafe.Pointer(unsafe.SliceData(t.Data)))%4 != 0 || !littleEndian {
		return nil, false
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(t.Data))), len(t.Data)/4), true
}

// littleEndian reports the host's byte order.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// WeightBytes returns the GPU memory held by the weights.
func (m *Model) WeightBytes() int64 {
	var n uint64
	m.eachTensor(func(t *gpu.Tensor) { n += t.Bytes() })
	return int64(n)
}

// warmLengths are input lengths whose forward passes, together, use every
// kernel specialisation the model has: attention's workgroup size grows
// with the number of keys (32 up to 256), and the fused projections
// specialise on their rows of x in a block (1, 2, 4 or 8).
var warmLengths = []int{3, 40, 70, 140}

// Warm compiles every compute pipeline the daemon will use before the
// first request needs one: a dry run (gpu.Device.Precompile) of forward
// passes of every shape class (encodes of several lengths, teacher-forced
// prefill, decode steps over 1, 2, 4 and 8 rows with top-k) collects the
// kernel specialisations, which then compile in parallel. Where a step's
// decoder layers take one dispatch each, one real step then checks that
// the GPU runs them (probeLayers).
func (m *Model) Warm() error {
	// A dry run collects the specialisations, which compile in parallel.
	dry := func() error {
		if err := m.warmPasses(); err != nil {
			return err
		}
		// The encoder's cross keys and values over more than 1024 rows (a
		// batch of long prompts) take the tiled multiply: compiled, but
		// not worth running here.
		ids := make([]int, 1100)
		for i := range ids {
			ids[i] = m.cfg.EOSID
		}
		enc, err := m.Encode([][]int{ids})
		if err != nil {
			return err
		}
		enc.Close()
		return nil
	}
	if _, err := m.dev.Precompile(dry); err != nil {
		return fmt.Errorf("model: warm up: %w", err)
	}
	// No real run: running the passes would only make bind groups, which
	// the first request makes as it goes, and would add a third of a
	// second to every start. The one-dispatch layers are the exception.
	if err := m.probeLayers(); err != nil {
		return fmt.Errorf("model: warm up: %w", err)
	}
	m.TrimScratch(IdleScratchBytes)
	return nil
}

// probeLayers runs one real one-row step where the decoder layers take one
// dispatch each (gpu.DecoderLayer), so that a GPU that cannot hold their
// workgroups all at once is found at load, and the layers turned off
// (Decoder.layerCheck), rather than by the first request failing.
func (m *Model) probeLayers() error {
	if !m.layerStep() {
		return nil
	}
	enc, err := m.Encode([][]int{{m.cfg.EOSID}})
	if err != nil {
		return err
	}
	defer enc.Close()
	d, err := m.NewDecoder(enc, 2)
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err := d.Step(context.Background(), []int{m.cfg.DecoderStartID}, 1); err != nil && !errors.Is(err, errLayerBarrier) {
		return err
	}
	return nil
}

// warmPasses runs Warm's forward passes.
func (m *Model) warmPasses() error {
	c := m.cfg
	ctx := context.Background()
	for _, n := range warmLengths {
		ids := make([]int, n)
		for i := range ids {
			ids[i] = c.EOSID
		}
		enc, err := m.Encode([][]int{ids})
		if err != nil {
			return fmt.Errorf("model: warm up: %w", err)
		}
		err = func() error {
			defer enc.Close()
			d, err := m.NewDecoder(enc, n+8)
			if err != nil {
				return err
			}
			defer d.Close()
			if _, err := d.Logits([][]int{ids}); err != nil {
				return err
			}
			for _, rows := range []int{1, 2, 4, 8} {
				keep := make([]int, rows)
				if err := d.Keep(keep); err != nil {
					return err
				}
				tokens := make([]int, rows)
				for i := range tokens {
					tokens[i] = c.EOSID
				}
				if _, err := d.Step(ctx, tokens, min(4, rows)); err != nil {
					return err
				}
			}
			return nil
		}()
		if err != nil {
			return fmt.Errorf("model: warm up: %w", err)
		}
	}
	return nil
}

// IdleScratchBytes is how much pooled scratch memory TrimScratch keeps
// for the next request by default: enough for a batch-1 step and a
// prompt's encode without allocating, far less than what a long prompt or
// a wide batch leaves behind.
const IdleScratchBytes = 64 << 20

// TrimScratch releases pooled scratch buffers beyond keep bytes, so that
// GPU memory returns to the weights, the caches and keep after a long
// prompt or a wide batch.
func (m *Model) TrimScratch(keep int64) { m.dev.TrimPool(uint64(max(keep, 0))) }

// Config returns the model's configuration.
func (m *Model) Config() *Config { return m.cfg }

// Close releases the model's GPU memory, waiting for work in flight that
// uses it: wgpu-native frees released buffers only when the device is
// polled, and the next model should not have to share memory with this
// one.
func (m *Model) Close() {
	m.eachTensor(func(t *gpu.Tensor) { t.Close() })
	m.encTable.Close()
	m.decTable.Close()
	m.dev.Flush()
}

// eachTensor calls fn once for every weight tensor.
func (m *Model) eachTensor(fn func(t *gpu.Tensor)) {
	seen := map[*gpu.Tensor]bool{}
	closeT := func(t *gpu.Tensor) {
		if t != nil && !seen[t] {
			seen[t] = true
			fn(t)
		}
	}
	w := m.w
	for _, t := range []*gpu.Tensor{w.Shared, w.LMHead, w.EncRelBias, w.DecRelBias, w.EncFinal, w.DecFinal, m.lmHead} {
		closeT(t)
	}
	closeAttn := func(a attnWeights[*gpu.Tensor]) { closeT(a.Q); closeT(a.K); closeT(a.V); closeT(a.O) }
	closeFFN := func(f ffnWeights[*gpu.Tensor]) { closeT(f.Wi); closeT(f.Wi0); closeT(f.Wi1); closeT(f.Wo) }
	for _, l := range w.Enc {
		closeT(l.SelfNorm)
		closeT(l.FFNNorm)
		closeAttn(l.Self)
		closeFFN(l.FFN)
	}
	for _, l := range append(slices.Clip(m.enc), m.dec...) {
		closeT(l.QKV)
		closeT(l.CrossQ)
		closeT(l.FFNIn)
	}
	for _, l := range w.Dec {
		closeT(l.SelfNorm)
		closeT(l.CrossNorm)
		closeT(l.FFNNorm)
		closeAttn(l.Self)
		closeAttn(l.Cross)
		closeFFN(l.FFN)
	}
}

// table returns the bucket table for n positions, growing the kept one.
func (m *Model) table(bidirectional bool, n int) (*gpu.Tensor, error) {
	t, have := &m.decTable, &m.decN
	if bidirectional {
		t, have = &m.encTable, &m.encN
	}
	if n <= *have {
		return *t, nil
	}
	size := 64
	for size < n {
		size *= 2
	}
	g, err := m.dev.UploadU32(BucketTable(size, bidirectional, m.cfg.NumBuckets, m.cfg.MaxDistance), 2*size-1)
	if err != nil {
		return nil, err
	}
	if *t != nil {
		(*t).Close()
	}
	*t, *have = g, size
	return g, nil
}

// scratch hands out pooled tensors for one batch and returns them to the
// pool after it is submitted; the first allocation error is kept.
type scratch struct {
	dev  *gpu.Device
	list []*gpu.Tensor
	err  error
}

func (s *scratch) get(dtype gpu.DType, shape ...int) *gpu.Tensor {
	if s.err != nil {
		return nil
	}
	t, err := s.dev.NewTensor(dtype, shape...)
	if err != nil {
		s.err = err
		return nil
	}
	s.list = append(s.list, t)
	return t
}

func (s *scratch) release() {
	for _, t := range s.list {
		t.Close()
	}
	s.list = s.list[:0]
}

// fused records FMatVec(x, w, a) over every row of x into a new scratch
// tensor of x's shape with n outputs a row: a sub-layer's norm,
// projection, activation and residual in one dispatch (a.N is set to n).
func fused(b *gpu.Batch, s *scratch, x, w *gpu.Tensor, n int, a gpu.FusedArgs) *gpu.Tensor {
	if x == nil {
		return nil
	}
	shape := slices.Clone(x.Shape())
	shape[len(shape)-1] = n
	out := s.get(gpu.F32, shape...)
	if out != nil {
		a.N = n
		b.FMatVec(out, x, w, a)
	}
	return out
}

// qkv records a layer's q, k and v projections of h with its norm (folded
// into w, stacked [3*inner, d_model]): three dispatches, as the attention
// kernels read q, k and v as tensors of their own.
func (m *Model) qkv(b *gpu.Batch, s *scratch, h, w *gpu.Tensor) (q, k, v *gpu.Tensor) {
	inner, eps := m.cfg.Inner(), float32(m.cfg.LayerNormEps)
	q = fused(b, s, h, w, inner, gpu.FusedArgs{Norm: true, Eps: eps})
	k = fused(b, s, h, w, inner, gpu.FusedArgs{WOff: inner, Norm: true, Eps: eps})
	v = fused(b, s, h, w, inner, gpu.FusedArgs{WOff: 2 * inner, Norm: true, Eps: eps})
	return q, k, v
}

// feedForward records a layer's feed-forward sub-layer over h: its norm
// (folded into in) and input projection with the activation, then the
// output projection out with the residual; it returns the new h.
func (m *Model) feedForward(b *gpu.Batch, s *scratch, h, in, out *gpu.Tensor) *gpu.Tensor {
	c := m.cfg
	hidden := fused(b, s, h, in, c.DFF, gpu.FusedArgs{Norm: true, Eps: float32(c.LayerNormEps), Gate: c.Gated, Act: c.Activation})
	return fused(b, s, hidden, out, c.DModel, gpu.FusedArgs{Res: h})
}
