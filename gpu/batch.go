package gpu

import (
	"fmt"
	"math"
	"sync/atomic"
	"unsafe"

	"github.com/cogentcore/webgpu/wgpu"

	"github.com/nib-editor/nib/gpu/internal/native"
	"github.com/nib-editor/nib/kernels"
)

// Batch records kernel dispatches and copies into one command encoder and
// submits them at once. Errors while recording are sticky: the first is kept
// and returned by Submit, and later calls record nothing. A Batch is not safe
// for concurrent use; after Submit it may be reused.
type Batch struct {
	d      *Device
	enc    *wgpu.CommandEncoder
	pass   *wgpu.ComputePassEncoder
	params []byte
	reads  []*Readback
	offset [1]uint32
	count  int
	err    error
	// rec, when set, collects dispatches for a Plan instead of encoding.
	rec *planRecording
}

// NewBatch starts an empty batch.
func (d *Device) NewBatch() *Batch {
	// params is made on the first dispatch: a batch of recorded plans
	// (a greedy chunk) has none, and zeroing 64 KiB per batch cost more
	// than recording a step's 88 dispatches into it.
	return &Batch{d: d}
}

// Err returns the first error recorded so far.
func (b *Batch) Err() error { return b.err }

// Recorded returns the number of dispatches, copies and reads recorded since
// the last Submit.
func (b *Batch) Recorded() int { return b.count }

// fail records err unless an earlier error is already kept.
func (b *Batch) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

func (b *Batch) failf(format string, args ...any) {
	b.fail(fmt.Errorf("gpu: "+format, args...))
}

func (b *Batch) encoder() bool {
	if b.err != nil {
		return false
	}
	if b.rec != nil {
		b.failf("copies and reads cannot be recorded in a plan")
		return false
	}
	if b.d.collecting.Load() != nil {
		return false // Precompile's dry run: nothing is encoded
	}
	if b.enc == nil {
		enc, err := b.d.dev.CreateCommandEncoder(nil)
		if err != nil {
			b.fail(fmt.Errorf("gpu: create command encoder: %w", err))
			return false
		}
		b.enc = enc
	}
	return true
}

func (b *Batch) computePass() *wgpu.ComputePassEncoder {
	if b.pass == nil {
		b.pass = b.enc.BeginComputePass(nil)
	}
	return b.pass
}

func (b *Batch) endPass() {
	if b.pass == nil {
		return
	}
	if err := native.EndPass(b.pass); err != nil {
		b.fail(fmt.Errorf("gpu: end compute pass: %w", err))
	}
	b.pass.Release()
	b.pass = nil
}

// dispatch records one kernel launch: k specialised by defs, with params as
// its parameter block, groups workgroups and bufs as bindings 1..n.
func (b *Batch) dispatch(k *kernels.Kernel, defs kernels.Defines, params []uint32, groups [3]uint32, bufs ...*Tensor) {
	if b.err != nil {
		return
	}
	collecting := b.d.collecting.Load()
	if b.rec == nil && collecting == nil && !b.encoder() {
		return
	}
	if len(bufs) != len(k.Buffers) || len(bufs) > maxBuffers {
		b.failf("%s: %d buffers bound, kernel has %d", k.Name, len(bufs), len(k.Buffers))
		return
	}
	for i, t := range bufs {
		if t == nil || t.buf == nil {
			b.failf("%s: buffer %d is nil or closed", k.Name, i+1)
			return
		}
	}
	if len(params)*4 > paramsWindow {
		b.failf("%s: %d parameter words, at most %d", k.Name, len(params), paramsWindow/4)
		return
	}
	max := b.d.limits.MaxComputeWorkgroupsPerDimension
	if groups[0] > max || groups[1] > max || groups[2] > max {
		b.failf("%s: dispatch %v exceeds %d workgroups per dimension", k.Name, groups, max)
		return
	}
	if groups[0] == 0 || groups[1] == 0 || groups[2] == 0 {
		return
	}
	if collecting != nil {
		collecting.add(k, defs)
		b.count++
		return
	}
	p, err := b.d.pipeline(k, defs)
	if err != nil {
		b.fail(err)
		return
	}
	if b.rec != nil {
		b.rec.record(p, params, groups, bufs, int(b.d.limits.MinUniformBufferOffsetAlignment))
		b.count++
		return
	}
	bg, err := b.d.bindGroup(p, bufs)
	if err != nil {
		b.fail(fmt.Errorf("gpu: bind %s: %w", p.key, err))
		return
	}
	align := int(b.d.limits.MinUniformBufferOffsetAlignment)
	off := (len(b.params) + align - 1) / align * align
	if off+len(params)*4 > arenaSize {
		b.failf("batch has too many dispatches (%d): parameters exceed %d bytes", b.count, arenaSize)
		return
	}
	if b.params == nil {
		b.params = make([]byte, 0, 64<<10)
	}
	for len(b.params) < off {
		b.params = append(b.params, 0)
	}
	b.params = append(b.params, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(params))), 4*len(params))...)
	pass := b.computePass()
	pass.SetPipeline(p.p)
	b.offset[0] = uint32(off)
	pass.SetBindGroup(0, bg, b.offset[:])
	pass.DispatchWorkgroups(groups[0], groups[1], groups[2])
	b.count++
}

