package model

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/model/internal/modelfile"
	"github.com/nib-editor/nib/model/safetensors"
)

// LoadRandom builds a model of cfg's shape on dev with random weights, as
// a benchmark needs one of a size no checkpoint at hand has: nothing is
// read or written on disk. Weights are stored as Load stores them (opts.F16
// as in Load; the feed-forward output projections and the lm_head stay
// f32), and opts.Progress is called after each tensor with the bytes of
// float32 data made so far and in all.
//
// The values follow transformers' initialisation of T5 (initializer_factor
// 1), the one its random-weight peer benchmark runs: projections have
// standard deviation 1/sqrt(fan_in), the query projection a further
// 1/sqrt(d_kv) (T5 does not scale attention scores), embeddings and the
// lm_head 1, the relative-attention biases 1/sqrt(d_model); layer norms
// are 1 ± 0.1 instead of exactly 1. Activations so stay finite through
// FLAN-T5-XL's 24 layers. Each value is a sum of four uniform 16-bit
// numbers, scaled (close to normal, bounded at ±3.5 standard deviations),
// drawn from a counter-based generator per block of a tensor, so that the
// same seed gives the same model whatever the number of CPUs, and blocks
// are generated in parallel.
func LoadRandom(dev *gpu.Device, cfg *Config, opts Options, seed uint64) (*Model, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("model: random weights: %w", err)
	}
	src := &randomSource{cfg: cfg, g: &randomGen{seed: seed}, index: map[string]uint64{}, size: map[string]int64{}}
	for i, spec := range cfg.Weights() {
		src.index[spec.Name] = uint64(i)
		src.size[spec.Name] = 4 * int64(elements(spec.Shape))
	}
	return assemble(dev, cfg, opts, src)
}

// randomSource makes the weights of LoadRandom: tensor i of cfg.Weights()
// from the generator's stream i, so each tensor is the same however often
// and in whatever order it is asked for.
type randomSource struct {
	cfg   *Config
	g     *randomGen
	index map[string]uint64
	size  map[string]int64 // bytes of float32 data by name
}

func (s *randomSource) fill(_ *uploader, t *gpu.Tensor, name string, shape []int, kind weightKind, scale float32) error {
	mean, std := randomMoments(s.cfg, name, shape, kind)
	n := elements(shape)
	g := randomGen{seed: s.g.seed} // its own buffers: fills run in parallel
	if t.DType() == gpu.F16 {
		return t.WriteF16Bits(g.f16(s.index[name], n, mean*float64(scale), std*float64(scale)))
	}
	return t.WriteFloats(g.f32(s.index[name], n, mean*float64(scale), std*float64(scale)))
}

func (s *randomSource) tensor(name string, shape []int, kind weightKind) (safetensors.Tensor, error) {
	mean, std := randomMoments(s.cfg, name, shape, kind)
	g := randomGen{seed: s.g.seed}
	return f32Tensor(name, shape, g.f32(s.index[name], elements(shape), mean, std)), nil
}

func (s *randomSource) bytes(name string, _ []int) int64 { return s.size[name] }

// ParseConfigFile reads and validates a config.json file of any name (see
// LoadConfig for one in a model folder).
func ParseConfigFile(path string) (*Config, error) {
	raw, err := modelfile.ReadFile(path, modelfile.ConfigLimit)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	c, err := ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("model: %s: %w", path, err)
	}
	return c, nil
}

func elements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// randomMoments returns the mean and standard deviation of a random tensor
// (see LoadRandom), from transformers' T5PreTrainedModel._init_weights.
func randomMoments(cfg *Config, name string, shape []int, kind weightKind) (mean, std float64) {
	switch kind {
	case kindNorm:
		return 1, 0.1
	case kindRelBias:
		return 0, 1 / math.Sqrt(float64(cfg.DModel))
	case kindEmbedding, kindLMHead:
		return 0, 1
	}
	// A projection [out, in]: 1/sqrt(in), and the query also 1/sqrt(d_kv).
	std = 1 / math.Sqrt(float64(shape[len(shape)-1]))
	if strings.HasSuffix(name, "Attention.q.weight") {
		std /= math.Sqrt(float64(cfg.DKV))
	}
	return 0, std
}

// randomGen makes tensors of random values. Values come in blocks of
// randomBlock, each from its own generator keyed by the seed, the tensor's
// index and the block's, so blocks can be made in parallel and in any
// order. It reuses its buffers from one tensor to the next.
type randomGen struct {
	seed  uint64
	buf32 []float32
	buf16 []uint16
}

const randomBlock = 1 << 16

// irwinHallScale maps the sum of four uniform 16-bit numbers to unit
// variance: each has variance (2^32-1)/12.
var irwinHallScale = 1 / math.Sqrt(4*(65536*65536-1)/12.0)

// fill calls put(i, v) for i in [0, n) with v of the given mean and
// standard deviation, in parallel over blocks.
func (g *randomGen) fill(tensor uint64, n int, mean, std float64, put func(lo int, vals []float32)) {
	blocks := (n + randomBlock - 1) / randomBlock
	workers := min(runtime.GOMAXPROCS(0), blocks)
	scale := float32(std * irwinHallScale)
	offset := float32(mean) - scale*4*32767.5
	var next atomic.Int64
	work := func() {
		var vals [randomBlock]float32
		for {
			b := int(next.Add(1)) - 1
			if b >= blocks {
				return
			}
			lo := b * randomBlock
			hi := min(lo+randomBlock, n)
			state := splitmix(g.seed ^ splitmix(tensor<<32|uint64(b)))
			for i := range hi - lo {
				state += 0x9e3779b97f4a7c15
				r := mix(state)
				s := r&0xffff + r>>16&0xffff + r>>32&0xffff + r>>48
				vals[i] = offset + scale*float32(s)
			}
			put(lo, vals[:hi-lo])
		}
	}
	if workers <= 1 {
		work()
		return
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(work)
	}
	wg.Wait()
}

// f32 returns n random float32 values in a buffer valid until the next
// call.
func (g *randomGen) f32(tensor uint64, n int, mean, std float64) []float32 {
	if cap(g.buf32) < n {
		g.buf32 = make([]float32, n)
	}
	out := g.buf32[:n]
	g.fill(tensor, n, mean, std, func(lo int, vals []float32) { copy(out[lo:], vals) })
	return out
}

// f16 returns n random values as IEEE binary16 bits, in a buffer valid
// until the next call.
func (g *randomGen) f16(tensor uint64, n int, mean, std float64) []uint16 {
	if cap(g.buf16) < n {
		g.buf16 = make([]uint16, n)
	}
	out := g.buf16[:n]
	g.fill(tensor, n, mean, std, func(lo int, vals []float32) {
		for i, v := range vals {
			out[lo+i] = gpu.F16Bits(v)
		}
	})
	return out
}

// splitmix is SplitMix64's output function of a state advanced once.
func splitmix(x uint64) uint64 { return mix(x + 0x9e3779b97f4a7c15) }

// mix is SplitMix64's finaliser.
func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// f32Tensor wraps v as an F32 tensor: its bytes where the host is
// little-endian, as safetensors is, else an encoded copy.
func f32Tensor(name string, shape []int, v []float32) safetensors.Tensor {
	var data []byte
	if littleEndian {
		data = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
	} else {
		data = make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(x))
		}
	}
	return safetensors.Tensor{Name: name, DType: safetensors.F32, Shape: shape, Data: data}
}
