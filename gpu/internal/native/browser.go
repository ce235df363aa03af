//go:build js

package native

import (
	"errors"
	"fmt"
	"syscall/js"
	"unsafe"

	"github.com/cogentcore/webgpu/jsx"
	"github.com/cogentcore/webgpu/wgpu"
)

// The browser's side of the shim: the page's own WebGPU (navigator.gpu),
// reached through syscall/js where the binding's js backend falls short.
// That backend waits on promises it never lets fail, reports no device
// loss or uncaptured errors, and lacks ClearBuffer and HasFeature.

// Handler receives what the browser reports about one device. Its methods
// run on the JavaScript event loop's goroutine and must not block.
type Handler interface {
	// DeviceLost is called once when the device stops working.
	DeviceLost(reason wgpu.DeviceLostReason, message string)
	// UncapturedError is called for an error that no error scope caught.
	UncapturedError(typ wgpu.ErrorType, message string)
}

// handle returns the JavaScript object behind one of the binding's js
// types, each of which is a struct holding only that object. The layout
// is pinned by the binding version in go.mod and checked by this
// package's tests (browser_test.go).
func handle[T any](p *T) js.Value { return *(*js.Value)(unsafe.Pointer(p)) }

// ErrNoWebGPU means the page's JavaScript has no navigator.gpu.
var ErrNoWebGPU = errors.New("this browser offers no WebGPU (navigator.gpu is missing): " +
	"use Chrome or Edge 113 or later (on Linux, Chrome 144+ or start it with --enable-unsafe-webgpu), " +
	"Safari 26 or later, or Firefox 141 or later on Windows (elsewhere set dom.webgpu.enabled in about:config); " +
	"WebGPU also needs a secure context: https or localhost")

// Instance returns the page's WebGPU entry point.
func Instance() (*wgpu.Instance, error) {
	nav := js.Global().Get("navigator")
	if !nav.Truthy() || !nav.Get("gpu").Truthy() {
		return nil, ErrNoWebGPU
	}
	return wgpu.CreateInstance(nil), nil
}

// Adapters asks the browser for its adapter: a page sees at most one,
// the high-performance one where it has a choice.
func Adapters(inst *wgpu.Instance) []*wgpu.Adapter {
	gpu := handle(inst)
	a, ok := jsx.Await(gpu.Call("requestAdapter", map[string]any{"powerPreference": "high-performance"}))
	if !ok || !a.Truthy() {
		return nil
	}
	w := new(wgpu.Adapter)
	*(*js.Value)(unsafe.Pointer(w)) = a
	return []*wgpu.Adapter{w}
}

// AdapterInfo describes adapter from the browser's GPUAdapterInfo, which
// gives names as strings and no adapter type: a software adapter
// (SwiftShader) shows as a CPU one by its architecture or description.
func AdapterInfo(adapter *wgpu.Adapter) wgpu.AdapterInfo {
	info := handle(adapter).Get("info")
	str := func(k string) string {
		if !info.Truthy() {
			return ""
		}
		v := info.Get(k)
		if v.Type() != js.TypeString {
			return ""
		}
		return v.String()
	}
	out := wgpu.AdapterInfo{
		VendorName:        str("vendor"),
		Architecture:      str("architecture"),
		Name:              str("device"),
		DriverDescription: str("description"),
		BackendType:       wgpu.BackendTypeWebGPU,
		AdapterType:       wgpu.AdapterTypeUnknown,
	}
	if out.Name == "" {
		out.Name = out.Architecture
	}
	if out.Name == "" {
		out.Name = "browser adapter"
	}
	if out.Architecture == "swiftshader" || out.VendorName == "google" && out.Architecture == "swiftshader" {
		out.AdapterType = wgpu.AdapterTypeCPU
	}
	if info.Truthy() && info.Get("isFallbackAdapter").Truthy() {
		out.AdapterType = wgpu.AdapterTypeCPU
	}
	return out
}