// Clear zeroes a tensor.
func (b *Batch) Clear(t *Tensor) {
	if !b.encoder() {
		return
	}
	b.endPass()
	if err := native.ClearBuffer(b.enc, t.buf.b, 0, t.buf.size); err != nil {
		b.fail(fmt.Errorf("gpu: clear %s: %w", t, err))
	}
	b.count++
}

// Copy copies src into dst; both must have the same dtype and length.
func (b *Batch) Copy(dst, src *Tensor) {
	if !b.encoder() {
		return
	}
	if dst.dtype != src.dtype || dst.n != src.n {
		b.failf("copy %s into %s", src, dst)
		return
	}
	b.endPass()
	if err := b.enc.CopyBufferToBuffer(src.buf.b, 0, dst.buf.b, 0, src.Bytes()); err != nil {
		b.fail(fmt.Errorf("gpu: copy %s: %w", src, err))
	}
	b.count++
}

// CopyRange copies n elements of src starting at element srcOff into dst
// at element dstOff, as when appending new keys and values to a KV cache.
// Both must have the same dtype; offsets and n in f16 tensors must be even
// (whole 32-bit words).
func (b *Batch) CopyRange(dst *Tensor, dstOff int, src *Tensor, srcOff, n int) {
	if !b.encoder() {
		return
	}
	if dst == nil || src == nil || dst.dtype != src.dtype {
		b.failf("copy range: %s into %s", src, dst)
		return
	}
	if n < 0 || srcOff < 0 || dstOff < 0 || srcOff+n > src.n || dstOff+n > dst.n {
		b.failf("copy range: %d elements from %d of %s to %d of %s out of bounds", n, srcOff, src, dstOff, dst)
		return
	}
	if src.dtype == F16 && (n%2 != 0 || srcOff%2 != 0 || dstOff%2 != 0) {
		b.failf("copy range: f16 offsets and lengths must be even, got %d+%d -> %d", srcOff, n, dstOff)
		return
	}
	if n == 0 {
		return
	}
	b.endPass()
	if err := b.enc.CopyBufferToBuffer(src.buf.b, src.dtype.bytes(srcOff), dst.buf.b, dst.dtype.bytes(dstOff), src.dtype.bytes(n)); err != nil {
		b.fail(fmt.Errorf("gpu: copy range of %s: %w", src, err))
	}
	b.count++
}

// Read records a copy of t into a small mappable buffer; after Submit the
// Readback's methods wait for this batch only and return the data. Use it for
// small results such as token ids: only t's bytes are copied and mapped.
func (b *Batch) Read(t *Tensor) *Readback {
	if t == nil {
		b.failf("read: nil tensor")
		return &Readback{d: b.d, err: b.err}
	}
	return b.ReadRange(t, 0, t.n)
}

// ReadRange is Read of elements off..off+n-1 of t; in F16 tensors off
// must be even, and n too unless the range ends the tensor.
func (b *Batch) ReadRange(t *Tensor, off, n int) *Readback {
	r := &Readback{d: b.d, t: t}
	if t == nil || off < 0 || n <= 0 || off+n > t.n || (t.dtype == F16 && (off%2 != 0 || (n%2 != 0 && off+n != t.n))) {
		b.failf("read: elements %d..%d of %s", off, off+n, t)
		r.err = b.err
		return r
	}
	r.size = t.dtype.bytes(n)
	if b.d.collecting.Load() != nil {
		r.data = make([]byte, r.size) // Precompile's dry run reads zeros
		return r
	}
	if !b.encoder() {
		r.err = b.err
		return r
	}
	st, err := b.d.alloc(r.size, stagingUsage, true, "readback")
	if err != nil {
		b.fail(err)
		r.err = err
		return r
	}
	b.endPass()
	if err := b.enc.CopyBufferToBuffer(t.buf.b, t.dtype.bytes(off), st.b, 0, r.size); err != nil {
		b.d.free(st)
		b.fail(fmt.Errorf("gpu: read %s: %w", t, err))
		r.err = b.err
		return r
	}
	r.staging = st
	b.reads = append(b.reads, r)
	b.count++
	return r
}

