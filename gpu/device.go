package gpu

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cogentcore/webgpu/wgpu"
	"go.uber.org/zap"

	"github.com/nib-editor/nib/gpu/internal/native"
)

// ErrDeviceLost is wrapped by every error after the device stopped working.
var ErrDeviceLost = errors.New("gpu: device lost")

// ErrOutOfMemory is wrapped by the error of an allocation or submission the
// device had no memory for; the device itself goes on working.
var ErrOutOfMemory = errors.New("gpu: out of memory")

// Limits nib's kernels need beyond WebGPU's defaults. Storage bindings and
// buffers are raised to the adapter's maximum so that large weight matrices
// fit; the kernels' workgroup memory stays within the default 16 KiB.
const (
	minStorageBinding = 128 << 20
	workgroupStorage  = 16 << 10
	// workgroupStorageWanted is what the widest kernel layouts use.
	workgroupStorageWanted = 32 << 10
	invocationsPerGroup    = 256
	storageBuffersUsed     = 8
	maxBufferRequest       = 1 << 40
)

// heapMmapThreshold is the size from which C allocations get mappings of
// their own, returned to the system when freed: software drivers such as
// lavapipe keep buffers and staging memory in the C heap, and with glibc's
// adaptive threshold every reload or device open left megabytes resident.
// Below it lie the driver's and the compiler's small allocations.
const heapMmapThreshold = 1 << 20

var tuneHeap sync.Once

// TrimHeap hands the free pages of the C heap, where wgpu-native and
// software drivers keep their memory, back to the system. Call it after
// releasing much at once (a model, a device): the C library would keep
// most of that memory resident. It takes a pass over the heap, up to a
// few hundred milliseconds after a device close on lavapipe.
func TrimHeap() { native.TrimHeap() }

// Options configure Open.
type Options struct {
	// Adapter chooses the adapter: an index from Adapters or a name
	// substring. Empty means $NIB_ADAPTER, then the best adapter.
	Adapter string
	// Logger receives wgpu's warnings and nib's device events. Nil discards.
	Logger *zap.Logger
}

// Device is an open WebGPU device with its queue, buffer pool and the state
// shared by command batches. It is safe for concurrent use; recording a
// Batch is not.
type Device struct {
	info       AdapterInfo
	inst       *wgpu.Instance
	adapter    *wgpu.Adapter
	dev        *wgpu.Device
	queue      *wgpu.Queue
	unregister func()
	limits     wgpu.Limits
	shaderF16  bool
	timestamps bool
	// forceLayout, when set, overrides the adapter's kernel layouts
	// (layout.go); tests run both on one device.
	forceLayout int
	log         *zap.Logger
	pipelines   *pipelineCache

	lost       atomic.Pointer[error]
	uncaptured atomic.Pointer[error]
	// wake is closed, and replaced, by the callbacks a browser delivers
	// on its event loop (a mapping settled, the device lost, an error):
	// there waits block on it instead of polling (wait_js.go), every
	// waiter at once.
	wakeMu sync.Mutex
	wake   chan struct{}
	// collecting is set during Precompile's dry run.
	collecting atomic.Pointer[collector]

	// mu guards everything below: the pool, bind groups, layouts and the
	// parameter arena, and orders arena writes with submissions.
	mu         sync.Mutex
	pool       pool
	layouts    map[string]*wgpu.BindGroupLayout
	bindGroups map[bindKey]*wgpu.BindGroup
	arena      *wgpu.Buffer
	nextID     uint64
	closed     bool
}

// Open picks an adapter and opens a device with the limits and features
// nib's kernels need.
func Open(opts Options) (*Device, error) {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	if opts.Logger != nil {
		SetLogger(opts.Logger)
	}
	tuneHeap.Do(func() { native.TuneHeap(heapMmapThreshold) })
	inst, err := native.Instance()
	if err != nil {
		return nil, err
	}
	adapters := native.Adapters(inst)
	infos := make([]AdapterInfo, len(adapters))
	for i, a := range adapters {
		infos[i] = describe(i, a)
	}
	idx, err := Choose(infos, adapterChoice(opts.Adapter))
	if err != nil {
		for _, a := range adapters {
			a.Release()
		}
		inst.Release()
		return nil, err
	}
	for i, a := range adapters {
		if i != idx {
			a.Release()
		}
	}
	d := &Device{
		info:       infos[idx],
		inst:       inst,
		adapter:    adapters[idx],
		log:        log,
		pipelines:  newPipelineCache(),
		layouts:    map[string]*wgpu.BindGroupLayout{},
		bindGroups: map[bindKey]*wgpu.BindGroup{},
	}
	if err := d.open(); err != nil {
		d.adapter.Release()
		d.inst.Release()
		return nil, err
	}
	log.Info("gpu device open", zap.Stringer("adapter", d.info),
		zap.Bool("shader_f16", d.shaderF16), zap.Bool("timestamp_query", d.timestamps))
	return d, nil
}

