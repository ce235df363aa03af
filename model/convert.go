package model

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/x448/float16"

	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/model/safetensors"
)

// Converting a tensor for upload reads its bytes as the checkpoint holds
// them (F32, F16 or BF16, little-endian; checked by Checkpoint.tensor), in
// the mapped file, and writes f32 or f16 for the GPU in one pass: going
// through a []float32 copy of each tensor first cost another pass over
// most of a gigabyte for FLAN-T5-base. The values are those of
// safetensors.Tensor.Float32, each times its column's gain in float32
// where a norm is folded in, then rounded by gpu.F16Bits, as
// gpu.Tensor.WriteFloats rounds them: bit for bit what a load through
// float32 copies stored.
//
// A tensor is converted and written a piece at a time, the pieces shared
// between a goroutine per CPU (assemble runs a worker per CPU already, but
// the largest tensors, the embedding and the lm_head, would otherwise
// finish alone), each into a buffer reused from piece to piece: no
// converted copy of a whole tensor is made, whose fresh pages cost as much
// as the conversion, and the writes of some pieces overlap the conversion
// of others.

// uploadPiece is about how many elements a goroutine converts and writes
// at a time: large enough that a write's fixed cost is nothing, small
// enough that the buffers stay in the cache and the last pieces finish
// together.
const uploadPiece = 1 << 18

// uploadFlush is how many bytes of writes are submitted at a time during a
// load. wgpu-native stages every write in a buffer of its own until the
// next submission: submitting as the load goes lets it reuse that memory,
// which is otherwise fresh (a page fault per 4 KiB) for every byte of the
// model, and lets the GPU copy one part while the next is converted. On
// lavapipe, FLAN-T5-base in f16 loaded in 3.0 s submitting only at the
// end, 2.3 s every 128 MiB, 1.9 s every 32 MiB and 1.8 s every 8 MiB.
const uploadFlush = 8 << 20

// uploader writes a model's converted weights to its device. Its methods
// may be called from several goroutines at once.
type uploader struct {
	dev     *gpu.Device
	written atomic.Int64
	f16     sync.Pool // *[]uint16 of at least uploadPiece
	f32     sync.Pool // *[]float32 of at least uploadPiece
}

// write writes parts one after the other into t (F32 or F16, of their
// total length), each row multiplied elementwise by gain (nil: one).
func (u *uploader) write(t *gpu.Tensor, parts []safetensors.Tensor, gain []float32) error {
	n, odd := 0, false
	for _, p := range parts {
		odd = odd || n%2 != 0
		n += p.Elements()
	}
	if n != t.Len() || t.DType() != gpu.F16 && t.DType() != gpu.F32 {
		return fmt.Errorf("model: write %d values into %s", n, t)
	}
	if odd && t.DType() == gpu.F16 {
		// A part starts mid-word, which a write cannot: one piece.
		v := decodeParts(n, parts, gain, decodeF16)
		off := 0
		for _, p := range parts {
			if err := foldedBeyondF16(v[off:off+p.Elements()], p.Name, 0, gain); err != nil {
				return err
			}
			off += p.Elements()
		}
		return t.WriteF16Bits(v)
	}
	off := 0
	for _, p := range parts {
		if err := u.writePart(t, off, p, gain); err != nil {
			return err
		}
		off += p.Elements()
	}
	return nil
}

// decodeParts decodes parts, of n elements in all, one after the other
// into one slice, each row multiplied elementwise by gain (nil: one).
func decodeParts[T uint16 | float32](n int, parts []safetensors.Tensor, gain []float32, decode func([]T, safetensors.Tensor, int, []float32)) []T {
	out := make([]T, n)
	off := 0
	for _, p := range parts {
		decode(out[off:off+p.Elements()], p, 0, gain)
		off += p.Elements()
	}
	return out
}

// writePart writes p into t from element off, a piece at a time.
func (u *uploader) writePart(t *gpu.Tensor, off int, p safetensors.Tensor, gain []float32) error {
	var (
		mu       sync.Mutex
		firstErr error
	)
	step := 2 // pieces of whole words of f16
	if gain != nil {
		step *= len(gain) // and of whole rows
	}
	inParallel(p.Elements(), step, func(lo, hi int) {
		var err error
		if t.DType() == gpu.F16 {
			buf := pooled[uint16](&u.f16, hi-lo)
			v := (*buf)[:hi-lo]
			decodeF16(v, p, lo, gain)
			if err = foldedBeyondF16(v, p.Name, lo, gain); err == nil {
				err = t.WriteF16BitsAt(off+lo, v)
			}
			u.f16.Put(buf)
			u.wrote(2 * len(v))
		} else {
			buf := pooled[float32](&u.f32, hi-lo)
			v := (*buf)[:hi-lo]
			decodeF32(v, p, lo, gain)
			err = t.WriteF32At(off+lo, v)
			u.f32.Put(buf)
			u.wrote(4 * len(v))
		}
		if err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}
	})
	return firstErr
}

// pooled returns a buffer of at least n elements from pool, or a new one.
func pooled[T uint16 | float32](pool *sync.Pool, n int) *[]T {
	if b, ok := pool.Get().(*[]T); ok && len(*b) >= n {
		return b
	}
	b := make([]T, max(n, uploadPiece))
	return &b
}

