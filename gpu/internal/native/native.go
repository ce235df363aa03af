//go:build !js

// Package native reaches what the Go binding github.com/cogentcore/webgpu
// does not expose safely or at all, on each platform behind one API: here,
// wgpu-native through cgo (requesting a device with device-lost and
// uncaptured-error callbacks, mapping buffers, routing wgpu-native's log
// lines); in a browser (browser.go), the page's WebGPU through syscall/js.
//
// The binding's own DeviceLostCallback hands a Go pointer to C and trips the
// cgo pointer checks, and it offers no uncaptured-error callback at all, in
// which case wgpu-native treats every uncaptured error as fatal and aborts
// the process (an out-of-memory error, say). Callbacks here carry a plain
// integer as user data, so no Go pointer ever crosses into C.
//
// Errors at queue submission are fatal in wgpu-native whatever callbacks are
// set, so callers must never submit work that references a destroyed buffer.
//
// webgpu.h and wgpu.h are copied unchanged from the binding's version
// (v0.23.0, BSD-3-Clause) so that the structures match the linked library.
package native

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "wgpu.h"

extern void nibDeviceLost(WGPUDeviceLostReason reason, char *message, uintptr_t id);
extern void nibUncapturedError(WGPUErrorType type, char *message, uintptr_t id);
extern void nibLog(WGPULogLevel level, char *message);
extern void nibBufferMapped(WGPUBufferMapAsyncStatus status, uintptr_t id);

static void nib_device_lost(WGPUDeviceLostReason reason, char const *message, void *userdata) {
	nibDeviceLost(reason, (char *)message, (uintptr_t)userdata);
}
static void nib_uncaptured_error(WGPUErrorType type, char const *message, void *userdata) {
	nibUncapturedError(type, (char *)message, (uintptr_t)userdata);
}
static void nib_log(WGPULogLevel level, char const *message, void *userdata) {
	nibLog(level, (char *)message);
}

typedef struct {
	WGPURequestDeviceStatus status;
	WGPUDevice device;
	char message[512];
} nib_device_result;

static void nib_device_ready(WGPURequestDeviceStatus status, WGPUDevice device, char const *message, void *userdata) {
	nib_device_result *r = (nib_device_result *)userdata;
	r->status = status;
	r->device = device;
	r->message[0] = 0;
	if (message) {
		strncpy(r->message, message, sizeof r->message - 1);
		r->message[sizeof r->message - 1] = 0;
	}
}

static void nib_request_device(WGPUAdapter adapter, WGPUFeatureName const *features, size_t nfeatures,
		WGPULimits const *limits, uintptr_t id, nib_device_result *result) {
	WGPURequiredLimits required = {0};
	required.limits = *limits;
	WGPUDeviceDescriptor desc = {0};
	desc.label = "nib";
	desc.requiredFeatures = features;
	desc.requiredFeatureCount = nfeatures;
	desc.requiredLimits = &required;
	desc.deviceLostCallback = nib_device_lost;
	desc.deviceLostUserdata = (void *)id;
	desc.uncapturedErrorCallbackInfo.callback = nib_uncaptured_error;
	desc.uncapturedErrorCallbackInfo.userdata = (void *)id;
	wgpuAdapterRequestDevice(adapter, &desc, nib_device_ready, result);
}

static void nib_buffer_mapped(WGPUBufferMapAsyncStatus status, void *userdata) {
	nibBufferMapped(status, (uintptr_t)userdata);
}

static void nib_map_async(WGPUBuffer buffer, WGPUMapModeFlags mode, size_t offset, size_t size, uintptr_t id) {
	wgpuBufferMapAsync(buffer, mode, offset, size, nib_buffer_mapped, (void *)id);
}

#ifdef __GLIBC__
#include <malloc.h>
static void nib_trim_heap(void) { malloc_trim(0); }
static void nib_tune_heap(int mmap_threshold) { mallopt(M_MMAP_THRESHOLD, mmap_threshold); }
#else
static void nib_trim_heap(void) {}
static void nib_tune_heap(int mmap_threshold) {}
#endif

// nib_create_instance makes an instance over the given backends. The
// binding's CreateInstance leaves fields of the extras it mallocs unset,
// which wgpu-native then reads (a garbage GLES minor version aborts it).
static WGPUInstance nib_create_instance(WGPUInstanceBackendFlags backends) {
	WGPUInstanceExtras extras = {0};
	extras.chain.sType = (WGPUSType)WGPUSType_InstanceExtras;
	extras.backends = backends;
	WGPUInstanceDescriptor desc = {0};
	desc.nextInChain = (WGPUChainedStruct const *)&extras;
	return wgpuCreateInstance(&desc);
}