func (d *Device) open() error {
	have := d.adapter.GetLimits().Limits
	if have.MaxStorageBufferBindingSize < minStorageBinding {
		return fmt.Errorf("gpu: adapter %s allows storage bindings of %d bytes; nib needs at least %d",
			d.info, have.MaxStorageBufferBindingSize, minStorageBinding)
	}
	if have.MaxComputeWorkgroupStorageSize < workgroupStorage ||
		have.MaxComputeInvocationsPerWorkgroup < invocationsPerGroup ||
		have.MaxStorageBuffersPerShaderStage < storageBuffersUsed {
		return fmt.Errorf("gpu: adapter %s is below WebGPU's default compute limits "+
			"(workgroup storage %d, invocations %d, storage buffers %d); nib needs %d, %d, %d",
			d.info, have.MaxComputeWorkgroupStorageSize, have.MaxComputeInvocationsPerWorkgroup,
			have.MaxStorageBuffersPerShaderStage, workgroupStorage, invocationsPerGroup, storageBuffersUsed)
	}
	want := wgpu.DefaultLimits()
	want.MaxStorageBufferBindingSize = have.MaxStorageBufferBindingSize
	// UINT64_MAX means "undefined" to wgpu-native, which then grants the
	// 256 MiB default: ask for a concrete size.
	want.MaxBufferSize = min(have.MaxBufferSize, maxBufferRequest)
	// Larger workgroup storage lets FMatVec keep its widest groups for
	// batched rows (op_fmatvec.go); it works within the default too.
	want.MaxComputeWorkgroupStorageSize = min(have.MaxComputeWorkgroupStorageSize, workgroupStorageWanted)
	// DecoderLayer can be measured in wider workgroups (NIB_DECLAYER_WG).
	want.MaxComputeInvocationsPerWorkgroup = min(have.MaxComputeInvocationsPerWorkgroup, 1024)
	want.MaxComputeWorkgroupSizeX = min(have.MaxComputeWorkgroupSizeX, 1024)
	// DecoderLayer binds declayerBuffers storage buffers where the adapter
	// allows it.
	want.MaxStorageBuffersPerShaderStage = min(have.MaxStorageBuffersPerShaderStage, declayerBuffers)
	var features []wgpu.FeatureName
	if d.info.ShaderF16 {
		features = append(features, wgpu.FeatureNameShaderF16)
	}
	if d.info.TimestampQuery {
		features = append(features, wgpu.FeatureNameTimestampQuery)
	}
	dev, unregister, err := native.RequestDevice(d.adapter, features, want, (*reporter)(d))
	if err != nil {
		return fmt.Errorf("gpu: request device on %s: %w", d.info, err)
	}
	d.dev, d.unregister, d.queue = dev, unregister, dev.GetQueue()
	d.limits = dev.GetLimits().Limits
	d.shaderF16 = native.DeviceHasFeature(dev, wgpu.FeatureNameShaderF16)
	d.timestamps = native.DeviceHasFeature(dev, wgpu.FeatureNameTimestampQuery)
	arena, err := dev.CreateBuffer(&wgpu.BufferDescriptor{
		Label: "nib params",
		Size:  arenaSize + paramsWindow,
		Usage: wgpu.BufferUsageUniform | wgpu.BufferUsageCopyDst,
	})
	if err != nil {
		d.queue.Release()
		dev.Release()
		unregister()
		return fmt.Errorf("gpu: create parameter buffer: %w", err)
	}
	d.arena = arena
	return nil
}

// reporter receives the driver's callbacks for a Device.
type reporter Device

func (r *reporter) DeviceLost(reason wgpu.DeviceLostReason, message string) {
	d := (*Device)(r)
	if d.closing() {
		return
	}
	err := fmt.Errorf("%w: %s (%s)", ErrDeviceLost, message, reason)
	d.lost.CompareAndSwap(nil, &err)
	d.wakeWaiters()
	d.log.Error("gpu device lost", zap.String("reason", reason.String()), zap.String("message", message))
}

