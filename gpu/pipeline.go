package gpu

import (
	"fmt"
	"strings"

	"github.com/cogentcore/webgpu/wgpu"

	"github.com/nib-editor/nib/gpu/internal/native"
	"github.com/nib-editor/nib/kernels"
)

// Pipeline is one compiled kernel specialisation.
type Pipeline struct {
	kernel *kernels.Kernel
	key    string
	p      *wgpu.ComputePipeline
	layout *wgpu.BindGroupLayout
	// signature names the bind group layout, shared by kernels with the
	// same buffer accesses so that their bind groups are shared too.
	signature string
}

// Key returns the specialisation key the pipeline was compiled for.
func (p *Pipeline) Key() string { return p.key }

// Close releases the pipeline. Its bind group layout belongs to the device.
func (p *Pipeline) Close() { p.p.Release() }

// paramsWindow is the uniform binding size of a parameter block: 64 words.
const paramsWindow = 256

// arenaSize bounds the parameter bytes of one batch.
const arenaSize = 4 << 20

// pipeline returns the compiled pipeline for k specialised by defs.
func (d *Device) pipeline(k *kernels.Kernel, defs kernels.Defines) (*Pipeline, error) {
	key := k.Key(defs)
	return d.pipelines.get(key, func() (*Pipeline, error) { return d.compile(k, defs, key) })
}

func (d *Device) compile(k *kernels.Kernel, defs kernels.Defines, key string) (*Pipeline, error) {
	if err := d.Err(); err != nil {
		return nil, err
	}
	src, err := k.Source(defs)
	if err != nil {
		return nil, err
	}
	layout, sig, err := d.layout(k.Buffers)
	if err != nil {
		return nil, fmt.Errorf("gpu: compile %s: %w", key, err)
	}
	mod, err := d.dev.CreateShaderModule(&wgpu.ShaderModuleDescriptor{
		Label:          key,
		WGSLDescriptor: &wgpu.ShaderModuleWGSLDescriptor{Code: src},
	})
	if err != nil {
		return nil, fmt.Errorf("gpu: compile %s: %w", key, err)
	}
	defer mod.Release()
	pl, err := d.dev.CreatePipelineLayout(&wgpu.PipelineLayoutDescriptor{
		Label:            sig,
		BindGroupLayouts: []*wgpu.BindGroupLayout{layout},
	})
	if err != nil {
		return nil, fmt.Errorf("gpu: compile %s: %w", key, err)
	}
	defer pl.Release()
	p, err := native.CreateComputePipeline(d.dev, key, pl, mod, k.Entry)
	if err != nil {
		return nil, fmt.Errorf("gpu: compile %s: %w", key, err)
	}
	return &Pipeline{kernel: k, key: key, p: p, layout: layout, signature: sig}, nil
}

// layout returns the bind group layout for a parameter block followed by
// storage buffers with the given accesses, creating it once per device.
func (d *Device) layout(access []kernels.Access) (*wgpu.BindGroupLayout, string, error) {
	var sb strings.Builder
	sb.WriteString("u")
	for _, a := range access {
		if a == kernels.ReadWrite {
			sb.WriteString("w")
		} else {
			sb.WriteString("r")
		}
	}
	sig := sb.String()
	d.mu.Lock()
	defer d.mu.Unlock()
	if l, ok := d.layouts[sig]; ok {
		return l, sig, nil
	}
	entries := []wgpu.BindGroupLayoutEntry{{
		Binding:    0,
		Visibility: wgpu.ShaderStageCompute,
		Buffer: wgpu.BufferBindingLayout{
			Type:             wgpu.BufferBindingTypeUniform,
			HasDynamicOffset: true,
			MinBindingSize:   paramsWindow,
		},
	}}
	for i, a := range access {
		typ := wgpu.BufferBindingTypeReadOnlyStorage
		if a == kernels.ReadWrite {
			typ = wgpu.BufferBindingTypeStorage
		}
		entries = append(entries, wgpu.BindGroupLayoutEntry{
			Binding:    uint32(i + 1),
			Visibility: wgpu.ShaderStageCompute,
			Buffer:     wgpu.BufferBindingLayout{Type: typ},
		})
	}
	l, err := d.dev.CreateBindGroupLayout(&wgpu.BindGroupLayoutDescriptor{Label: sig, Entries: entries})
	if err != nil {
		return nil, "", err
	}
	d.layouts[sig] = l
	return l, sig, nil
}

// maxBuffers bounds the storage bindings of one kernel.
const maxBuffers = 17

// bindKey identifies a bind group: a layout and the buffers bound to it.
type bindKey struct {
	sig  string
	bufs [maxBuffers]uint64
}

// bindGroup returns the bind group of p's layout over bufs, creating it once:
// weights and pooled scratch buffers live long, so in steady state every
// dispatch finds its bind group here.
func (d *Device) bindGroup(p *Pipeline, bufs []*Tensor) (*wgpu.BindGroup, error) {
	key := bindKey{sig: p.signature}
	for i, t := range bufs {
		key.bufs[i] = t.buf.id
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if bg, ok := d.bindGroups[key]; ok {
		return bg, nil
	}
	bg, err := d.newBindGroup(p, d.arena, bufs)
	if err != nil {
		return nil, err
	}
	d.bindGroups[key] = bg
	return bg, nil
}

// newBindGroup creates a bind group of p's layout with uniform as the
// parameter block and bufs as the storage buffers.
func (d *Device) newBindGroup(p *Pipeline, uniform *wgpu.Buffer, bufs []*Tensor) (*wgpu.BindGroup, error) {
	entries := make([]wgpu.BindGroupEntry, 0, len(bufs)+1)
	entries = append(entries, wgpu.BindGroupEntry{Binding: 0, Buffer: uniform, Size: paramsWindow})
	for i, t := range bufs {
		entries = append(entries, wgpu.BindGroupEntry{Binding: uint32(i + 1), Buffer: t.buf.b, Size: t.buf.size})
	}
	return d.dev.CreateBindGroup(&wgpu.BindGroupDescriptor{Label: p.key, Layout: p.layout, Entries: entries})
}

// dropBindGroups releases bind groups that refer to buffer id. Guarded by
// d.mu.
func (d *Device) dropBindGroups(id uint64) {
	for key, bg := range d.bindGroups {
		for _, b := range key.bufs {
			if b == id {
				bg.Release()
				delete(d.bindGroups, key)
				break
			}
		}
	}
}