static void nib_set_log(WGPULogLevel level) {
	wgpuSetLogCallback(nib_log, NULL);
	wgpuSetLogLevel(level);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cogentcore/webgpu/wgpu"
)

// Handler receives what the driver reports about one device. Its methods are
// called from whichever goroutine drives wgpu (usually inside Poll or a
// submit) and must not call back into wgpu.
type Handler interface {
	// DeviceLost is called once when the device stops working.
	DeviceLost(reason wgpu.DeviceLostReason, message string)
	// UncapturedError is called for an error that no error scope caught.
	UncapturedError(typ wgpu.ErrorType, message string)
}

var (
	handlersMu sync.Mutex
	handlers   = map[uintptr]Handler{}
	nextID     atomic.Uintptr

	logMu   sync.Mutex
	logSink func(level wgpu.LogLevel, message string)
)

func handler(id uintptr) Handler {
	handlersMu.Lock()
	defer handlersMu.Unlock()
	return handlers[id]
}

//export nibDeviceLost
func nibDeviceLost(reason C.WGPUDeviceLostReason, message *C.char, id C.uintptr_t) {
	if h := handler(uintptr(id)); h != nil {
		h.DeviceLost(wgpu.DeviceLostReason(reason), C.GoString(message))
	}
}

//export nibUncapturedError
func nibUncapturedError(typ C.WGPUErrorType, message *C.char, id C.uintptr_t) {
	if h := handler(uintptr(id)); h != nil {
		h.UncapturedError(wgpu.ErrorType(typ), C.GoString(message))
	}
}

//export nibLog
func nibLog(level C.WGPULogLevel, message *C.char) {
	logMu.Lock()
	sink := logSink
	logMu.Unlock()
	if sink != nil {
		sink(wgpu.LogLevel(level), C.GoString(message))
	}
}

var (
	mapsMu sync.Mutex
	maps   = map[uintptr]func(wgpu.BufferMapAsyncStatus){}
)

//export nibBufferMapped
func nibBufferMapped(status C.WGPUBufferMapAsyncStatus, id C.uintptr_t) {
	mapsMu.Lock()
	done := maps[uintptr(id)]
	delete(maps, uintptr(id))
	mapsMu.Unlock()
	if done != nil {
		done(wgpu.BufferMapAsyncStatus(status))
	}
}

// bufferRef mirrors the binding's Buffer: its device and its handle (the
// layout is pinned by the binding version in go.mod and checked by this
// package's tests).
type bufferRef struct {
	device C.WGPUDevice
	ref    C.WGPUBuffer
}

// MapAsync starts mapping size bytes of buffer at offset, calling done
// with the outcome from whichever goroutine polls the device. It replaces
// the binding's Buffer.MapAsync, which hands C the address of a Go
// variable as the callback's data: the callback may run after that
// variable is gone and read a stale cgo.Handle ("misuse of an invalid
// Handle", or worse, another callback). Here the callback carries a plain
// integer.
func MapAsync(buffer *wgpu.Buffer, mode wgpu.MapMode, offset, size uint64, done func(wgpu.BufferMapAsyncStatus)) {
	id := nextID.Add(1)
	mapsMu.Lock()
	maps[id] = done
	mapsMu.Unlock()
	b := (*bufferRef)(unsafe.Pointer(buffer))
	C.nib_map_async(b.ref, C.WGPUMapModeFlags(mode), C.size_t(offset), C.size_t(size), C.uintptr_t(id))
}

// SetLogSink routes wgpu-native's own log lines to sink instead of the
// binding's default, which prints to stderr. Only messages at level or more
// severe are delivered.
func SetLogSink(level wgpu.LogLevel, sink func(level wgpu.LogLevel, message string)) {
	logMu.Lock()
	logSink = sink
	logMu.Unlock()
	C.nib_set_log(C.WGPULogLevel(level))
}

// TrimHeap hands the free pages of the C heap back to the system
// (glibc's malloc_trim; elsewhere it does nothing). glibc returns freed
// memory only from the top of its heaps, so what a released device or
// model held in the C heap would otherwise mostly stay resident.
func TrimHeap() { C.nib_trim_heap() }

// TuneHeap makes the C library serve every allocation of at least
// mmapThreshold bytes with a mapping of its own, returned to the system
// when freed (glibc's M_MMAP_THRESHOLD; elsewhere it does nothing). By
// default glibc raises that threshold to the size of each large block
// freed, up to 32 MiB, and from then on keeps such blocks in heaps it
// hardly ever shrinks: a software driver's buffers and staging memory,
// freed on every reload, would pile up there.
func TuneHeap(mmapThreshold int) { C.nib_tune_heap(C.int(mmapThreshold)) }

// adapterRef and deviceRef mirror the binding's Adapter and Device, which are
// each a single C handle. The layout is pinned by the binding version in
// go.mod and checked by this package's tests.
type adapterRef struct{ ref C.WGPUAdapter }
type deviceRef struct{ ref C.WGPUDevice }