// wrote counts n bytes written, and submits the writes each time another
// uploadFlush bytes have been.
func (u *uploader) wrote(n int) {
	after := u.written.Add(int64(n))
	if (after-int64(n))/uploadFlush != after/uploadFlush {
		u.dev.Flush()
	}
}

// decodeF32 writes t's elements lo to lo+len(dst) into dst, each row
// multiplied elementwise by gain; gain nil leaves them as they are.
func decodeF32(dst []float32, t safetensors.Tensor, lo int, gain []float32) {
	convert(t, lo, len(dst), gain, func(i int, v []float32) { copy(dst[i:], v) })
}

// foldedBeyondF16 reports an error when a folded weight (gain non-nil: a
// norm's weight multiplied in), f16 bits v of tensor name from its element
// off, rounded to an infinity: the model's layers cannot be stored in f16
// folded, and a silent infinity would turn every output into NaN.
func foldedBeyondF16(v []uint16, name string, off int, gain []float32) error {
	if gain == nil {
		return nil
	}
	for i, h := range v {
		if h&0x7fff == 0x7c00 {
			return fmt.Errorf("%s: element %d times its layer norm's weight is beyond f16's range (|x| > 65504): load this model in f32", name, off+i)
		}
	}
	return nil
}

// decodeF16 writes t's elements lo to lo+len(dst) into dst as f16 bits
// (gpu.F16Bits), each row multiplied elementwise by gain; gain nil leaves
// them as they are, and f16 data is then copied as it is.
func decodeF16(dst []uint16, t safetensors.Tensor, lo int, gain []float32) {
	if t.DType == safetensors.F16 && gain == nil {
		b := t.Data[2*lo : 2*(lo+len(dst))]
		for i := range dst {
			dst[i] = binary.LittleEndian.Uint16(b[2*i:])
		}
		return
	}
	convert(t, lo, len(dst), gain, func(i int, v []float32) {
		out := dst[i : i+len(v)]
		for j, x := range v {
			out[j] = gpu.F16Bits(x)
		}
	})
}

// beyondF16 reports whether an element of t, times its column's gain
// (gain nil: one), is beyond f16's range (|x| > 65504): such a tensor is
// stored in f32 rather than with infinities. NaN is not beyond it.
func beyondF16(t safetensors.Tensor, gain []float32) bool {
	const maxF16 = 65504
	var found atomic.Bool
	step := 1
	if gain != nil {
		step = len(gain)
	}
	inParallel(t.Elements(), step, func(lo, hi int) {
		if found.Load() {
			return
		}
		convert(t, lo, hi-lo, gain, func(_ int, v []float32) {
			for _, x := range v {
				if x > maxF16 || x < -maxF16 {
					found.Store(true)
					return
				}
			}
		})
	})
	return found.Load()
}

// convertBlock is how many elements are decoded into a buffer of float32
// at a time when no gain sets the block to a row: a buffer that stays in
// the L1 cache.
const convertBlock = 2048

// convert decodes t's elements lo to lo+n in blocks, each times gain when
// it is set (lo is then the start of a row, and a block a row), and calls
// put with each block and its index from 0; the block is put's only until
// it returns.
func convert(t safetensors.Tensor, lo, n int, gain []float32, put func(i int, v []float32)) {
	step := convertBlock
	if gain != nil {
		step = len(gain)
	}
	buf := make([]float32, min(step, n))
	for i := 0; i < n; i += step {
		v := buf[:min(step, n-i)]
		decode(v, t, lo+i)
		if gain != nil {
			for j, g := range gain[:len(v)] {
				v[j] *= g
			}
		}
		put(i, v)
	}
}

// decode writes t's elements lo to lo+len(v) into v.
func decode(v []float32, t safetensors.Tensor, lo int) {
	switch t.DType {
	case safetensors.F32:
		b := t.Data[4*lo : 4*(lo+len(v))]
		if littleEndian {
			// The file's bytes are the host's floats: a copy, which
			// needs no alignment.
			copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(b)), b)
			return
		}
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case safetensors.F16:
		b := t.Data[2*lo : 2*(lo+len(v))]
		for i := range v {
			v[i] = float16.Frombits(binary.LittleEndian.Uint16(b[2*i:])).Float32()
		}
	case safetensors.BF16:
		b := t.Data[2*lo : 2*(lo+len(v))]
		for i := range v {
			v[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
	}
}

// inParallel calls fn on consecutive ranges [lo, hi) covering [0, n),
// each a multiple of step long but for the last and about uploadPiece,
// from a goroutine per CPU when there is more than one range.
func inParallel(n, step int, fn func(lo, hi int)) {
	chunk := max(1, uploadPiece/step) * step
	if n <= chunk {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), (n+chunk-1)/chunk) {
		wg.Go(func() {
			for {
				lo := int(next.Add(int64(chunk))) - chunk
				if lo >= n {
					return
				}
				fn(lo, min(lo+chunk, n))
			}
		})
	}
	wg.Wait()
}