// featureNames are the WebGPU names of the features nib asks for.
var featureNames = map[wgpu.FeatureName]string{
	wgpu.FeatureNameShaderF16:      "shader-f16",
	wgpu.FeatureNameTimestampQuery: "timestamp-query",
}

func hasFeature(obj js.Value, f wgpu.FeatureName) bool {
	name, ok := featureNames[f]
	return ok && obj.Get("features").Call("has", name).Bool()
}

// AdapterHasFeature reports whether adapter offers f.
func AdapterHasFeature(adapter *wgpu.Adapter, f wgpu.FeatureName) bool {
	return hasFeature(handle(adapter), f)
}

// DeviceHasFeature reports whether device was granted f.
func DeviceHasFeature(device *wgpu.Device, f wgpu.FeatureName) bool {
	return hasFeature(handle(device), f)
}

// RequestDevice asks adapter for a device with the given features and only
// the limits nib depends on (a browser refuses limit names it does not
// know, and every other limit stays at WebGPU's default), reporting device
// loss and uncaptured errors to h. The returned function forgets h.
func RequestDevice(adapter *wgpu.Adapter, features []wgpu.FeatureName, limits wgpu.Limits, h Handler) (*wgpu.Device, func(), error) {
	names := make([]any, 0, len(features))
	for _, f := range features {
		if n, ok := featureNames[f]; ok {
			names = append(names, n)
		}
	}
	desc := map[string]any{
		"label":            "nib",
		"requiredFeatures": names,
		"requiredLimits": map[string]any{
			"maxStorageBufferBindingSize":    float64(limits.MaxStorageBufferBindingSize),
			"maxBufferSize":                  float64(limits.MaxBufferSize),
			"maxComputeWorkgroupStorageSize": float64(limits.MaxComputeWorkgroupStorageSize),
		},
	}
	dev, ok := jsx.Await(handle(adapter).Call("requestDevice", desc))
	if !ok || !dev.Truthy() {
		msg := "no reason given"
		if dev.Truthy() && dev.Get("message").Type() == js.TypeString {
			msg = dev.Get("message").String()
		}
		return nil, nil, errors.New(msg)
	}
	var live = true
	lost := js.FuncOf(func(_ js.Value, args []js.Value) any {
		if !live {
			return nil
		}
		info := args[0]
		reason := wgpu.DeviceLostReasonUnknown
		if info.Get("reason").String() == "destroyed" {
			reason = wgpu.DeviceLostReasonDestroyed
		}
		h.DeviceLost(reason, info.Get("message").String())
		return nil
	})
	uncaptured := js.FuncOf(func(_ js.Value, args []js.Value) any {
		if !live {
			return nil
		}
		e := args[0].Get("error")
		typ := wgpu.ErrorTypeUnknown
		switch e.Get("constructor").Get("name").String() {
		case "GPUOutOfMemoryError":
			typ = wgpu.ErrorTypeOutOfMemory
		case "GPUValidationError":
			typ = wgpu.ErrorTypeValidation
		case "GPUInternalError":
			typ = wgpu.ErrorTypeInternal
		}
		h.UncapturedError(typ, e.Get("message").String())
		return nil
	})
	dev.Get("lost").Call("then", lost)
	dev.Set("onuncapturederror", uncaptured)
	w := wgpu.NewDevice(dev)
	forget := func() {
		live = false
		dev.Set("onuncapturederror", js.Null())
		uncaptured.Release()
		// lost stays: the promise may still settle when the device is
		// destroyed, and must find a function to call.
	}
	return &w, forget, nil
}