// Submit finishes the batch and hands it to the GPU queue. It returns the
// first error recorded, without submitting anything, if there was one. The
// batch is empty afterwards and may be reused.
func (b *Batch) Submit() error {
	defer b.reset()
	if b.err != nil {
		return b.err
	}
	if b.enc == nil {
		return nil
	}
	b.endPass()
	if b.err != nil {
		return b.err
	}
	cmd, err := b.enc.Finish(nil)
	if err != nil {
		return fmt.Errorf("gpu: finish batch: %w", err)
	}
	defer cmd.Release()
	d := b.d
	if err := d.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("gpu: device closed")
	}
	// Queue writes execute before later submissions and after earlier ones,
	// so one arena serves every batch in turn.
	if len(b.params) > 0 {
		if err := native.WriteBuffer(d.queue, d.arena, 0, b.params); err != nil {
			return fmt.Errorf("gpu: write parameters: %w", err)
		}
	}
	d.queue.Submit(cmd)
	for _, r := range b.reads {
		r.submitted = true
	}
	return nil
}

// Discard drops everything recorded since the last Submit, as when the
// caller hit an error halfway through a forward pass.
func (b *Batch) Discard() { b.reset() }

func (b *Batch) reset() {
	b.endPass()
	if b.enc != nil {
		b.enc.Release()
		b.enc = nil
	}
	for _, r := range b.reads {
		if !r.submitted && r.staging != nil {
			b.d.free(r.staging)
			r.staging = nil
			if r.err == nil {
				r.err = fmt.Errorf("gpu: read of %s was not submitted", r.t)
			}
		}
	}
	b.reads = b.reads[:0]
	b.params = b.params[:0]
	b.count = 0
	b.err = nil
}

// Readback is the pending result of Batch.Read.
type Readback struct {
	d         *Device
	t         *Tensor
	size      uint64 // bytes read
	staging   *buffer
	submitted bool
	data      []byte
	err       error
}

// Bytes waits for the batch that recorded the read and returns the tensor's
// bytes. It waits until that submission's copy is done, not for later
// submissions.
func (r *Readback) Bytes() ([]byte, error) {
	if r.data != nil || r.err != nil {
		return r.data, r.err
	}
	if !r.submitted {
		return nil, fmt.Errorf("gpu: read of %s before its batch was submitted", r.t)
	}
	size := r.size
	var mapped atomic.Uint32
	const pending = math.MaxUint32
	mapped.Store(pending)
	// Through the native shim: the binding's MapAsync passes C a pointer
	// to a Go variable that may be gone when the callback runs.
	native.MapAsync(r.staging.b, wgpu.MapModeRead, 0, size, func(s wgpu.BufferMapAsyncStatus) {
		mapped.Store(uint32(s))
		r.d.wakeWaiters()
	})
	if err := r.d.waitMapped(func() bool { return mapped.Load() != pending }); err != nil {
		r.finish(nil, err)
		return r.data, r.err
	}
	if status := wgpu.BufferMapAsyncStatus(mapped.Load()); status != wgpu.BufferMapAsyncStatusSuccess {
		r.finish(nil, fmt.Errorf("gpu: map readback of %s: %s", r.t, status))
		return r.data, r.err
	}
	data := append([]byte(nil), r.staging.b.GetMappedRange(0, uint(size))...)
	if err := r.staging.b.Unmap(); err != nil {
		r.finish(nil, fmt.Errorf("gpu: unmap readback of %s: %w", r.t, err))
		return r.data, r.err
	}
	r.finish(data, nil)
	return r.data, r.err
}

// Discard gives up a read that is not wanted, without waiting for it: its
// staging buffer goes back to the pool (any later use of it is submitted
// after this read's copy). Bytes then fails. A nil Readback (no read)
// has nothing to give up.
func (r *Readback) Discard() {
	if r == nil || r.data != nil || r.err != nil {
		return
	}
	r.finish(nil, fmt.Errorf("gpu: read of %s discarded", r.t))
}

func (r *Readback) finish(data []byte, err error) {
	r.data, r.err = data, err
	if r.staging != nil {
		r.d.free(r.staging)
		r.staging = nil
	}
}

// U32 returns the read tensor's values as uint32.
func (r *Readback) U32() ([]uint32, error) {
	raw, err := r.Bytes()
	if err != nil {
		return nil, err
	}
	return append([]uint32(nil), unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(raw))), len(raw)/4)...), nil
}
