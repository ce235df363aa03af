package gpu

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"

	"github.com/cogentcore/webgpu/wgpu"
)

// buffer is one GPU buffer owned by the device. Buffers are released, never
// destroyed: a release waits for in-flight work, while wgpu-native aborts the
// process when a submission references a destroyed buffer.
type buffer struct {
	b      *wgpu.Buffer
	id     uint64
	size   uint64
	usage  wgpu.BufferUsage
	pooled bool
}

const (
	storageUsage = wgpu.BufferUsageStorage | wgpu.BufferUsageCopySrc | wgpu.BufferUsageCopyDst
	stagingUsage = wgpu.BufferUsageMapRead | wgpu.BufferUsageCopyDst
	minPooled    = 256
)

// sizeClass rounds a pooled request up to a power of two, so that buffers of
// a decode step's varying sizes are reused rather than reallocated.
func sizeClass(n uint64) uint64 {
	if n <= minPooled {
		return minPooled
	}
	return 1 << bits.Len64(n-1)
}

type poolKey struct {
	size  uint64
	usage wgpu.BufferUsage
}

// pool keeps released scratch and staging buffers by size class. Guarded by
// Device.mu.
type pool struct {
	free map[poolKey][]*buffer
	// live and idle count bytes held by the device, for PoolStats.
	live, idle uint64
	hits, miss uint64
}

// PoolStats describes the device's buffer memory.
type PoolStats struct {
	// Bytes held in all buffers the device allocated and has not released.
	Bytes uint64
	// IdleBytes of those sit in the pool waiting for reuse.
	IdleBytes uint64
	// Hits and Misses count pooled requests served by reuse or allocation.
	Hits, Misses uint64
}

// PoolStats reports the device's buffer memory and pool reuse.
func (d *Device) PoolStats() PoolStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return PoolStats{Bytes: d.pool.live, IdleBytes: d.pool.idle, Hits: d.pool.hits, Misses: d.pool.miss}
}

// alloc returns a buffer of at least size bytes. Pooled buffers come from
// and return to the pool; others have exactly the requested size.
func (d *Device) alloc(size uint64, usage wgpu.BufferUsage, pooled bool, label string) (*buffer, error) {
	if err := d.Err(); err != nil {
		return nil, err
	}
	if size == 0 {
		size = 4
	}
	if pooled {
		size = sizeClass(size)
	}
	if usage&wgpu.BufferUsageStorage != 0 && size > d.limits.MaxStorageBufferBindingSize {
		return nil, fmt.Errorf("gpu: %s needs %d bytes; the adapter binds at most %d", label, size, d.limits.MaxStorageBufferBindingSize)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, fmt.Errorf("gpu: device closed")
	}
	key := poolKey{size, usage}
	if pooled {
		if free := d.pool.free[key]; len(free) > 0 {
			b := free[len(free)-1]
			d.pool.free[key] = free[:len(free)-1]
			d.pool.idle -= b.size
			d.pool.hits++
			return b, nil
		}
		d.pool.miss++
	}
	wb, err := d.dev.CreateBuffer(&wgpu.BufferDescriptor{Label: label, Size: size, Usage: usage})
	if err == nil {
		// Out-of-memory is not a validation error, so it arrives through the
		// uncaptured-error callback during CreateBuffer, not as err.
		if p := d.uncaptured.Swap(nil); p != nil {
			err = *p
		}
	}
	if err != nil {
		if wb != nil {
			wb.Release()
		}
		return nil, fmt.Errorf("gpu: allocate %d bytes for %s: %w", size, label, err)
	}
	d.nextID++
	d.pool.live += size
	return &buffer{b: wb, id: d.nextID, size: size, usage: usage, pooled: pooled}, nil
}

// free returns a pooled buffer to the pool or releases an exact one,
// dropping bind groups that refer to it.
func (d *Device) free(b *buffer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	if b.pooled {
		if d.pool.free == nil {
			d.pool.free = map[poolKey][]*buffer{}
		}
		key := poolKey{b.size, b.usage}
		d.pool.free[key] = append(d.pool.free[key], b)
		d.pool.idle += b.size
		return
	}
	d.dropBindGroups(b.id)
	d.pool.live -= b.size
	b.b.Release()
}

// release frees every pooled buffer; called on device close.
func (p *pool) release() {
	for _, bufs := range p.free {
		for _, b := range bufs {
			b.b.Release()
		}
	}
	p.free = nil
	p.idle = 0
}

// TrimPool releases pooled buffers that wait for reuse until at most keep
// bytes of them are left, largest first: the pool grows to the largest
// working set seen (a long prompt, a wide batch) and would hold that
// memory for good. Work already submitted that uses a released buffer still
// completes; wgpu frees it after.
func (d *Device) TrimPool(keep uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || d.pool.idle <= keep {
		return
	}
	keys := make([]poolKey, 0, len(d.pool.free))
	for k := range d.pool.free {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b poolKey) int { return cmp.Compare(b.size, a.size) })
	for _, k := range keys {
		bufs := d.pool.free[k]
		for len(bufs) > 0 && d.pool.idle > keep {
			b := bufs[len(bufs)-1]
			bufs = bufs[:len(bufs)-1]
			d.pool.idle -= b.size
			d.pool.live -= b.size
			d.dropBindGroups(b.id)
			b.b.Release()
		}
		if len(bufs) == 0 {
			delete(d.pool.free, k)
		} else {
			d.pool.free[k] = bufs
		}
		if d.pool.idle <= keep {
			return
		}
	}
}
