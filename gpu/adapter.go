package gpu

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/cogentcore/webgpu/wgpu"

	"github.com/nib-editor/nib/gpu/internal/native"
)

// AdapterEnv is the environment variable that picks an adapter when no
// explicit choice is given: an index from Adapters or a name substring.
const AdapterEnv = "NIB_ADAPTER"

// ErrNoAdapter means the system offers no WebGPU adapter at all.
var ErrNoAdapter = errors.New("gpu: no WebGPU adapter found; " + native.NoAdapterHint)

// ErrNoWebGPU means the platform has no WebGPU at all: a browser without
// navigator.gpu. The message says which browsers have it.
var ErrNoWebGPU = native.ErrNoWebGPU

// AdapterInfo describes one adapter and the limits and features nib uses.
type AdapterInfo struct {
	// Index is the adapter's position in the list, usable as a choice.
	Index int `json:"index"`
	// Name is the device name, Driver the driver's description.
	Name   string `json:"name"`
	Driver string `json:"driver"`
	// Backend is vulkan, metal, d3d12, opengl, ...; Type is discrete-gpu,
	// integrated-gpu, cpu or unknown.
	Backend string `json:"backend"`
	Type    string `json:"type"`
	// VendorID is the PCI vendor id (0x10de NVIDIA, 0x1002 AMD, 0x8086
	// Intel), 0 where the platform gives none (the browser).
	VendorID uint32 `json:"vendor_id"`
	// ShaderF16 and TimestampQuery report the optional features nib uses.
	ShaderF16      bool `json:"shader_f16"`
	TimestampQuery bool `json:"timestamp_query"`
	// Limits nib depends on.
	MaxStorageBufferBindingSize uint64 `json:"max_storage_buffer_binding_size"`
	MaxBufferSize               uint64 `json:"max_buffer_size"`
	MaxWorkgroupStorageSize     uint32 `json:"max_compute_workgroup_storage_size"`
	MaxInvocationsPerWorkgroup  uint32 `json:"max_compute_invocations_per_workgroup"`
	MaxStorageBuffersPerStage   uint32 `json:"max_storage_buffers_per_shader_stage"`

	rank int
}

// String formats the adapter for logs and error messages.
func (a AdapterInfo) String() string {
	return fmt.Sprintf("#%d %s (%s, %s)", a.Index, a.Name, a.Backend, a.Type)
}

func describe(i int, a *wgpu.Adapter) AdapterInfo {
	info := native.AdapterInfo(a)
	l := a.GetLimits().Limits
	name := info.Name
	// Some drivers (lavapipe) report only a hex device id as the name; the
	// description then carries the human-readable one.
	if name == "" || strings.HasPrefix(name, "0x") {
		name = info.DriverDescription
	}
	driver := info.DriverDescription
	if info.VendorName != "" && !strings.HasPrefix(info.VendorName, "0x") {
		driver = info.VendorName + " " + driver
	}
	return AdapterInfo{
		Index:                       i,
		Name:                        name,
		Driver:                      strings.TrimSpace(driver),
		Backend:                     strings.ToLower(info.BackendType.String()),
		Type:                        strings.ToLower(info.AdapterType.String()),
		VendorID:                    info.VendorId,
		ShaderF16:                   native.AdapterHasFeature(a, wgpu.FeatureNameShaderF16),
		TimestampQuery:              native.AdapterHasFeature(a, wgpu.FeatureNameTimestampQuery),
		MaxStorageBufferBindingSize: l.MaxStorageBufferBindingSize,
		MaxBufferSize:               l.MaxBufferSize,
		MaxWorkgroupStorageSize:     l.MaxComputeWorkgroupStorageSize,
		MaxInvocationsPerWorkgroup:  l.MaxComputeInvocationsPerWorkgroup,
		MaxStorageBuffersPerStage:   l.MaxStorageBuffersPerShaderStage,
		rank:                        rank(info),
	}
}

// rank orders adapters best first: discrete before integrated before CPU,
// and native compute backends before OpenGL.
func rank(info wgpu.AdapterInfo) int {
	r := 0
	switch info.AdapterType {
	case wgpu.AdapterTypeDiscreteGPU:
		r = 0
	case wgpu.AdapterTypeIntegratedGPU:
		r = 10
	case wgpu.AdapterTypeCPU:
		r = 20
	default:
		r = 30
	}
	if info.BackendType == wgpu.BackendTypeOpenGL || info.BackendType == wgpu.BackendTypeOpenGLES {
		r += 5
	}
	return r
}

// Adapters lists the adapters this system offers, in the order that choices
// by index refer to.
func Adapters() ([]AdapterInfo, error) {
	inst, err := native.Instance()
	if err != nil {
		return nil, err
	}
	defer inst.Release()
	adapters := native.Adapters(inst)
	defer func() {
		for _, a := range adapters {
			a.Release()
		}
	}()
	if len(adapters) == 0 {
		return nil, ErrNoAdapter
	}
	out := make([]AdapterInfo, len(adapters))
	for i, a := range adapters {
		out[i] = describe(i, a)
	}
	return out, nil
}

// Choose picks an adapter from infos by choice: "" for the best, a decimal
// index, or a case-insensitive substring of the name, driver or backend (the
// best match wins). It returns the adapter's index.
func Choose(infos []AdapterInfo, choice string) (int, error) {
	if len(infos) == 0 {
		return 0, ErrNoAdapter
	}
	candidates := infos
	if choice != "" {
		if i, err := strconv.Atoi(choice); err == nil {
			if i < 0 || i >= len(infos) {
				return 0, fmt.Errorf("gpu: adapter index %d out of range: %d adapters (list them with `nib adapters`)", i, len(infos))
			}
			return i, nil
		}
		candidates = nil
		want := strings.ToLower(choice)
		for _, a := range infos {
			hay := strings.ToLower(a.Name + " " + a.Driver + " " + a.Backend)
			if strings.Contains(hay, want) {
				candidates = append(candidates, a)
			}
		}
		if len(candidates) == 0 {
			names := make([]string, len(infos))
			for i, a := range infos {
				names[i] = a.String()
			}
			return 0, fmt.Errorf("gpu: no adapter matches %q; available: %s", choice, strings.Join(names, "; "))
		}
	}
	best := append([]AdapterInfo(nil), candidates...)
	sort.SliceStable(best, func(i, j int) bool { return best[i].rank < best[j].rank })
	return best[0].Index, nil
}

// adapterChoice resolves an explicit choice, then $NIB_ADAPTER.
func adapterChoice(explicit string) string {
	if explicit != "" {
		return explicit
	}
	return os.Getenv(AdapterEnv)
}