func (r *reporter) UncapturedError(typ wgpu.ErrorType, message string) {
	d := (*Device)(r)
	err := fmt.Errorf("gpu: %s error: %s", typ, message)
	if typ == wgpu.ErrorTypeOutOfMemory {
		err = fmt.Errorf("%w: %s", ErrOutOfMemory, message)
	}
	d.uncaptured.CompareAndSwap(nil, &err)
	d.wakeWaiters()
	d.log.Error("gpu uncaptured error", zap.String("type", typ.String()), zap.String("message", message))
}

// wakeWaiters lets every blocked wait look again; it never blocks.
func (d *Device) wakeWaiters() {
	d.wakeMu.Lock()
	if d.wake != nil {
		close(d.wake)
		d.wake = nil
	}
	d.wakeMu.Unlock()
}

// Lost reports whether the device stopped working, without taking any
// pending error (Err does).
func (d *Device) Lost() bool { return d.lost.Load() != nil }

func (d *Device) closing() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// Err returns the error that made the device unusable, if any: a lost
// device, or an uncaptured driver error (such as running out of memory)
// that has not been reported by a call yet.
func (d *Device) Err() error {
	if p := d.lost.Load(); p != nil {
		return *p
	}
	if p := d.uncaptured.Swap(nil); p != nil {
		return *p
	}
	return nil
}

// Info describes the adapter the device was opened on.
func (d *Device) Info() AdapterInfo { return d.info }

// ShaderF16 reports whether kernels may use f16 arithmetic.
func (d *Device) ShaderF16() bool { return d.shaderF16 }

// MaxStorageBinding is the largest buffer a kernel can bind, in bytes.
func (d *Device) MaxStorageBinding() uint64 { return d.limits.MaxStorageBufferBindingSize }

// Close releases the device and everything it owns, the pipeline cache
// included. Tensors must be closed before.
func (d *Device) Close() error {
	// Work still in flight finishes before anything is released, without
	// relying on wgpu's own blocking waits, which give up after 5 s (see
	// waitFor). A lost device returns at once.
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if !closed {
		d.waitIdle()
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	// Writes still queued must reach a submission before the device goes:
	// wgpu-native keeps them, and through them the device and everything
	// it ever allocated, for the life of the process (about 45 MB per
	// close with a small model loaded on lavapipe).
	if !d.Lost() {
		d.flush()
		d.mu.Unlock()
		d.waitIdle()
		d.mu.Lock()
	}
	for _, bg := range d.bindGroups {
		bg.Release()
	}
	d.bindGroups = nil
	for _, l := range d.layouts {
		l.Release()
	}
	d.layouts = nil
	d.pool.release()
	d.arena.Release()
	d.mu.Unlock()
	d.pipelines.close()
	d.queue.Release()
	d.dev.Release()
	d.unregister()
	d.adapter.Release()
	d.inst.Release()
	return nil
}

// SimulateLoss marks the device lost as if the driver had reported it. It
// exists for fault-injection tests of the layers above.
func (d *Device) SimulateLoss(reason string) {
	(*reporter)(d).DeviceLost(wgpu.DeviceLostReasonUnknown, reason)
}

// Sync hands the queue the buffer writes made since the last submission
// and waits until they and all work submitted so far have finished, then
// reports any error the device has met.
func (d *Device) Sync() error {
	if err := d.Err(); err != nil {
		return err
	}
	d.Flush()
	return d.Err()
}

// Flush is Sync without the error: it submits the writes queued since the
// last submission and waits for all work, so that the driver frees what
// was released meanwhile. wgpu-native frees released buffers and bind
// groups only when the device is polled, and keeps the staging copy of
// every write until the next submission: models loaded and replaced
// before they served a request would otherwise pile up second copies of
// their weights. A lost or closed device is left alone (submitting to a
// lost one aborts the process).
func (d *Device) Flush() {
	d.mu.Lock()
	if d.closed || d.Lost() {
		d.mu.Unlock()
		return
	}
	d.flush()
	d.mu.Unlock()
	// Waited out by polling, never by wgpu's blocking poll (see waitFor).
	d.waitIdle()
}

// flush submits the buffer writes queued since the last submission, as an
// empty submission does in wgpu-native. Guarded by d.mu, which orders it
// with Batch.Submit; the device must not be lost.
func (d *Device) flush() { d.queue.Submit() }
