//go:build !js

package native

import (
	"testing"

	"github.com/cogentcore/webgpu/wgpu"
)

type recorder struct {
	lost   []wgpu.DeviceLostReason
	errors []string
}

func (r *recorder) DeviceLost(reason wgpu.DeviceLostReason, _ string) {
	r.lost = append(r.lost, reason)
}
func (r *recorder) UncapturedError(_ wgpu.ErrorType, m string) { r.errors = append(r.errors, m) }

// TestRequestDevice proves the handle layout assumptions: an instance and a
// device made here work with the binding's adapters, buffers, queue and
// readback; and the instance offers no OpenGL adapter.
func TestRequestDevice(t *testing.T) {
	inst, err := Instance()
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Release()
	adapters := Adapters(inst)
	if len(adapters) == 0 {
		t.Fatal("no WebGPU adapter: install a Vulkan driver (mesa-vulkan-drivers gives a CPU one)")
	}
	for _, a := range adapters {
		if info := AdapterInfo(a); info.BackendType == wgpu.BackendTypeOpenGL || info.BackendType == wgpu.BackendTypeOpenGLES {
			t.Errorf("adapter %q is on OpenGL, which cannot run nib's kernels", info.Name)
		}
	}
	rec := &recorder{}
	dev, unregister, err := RequestDevice(adapters[0], nil, wgpu.DefaultLimits(), rec)
	if err != nil {
		t.Fatal(err)
	}
	defer unregister()
	defer dev.Release()
	want := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	src, err := dev.CreateBufferInit(&wgpu.BufferInitDescriptor{Contents: want, Usage: wgpu.BufferUsageCopySrc})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Release()
	dst, err := dev.CreateBuffer(&wgpu.BufferDescriptor{Size: 8, Usage: wgpu.BufferUsageMapRead | wgpu.BufferUsageCopyDst})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Release()
	enc, err := dev.CreateCommandEncoder(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.CopyBufferToBuffer(src, 0, dst, 0, 8); err != nil {
		t.Fatal(err)
	}
	cmd, err := enc.Finish(nil)
	if err != nil {
		t.Fatal(err)
	}
	dev.GetQueue().Submit(cmd)
	mapped := false
	if err := dst.MapAsync(wgpu.MapModeRead, 0, 8, func(s wgpu.BufferMapAsyncStatus) { mapped = s == wgpu.BufferMapAsyncStatusSuccess }); err != nil {
		t.Fatal(err)
	}
	dev.Poll(true, nil)
	if !mapped {
		t.Fatal("readback buffer was not mapped")
	}
	got := append([]byte(nil), dst.GetMappedRange(0, 8)...)
	dst.Unmap()
	if string(got) != string(want) {
		t.Fatalf("read back %v, want %v", got, want)
	}
	if len(rec.lost) != 0 || len(rec.errors) != 0 {
		t.Fatalf("unexpected reports: lost %v, errors %v", rec.lost, rec.errors)
	}
}

// TestRequestDeviceRefused checks that impossible limits give an error, not
// a crash.
func TestRequestDeviceRefused(t *testing.T) {
	inst := wgpu.CreateInstance(nil)
	defer inst.Release()
	adapters := inst.EnumerateAdapters(nil)
	if len(adapters) == 0 {
		t.Fatal("no WebGPU adapter: install a Vulkan driver (mesa-vulkan-drivers gives a CPU one)")
	}
	limits := wgpu.DefaultLimits()
	limits.MaxComputeWorkgroupStorageSize = adapters[0].GetLimits().Limits.MaxComputeWorkgroupStorageSize * 4
	dev, _, err := RequestDevice(adapters[0], nil, limits, &recorder{})
	if err == nil {
		dev.Release()
		t.Fatal("device with limits beyond the adapter's was granted")
	}
	t.Log(err)
}