// RequestDevice asks adapter for a device with exactly the given features and
// limits, reporting device loss and uncaptured errors to h. The returned
// release function unregisters h; call it after releasing the device.
func RequestDevice(adapter *wgpu.Adapter, features []wgpu.FeatureName, limits wgpu.Limits, h Handler) (*wgpu.Device, func(), error) {
	id := nextID.Add(1)
	handlersMu.Lock()
	handlers[id] = h
	handlersMu.Unlock()
	unregister := func() {
		handlersMu.Lock()
		delete(handlers, id)
		handlersMu.Unlock()
	}

	var cfeatures *C.WGPUFeatureName
	if len(features) > 0 {
		mem := C.malloc(C.size_t(len(features)) * C.size_t(unsafe.Sizeof(C.WGPUFeatureName(0))))
		defer C.free(mem)
		s := unsafe.Slice((*C.WGPUFeatureName)(mem), len(features))
		for i, f := range features {
			s[i] = C.WGPUFeatureName(f)
		}
		cfeatures = (*C.WGPUFeatureName)(mem)
	}
	climits := (*C.WGPULimits)(C.malloc(C.size_t(unsafe.Sizeof(C.WGPULimits{}))))
	defer C.free(unsafe.Pointer(climits))
	*climits = toC(limits)
	result := (*C.nib_device_result)(C.malloc(C.size_t(unsafe.Sizeof(C.nib_device_result{}))))
	defer C.free(unsafe.Pointer(result))
	*result = C.nib_device_result{}

	a := (*adapterRef)(unsafe.Pointer(adapter))
	C.nib_request_device(a.ref, cfeatures, C.size_t(len(features)), climits, C.uintptr_t(id), result)
	if result.status != C.WGPURequestDeviceStatus_Success || result.device == nil {
		unregister()
		msg := C.GoString(&result.message[0])
		if msg == "" {
			msg = "no reason given"
		}
		return nil, nil, errors.New(msg)
	}
	d := &deviceRef{ref: result.device}
	return (*wgpu.Device)(unsafe.Pointer(d)), unregister, nil
}

func toC(l wgpu.Limits) C.WGPULimits {
	return C.WGPULimits{
		maxTextureDimension1D:                     C.uint32_t(l.MaxTextureDimension1D),
		maxTextureDimension2D:                     C.uint32_t(l.MaxTextureDimension2D),
		maxTextureDimension3D:                     C.uint32_t(l.MaxTextureDimension3D),
		maxTextureArrayLayers:                     C.uint32_t(l.MaxTextureArrayLayers),
		maxBindGroups:                             C.uint32_t(l.MaxBindGroups),
		maxBindingsPerBindGroup:                   C.uint32_t(l.MaxBindingsPerBindGroup),
		maxDynamicUniformBuffersPerPipelineLayout: C.uint32_t(l.MaxDynamicUniformBuffersPerPipelineLayout),
		maxDynamicStorageBuffersPerPipelineLayout: C.uint32_t(l.MaxDynamicStorageBuffersPerPipelineLayout),
		maxSampledTexturesPerShaderStage:          C.uint32_t(l.MaxSampledTexturesPerShaderStage),
		maxSamplersPerShaderStage:                 C.uint32_t(l.MaxSamplersPerShaderStage),
		maxStorageBuffersPerShaderStage:           C.uint32_t(l.MaxStorageBuffersPerShaderStage),
		maxStorageTexturesPerShaderStage:          C.uint32_t(l.MaxStorageTexturesPerShaderStage),
		maxUniformBuffersPerShaderStage:           C.uint32_t(l.MaxUniformBuffersPerShaderStage),
		maxUniformBufferBindingSize:               C.uint64_t(l.MaxUniformBufferBindingSize),
		maxStorageBufferBindingSize:               C.uint64_t(l.MaxStorageBufferBindingSize),
		minUniformBufferOffsetAlignment:           C.uint32_t(l.MinUniformBufferOffsetAlignment),
		minStorageBufferOffsetAlignment:           C.uint32_t(l.MinStorageBufferOffsetAlignment),
		maxVertexBuffers:                          C.uint32_t(l.MaxVertexBuffers),
		maxBufferSize:                             C.uint64_t(l.MaxBufferSize),
		maxVertexAttributes:                       C.uint32_t(l.MaxVertexAttributes),
		maxVertexBufferArrayStride:                C.uint32_t(l.MaxVertexBufferArrayStride),
		maxInterStageShaderComponents:             C.uint32_t(l.MaxInterStageShaderComponents),
		maxInterStageShaderVariables:              C.uint32_t(l.MaxInterStageShaderVariables),
		maxColorAttachments:                       C.uint32_t(l.MaxColorAttachments),
		maxColorAttachmentBytesPerSample:          C.uint32_t(l.MaxColorAttachmentBytesPerSample),
		maxComputeWorkgroupStorageSize:            C.uint32_t(l.MaxComputeWorkgroupStorageSize),
		maxComputeInvocationsPerWorkgroup:         C.uint32_t(l.MaxComputeInvocationsPerWorkgroup),
		maxComputeWorkgroupSizeX:                  C.uint32_t(l.MaxComputeWorkgroupSizeX),
		maxComputeWorkgroupSizeY:                  C.uint32_t(l.MaxComputeWorkgroupSizeY),
		maxComputeWorkgroupSizeZ:                  C.uint32_t(l.MaxComputeWorkgroupSizeZ),
		maxComputeWorkgroupsPerDimension:          C.uint32_t(l.MaxComputeWorkgroupsPerDimension),
	}
}

