package gpu

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/x448/float16"

	"github.com/nib-editor/nib/gpu/internal/native"
)

// Tensor is a dense row-major array in a GPU buffer: a shape, a dtype and
// the buffer. Weights are uploaded once into buffers of exact size; scratch
// tensors from NewTensor come from the device's pool and return to it on
// Close.
type Tensor struct {
	d     *Device
	buf   *buffer
	shape []int
	dtype DType
	n     int
}

// Shape returns the tensor's dimensions; the caller must not modify it.
func (t *Tensor) Shape() []int { return t.shape }

// DType returns the element type.
func (t *Tensor) DType() DType { return t.dtype }

// Len returns the number of elements.
func (t *Tensor) Len() int { return t.n }

// Bytes returns the size of the tensor's data in GPU memory.
func (t *Tensor) Bytes() uint64 { return t.dtype.bytes(t.n) }

// String formats the tensor as dtype[d0 d1 ...].
func (t *Tensor) String() string { return fmt.Sprintf("%s%v", t.dtype, t.shape) }

// Close releases the tensor's buffer (or returns it to the pool). Work
// already submitted that uses the tensor still completes.
func (t *Tensor) Close() {
	if t == nil || t.buf == nil {
		return
	}
	t.d.free(t.buf)
	t.buf = nil
}

func count(shape []int) (int, error) {
	n := 1
	for _, s := range shape {
		if s <= 0 {
			return 0, fmt.Errorf("gpu: invalid shape %v", shape)
		}
		if n > math.MaxInt32/s {
			return 0, fmt.Errorf("gpu: shape %v has too many elements", shape)
		}
		n *= s
	}
	return n, nil
}

func (d *Device) tensor(dtype DType, shape []int, pooled bool, label string) (*Tensor, error) {
	n, err := count(shape)
	if err != nil {
		return nil, err
	}
	b, err := d.alloc(dtype.bytes(n), storageUsage, pooled, label)
	if err != nil {
		return nil, err
	}
	return &Tensor{d: d, buf: b, shape: append([]int(nil), shape...), dtype: dtype, n: n}, nil
}

// NewTensor returns a scratch tensor from the pool. Its contents are
// undefined until a kernel or Write fills it.
func (d *Device) NewTensor(dtype DType, shape ...int) (*Tensor, error) {
	return d.tensor(dtype, shape, true, "scratch "+dtype.String())
}

// upload makes an exact-size tensor holding raw.
func (d *Device) upload(dtype DType, shape []int, raw []byte, label string) (*Tensor, error) {
	t, err := d.tensor(dtype, shape, false, label)
	if err != nil {
		return nil, err
	}
	if err := t.writeRaw(raw); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// NewWeight returns an uninitialised tensor of exact size for data that
// lives long (weights), to be filled with WriteFloats or WriteF16Bits: so
// that a loader can allocate in order and fill from several goroutines.
func (d *Device) NewWeight(dtype DType, shape ...int) (*Tensor, error) {
	return d.tensor(dtype, shape, false, dtype.String()+" weight")
}

// WriteFloats overwrites an F32 tensor with data, or an F16 tensor with
// data rounded to f16. Safe to call from several goroutines on different
// tensors.
func (t *Tensor) WriteFloats(data []float32) error {
	if len(data) != t.n {
		return fmt.Errorf("gpu: write %d values into %s", len(data), t)
	}
	switch t.dtype {
	case F32:
		return t.writeRaw(f32Bytes(data))
	case F16:
		return t.writeRaw(packF16(data, F16Bits))
	case Q8:
		return t.writeRaw(packQ8(data))
	}
	return fmt.Errorf("gpu: write floats into %s", t)
}

// WriteF16Bits overwrites an F16 tensor with IEEE binary16 values (as
// bits).
func (t *Tensor) WriteF16Bits(bits []uint16) error {
	if t.dtype != F16 || len(bits) != t.n {
		return fmt.Errorf("gpu: write %d f16 values into %s", len(bits), t)
	}
	raw := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(bits))), 2*len(bits))
	if uint64(len(raw)) != F16.bytes(len(bits)) {
		// An odd count: writes are of whole words, so the last is padded
		// in a copy. Others are written from bits, without one.
		raw = append(make([]byte, 0, F16.bytes(len(bits))), raw...)
		raw = raw[:cap(raw)]
	}
	return t.writeRaw(raw)
}

// WriteF16BitsAt overwrites elements off to off+len(bits) of an F16 tensor
// with IEEE binary16 values (as bits), so that a loader can convert and
// write a large tensor in pieces. Writes are of whole 4-byte words: off
// must be even, and so must len(bits) unless the range ends the tensor.
func (t *Tensor) WriteF16BitsAt(off int, bits []uint16) error {
	end := off + len(bits)
	if t.dtype != F16 || off < 0 || off%2 != 0 || end > t.n || len(bits)%2 != 0 && end != t.n {
		return fmt.Errorf("gpu: write %d f16 values at %d into %s", len(bits), off, t)
	}
	raw := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(bits))), 2*len(bits))
	if len(bits)%2 != 0 {
		raw = append(raw[:len(raw):len(raw)], 0, 0)
	}
	return t.writeRawAt(uint64(2*off), raw)
}