// MapAsync starts mapping size bytes of buffer at offset, calling done on
// the event loop when the browser settles the promise: success, or an
// error status where it rejects (a destroyed buffer, a lost device).
func MapAsync(buffer *wgpu.Buffer, mode wgpu.MapMode, offset, size uint64, done func(wgpu.BufferMapAsyncStatus)) {
	var ok, fail js.Func
	settle := func(s wgpu.BufferMapAsyncStatus) {
		ok.Release()
		fail.Release()
		done(s)
	}
	ok = js.FuncOf(func(js.Value, []js.Value) any { settle(wgpu.BufferMapAsyncStatusSuccess); return nil })
	fail = js.FuncOf(func(_ js.Value, args []js.Value) any {
		// The spec rejects with AbortError for a buffer unmapped or
		// destroyed first, OperationError for a lost device or misuse.
		s := wgpu.BufferMapAsyncStatusUnknown
		if len(args) > 0 && args[0].Truthy() {
			switch args[0].Get("name").String() {
			case "AbortError":
				s = wgpu.BufferMapAsyncStatusDestroyedBeforeCallback
			case "OperationError":
				s = wgpu.BufferMapAsyncStatusValidationError
			}
		}
		settle(s)
		return nil
	})
	handle(buffer).Call("mapAsync", uint32(mode), float64(offset), float64(size)).Call("then", ok, fail)
}

// OnSubmittedWorkDone calls done on the event loop once the work
// submitted to queue so far has finished (or the device is lost).
func OnSubmittedWorkDone(queue *wgpu.Queue, done func()) {
	var f js.Func
	f = js.FuncOf(func(js.Value, []js.Value) any {
		f.Release()
		done()
		return nil
	})
	handle(queue).Call("onSubmittedWorkDone").Call("then", f, f)
}

// EndPass ends a compute pass; the browser reports a misuse as an
// uncaptured error, never here.
func EndPass(pass *wgpu.ComputePassEncoder) error {
	pass.End()
	return nil
}

// ClearBuffer records a zeroing of size bytes of buffer at offset.
func ClearBuffer(enc *wgpu.CommandEncoder, buffer *wgpu.Buffer, offset, size uint64) error {
	handle(enc).Call("clearBuffer", handle(buffer), float64(offset), float64(size))
	return nil
}

// CreateComputePipeline compiles module's entry point with layout. The
// label names the pipeline in the browser's error messages.
func CreateComputePipeline(device *wgpu.Device, label string, layout *wgpu.PipelineLayout, module *wgpu.ShaderModule, entry string) (*wgpu.ComputePipeline, error) {
	p, err := device.CreateComputePipeline(&wgpu.ComputePipelineDescriptor{
		Layout:  layout,
		Compute: wgpu.ProgrammableStageDescriptor{Module: module, EntryPoint: entry},
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	return p, nil
}

// SetLogSink does nothing in a browser, which has no driver log to route:
// its warnings go to the page's console.
func SetLogSink(level wgpu.LogLevel, sink func(level wgpu.LogLevel, message string)) {}

// TrimHeap does nothing in a browser: WebAssembly memory never shrinks.
func TrimHeap() {}

// TuneHeap does nothing in a browser, which has no C heap.
func TuneHeap(mmapThreshold int) {}

// NoAdapterHint says what to check when the browser has WebGPU but offers
// no adapter: its GPU is blocklisted, or WebGPU is switched off.
const NoAdapterHint = "the browser has WebGPU but offered no adapter; its GPU may be blocklisted " +
	"(see chrome://gpu), or WebGPU may be off: enable chrome://flags/#enable-unsafe-webgpu, " +
	"or start Chromium with --enable-unsafe-webgpu (--use-webgpu-adapter=swiftshader for its CPU adapter)"

var uint8Array = js.Global().Get("Uint8Array")

// WriteBuffer queues a write of data to buffer at offset. It copies data
// into a JavaScript array first: the binding's WriteBuffer makes a view of
// WebAssembly memory, which any Go allocation on the way into JavaScript
// (the call's own arguments) may grow, detaching the view ("Cannot perform
// Construct on a detached ArrayBuffer", seen in the demo's browser tests).
func WriteBuffer(queue *wgpu.Queue, buffer *wgpu.Buffer, offset uint64, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	arr := uint8Array.New(len(data))
	js.CopyBytesToJS(arr, data)
	handle(queue).Call("writeBuffer", handle(buffer), float64(offset), arr)
	return nil
}