// Instance returns wgpu-native's entry point over the native compute
// backends (Vulkan, Metal, DX12). OpenGL is left out: its adapters cannot
// compile nib's kernels (storage buffers past GLSL's limits), and merely
// probing it makes EGL print errors on machines without a display.
//
// Mesa's device-select Vulkan layer is turned off (NODEVICE_SELECT=1 unless
// the user set it): it only reorders adapters, which nib ranks itself, and
// to find the display's GPU it connects to Wayland, which prints
// "XDG_RUNTIME_DIR is invalid" on every command run without a desktop.
func Instance() (*wgpu.Instance, error) {
	if _, set := os.LookupEnv("NODEVICE_SELECT"); !set {
		if err := os.Setenv("NODEVICE_SELECT", "1"); err != nil {
			return nil, fmt.Errorf("gpu: setting NODEVICE_SELECT: %w", err)
		}
	}
	ref := C.nib_create_instance(C.WGPUInstanceBackendFlags(wgpu.InstanceBackendPrimary))
	if ref == nil {
		return nil, errors.New("gpu: wgpu-native could not create an instance")
	}
	inst := new(wgpu.Instance)
	(*instanceRef)(unsafe.Pointer(inst)).ref = ref
	return inst, nil
}

// instanceRef mirrors the binding's Instance, a single C handle (the
// layout is pinned by the binding version in go.mod and checked by this
// package's tests).
type instanceRef struct{ ref C.WGPUInstance }

// Adapters lists the adapters of every backend the instance was made for.
func Adapters(inst *wgpu.Instance) []*wgpu.Adapter { return inst.EnumerateAdapters(nil) }

// AdapterInfo describes adapter as the driver reports it.
func AdapterInfo(adapter *wgpu.Adapter) wgpu.AdapterInfo { return adapter.GetInfo() }

// AdapterHasFeature reports whether adapter offers f.
func AdapterHasFeature(adapter *wgpu.Adapter, f wgpu.FeatureName) bool {
	return adapter.HasFeature(f)
}

// DeviceHasFeature reports whether device was granted f.
func DeviceHasFeature(device *wgpu.Device, f wgpu.FeatureName) bool { return device.HasFeature(f) }

// EndPass ends a compute pass, returning what wgpu-native reports.
func EndPass(pass *wgpu.ComputePassEncoder) error { return pass.End() }

// ClearBuffer records a zeroing of size bytes of buffer at offset.
func ClearBuffer(enc *wgpu.CommandEncoder, buffer *wgpu.Buffer, offset, size uint64) error {
	return enc.ClearBuffer(buffer, offset, size)
}

// CreateComputePipeline compiles module's entry point with layout; label
// names the pipeline in wgpu-native's errors and captures.
func CreateComputePipeline(device *wgpu.Device, label string, layout *wgpu.PipelineLayout, module *wgpu.ShaderModule, entry string) (*wgpu.ComputePipeline, error) {
	return device.CreateComputePipeline(&wgpu.ComputePipelineDescriptor{
		Label:   label,
		Layout:  layout,
		Compute: wgpu.ProgrammableStageDescriptor{Module: module, EntryPoint: entry},
	})
}

// NoAdapterHint says what to install when wgpu-native finds no adapter.
const NoAdapterHint = "install a Vulkan driver " +
	"(on Debian/Ubuntu `apt-get install mesa-vulkan-drivers libvulkan1` gives a CPU one, lavapipe) " +
	"or your GPU vendor's driver"

// ErrNoWebGPU is never returned natively: wgpu-native is WebGPU.
var ErrNoWebGPU = errors.New("no WebGPU implementation")

// WriteBuffer queues a write of data to buffer at offset.
func WriteBuffer(queue *wgpu.Queue, buffer *wgpu.Buffer, offset uint64, data []byte) error {
	return queue.WriteBuffer(buffer, offset, data)
}