// UploadF32 copies data to a new tensor stored as dtype (F32, F16 rounding
// to nearest even, or Q8 quantising per block).
func (d *Device) UploadF32(data []float32, dtype DType, shape ...int) (*Tensor, error) {
	if err := checkLen(len(data), shape); err != nil {
		return nil, err
	}
	switch dtype {
	case F32:
		return d.upload(F32, shape, f32Bytes(data), "f32 upload")
	case F16:
		return d.upload(F16, shape, packF16(data, F16Bits), "f16 upload")
	case Q8:
		return d.upload(Q8, shape, packQ8(data), "q8 upload")
	}
	return nil, fmt.Errorf("gpu: cannot store float data as %s", dtype)
}

// UploadF16 copies IEEE binary16 values (as bits) to a new F16 tensor.
func (d *Device) UploadF16(bits []uint16, shape ...int) (*Tensor, error) {
	if err := checkLen(len(bits), shape); err != nil {
		return nil, err
	}
	raw := make([]byte, F16.bytes(len(bits)))
	copy(raw, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(bits))), 2*len(bits)))
	return d.upload(F16, shape, raw, "f16 upload")
}

// UploadBF16 converts bfloat16 values (as bits) to a new tensor of dtype F32
// (exact) or F16 (rounded; values beyond f16's range become infinities).
func (d *Device) UploadBF16(bits []uint16, dtype DType, shape ...int) (*Tensor, error) {
	f := make([]float32, len(bits))
	for i, b := range bits {
		f[i] = math.Float32frombits(uint32(b) << 16)
	}
	return d.UploadF32(f, dtype, shape...)
}

// UploadU32 copies data to a new U32 tensor.
func (d *Device) UploadU32(data []uint32, shape ...int) (*Tensor, error) {
	if err := checkLen(len(data), shape); err != nil {
		return nil, err
	}
	return d.upload(U32, shape, u32Bytes(data), "u32 upload")
}

// WriteF32 overwrites an F32 tensor's contents.
func (t *Tensor) WriteF32(data []float32) error {
	if t.dtype != F32 || len(data) != t.n {
		return fmt.Errorf("gpu: write %d f32 values into %s", len(data), t)
	}
	return t.writeRaw(f32Bytes(data))
}

// WriteF32At overwrites elements off to off+len(data) of an F32 tensor, so
// that a loader can convert and write a large tensor in pieces.
func (t *Tensor) WriteF32At(off int, data []float32) error {
	if t.dtype != F32 || off < 0 || off+len(data) > t.n {
		return fmt.Errorf("gpu: write %d f32 values at %d into %s", len(data), off, t)
	}
	return t.writeRawAt(uint64(4*off), f32Bytes(data))
}

// WriteU32 overwrites a U32 tensor's contents.
func (t *Tensor) WriteU32(data []uint32) error {
	if t.dtype != U32 || len(data) != t.n {
		return fmt.Errorf("gpu: write %d u32 values into %s", len(data), t)
	}
	return t.writeRaw(u32Bytes(data))
}

func (t *Tensor) writeRaw(raw []byte) error { return t.writeRawAt(0, raw) }

// writeRawAt writes raw into the tensor's buffer from byte offset off.
func (t *Tensor) writeRawAt(off uint64, raw []byte) error {
	if err := t.d.Err(); err != nil {
		return err
	}
	if err := native.WriteBuffer(t.d.queue, t.buf.b, off, raw); err != nil {
		return fmt.Errorf("gpu: write %s: %w", t, err)
	}
	return nil
}

// ReadF32 downloads the tensor as float32 (converting f16). It waits for all
// work submitted so far that writes the tensor; meant for tests and tools,
// not hot paths.
func (t *Tensor) ReadF32() ([]float32, error) {
	raw, err := t.read()
	if err != nil {
		return nil, err
	}
	out := make([]float32, t.n)
	switch t.dtype {
	case F32:
		copy(out, unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(raw))), t.n))
	case F16:
		h := unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(raw))), t.n)
		for i, b := range h {
			out[i] = float16.Frombits(b).Float32()
		}
	default:
		return nil, fmt.Errorf("gpu: read %s as f32", t)
	}
	return out, nil
}

// ReadU32 downloads a U32 tensor.
func (t *Tensor) ReadU32() ([]uint32, error) {
	if t.dtype != U32 {
		return nil, fmt.Errorf("gpu: read %s as u32", t)
	}
	raw, err := t.read()
	if err != nil {
		return nil, err
	}
	return append([]uint32(nil), unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(raw))), t.n)...), nil
}

func (t *Tensor) read() ([]byte, error) {
	b := t.d.NewBatch()
	r := b.Read(t)
	if err := b.Submit(); err != nil {
		return nil, err
	}
	return r.Bytes()
}

func checkLen(n int, shape []int) error {
	want, err := count(shape)
	if err != nil {
		return err
	}
	if n != want {
		return fmt.Errorf("gpu: %d values for shape %v (%d elements)", n, shape, want)
	}
	return nil
}

func f32Bytes(v []float32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
}

func u32Bytes(v []uint32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
}

// packF16 converts v with conv into f16 words, in parallel for large
// tensors: loading FLAN-T5-base converts 250 million weights, which takes
// most of a second on one core.
func packF16(v []float32, conv func(float32) uint16) []byte {
	raw := make([]byte, F16.bytes(len(v)))
	h := unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(raw))), len(raw)/2)
	inChunks(len(v), 1<<18, func(lo, hi int) {
		for i, x := range v[lo:hi] {
			h[lo+i] = conv(x)
		}
	})
	return raw
}

// inChunks calls fn on consecutive ranges [lo, hi) of chunk elements
// covering [0, n), from a goroutine per CPU when there are at least two
// chunks, else at once.
func inChunks(n, chunk int, fn func(lo, hi int)) {
	if n < 2*chunk {
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
