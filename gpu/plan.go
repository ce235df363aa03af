package gpu

import (
	"fmt"
	"unsafe"

	"github.com/cogentcore/webgpu/wgpu"

	"github.com/nib-editor/nib/gpu/internal/native"
)

// Plan is a fixed sequence of kernel dispatches over fixed tensors, with
// pipelines, bind groups and parameters resolved once: Batch.Run replays
// it with three calls per dispatch and no lookups, allocation or parameter
// upload. A decoder step is a Plan: what changes between steps (token ids,
// the position) lives in GPU buffers the kernels read.
//
// A Plan refers to its tensors' buffers; close it before them.
type Plan struct {
	d       *Device
	ops     []planOp
	uniform *buffer
	groups  []*wgpu.BindGroup
}

type planOp struct {
	p      *Pipeline
	bg     *wgpu.BindGroup
	off    [1]uint32
	groups [3]uint32
}

// planRecording collects dispatches for a Plan.
type planRecording struct {
	ops    []recordedOp
	params []byte
}

type recordedOp struct {
	p      *Pipeline
	bufs   []*Tensor
	off    uint32
	groups [3]uint32
}

// NewPlanBatch returns a batch that records into a Plan instead of a
// command buffer: the usual operations (MatMul, Attention, ...) add
// dispatches, and Plan finishes it. Copies and reads cannot be planned.
func (d *Device) NewPlanBatch() *Batch {
	return &Batch{d: d, rec: &planRecording{}}
}

// record adds one resolved dispatch to the plan being recorded.
func (r *planRecording) record(p *Pipeline, params []uint32, groups [3]uint32, bufs []*Tensor, align int) {
	off := (len(r.params) + align - 1) / align * align
	for len(r.params) < off {
		r.params = append(r.params, 0)
	}
	r.params = append(r.params, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(params))), 4*len(params))...)
	r.ops = append(r.ops, recordedOp{p: p, bufs: append([]*Tensor(nil), bufs...), off: uint32(off), groups: groups})
}

// Plan finishes a batch from NewPlanBatch: it uploads the parameters and
// creates the bind groups. The batch records nothing more.
func (b *Batch) Plan() (*Plan, error) {
	if b.rec == nil {
		return nil, fmt.Errorf("gpu: Plan on a batch that is not recording a plan")
	}
	r := b.rec
	b.rec = nil
	if b.err != nil {
		return nil, b.err
	}
	d := b.d
	size := uint64(len(r.params) + paramsWindow)
	ub, err := d.alloc(size, wgpu.BufferUsageUniform|wgpu.BufferUsageCopyDst, false, "plan parameters")
	if err != nil {
		return nil, err
	}
	p := &Plan{d: d, uniform: ub}
	if len(r.params) > 0 {
		if err := native.WriteBuffer(d.queue, ub.b, 0, r.params); err != nil {
			p.Close()
			return nil, fmt.Errorf("gpu: write plan parameters: %w", err)
		}
	}
	for _, op := range r.ops {
		bg, err := d.newBindGroup(op.p, ub.b, op.bufs)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("gpu: bind %s: %w", op.p.key, err)
		}
		p.groups = append(p.groups, bg)
		p.ops = append(p.ops, planOp{p: op.p, bg: bg, off: [1]uint32{op.off}, groups: op.groups})
	}
	return p, nil
}

// Len returns the number of dispatches in the plan.
func (p *Plan) Len() int { return len(p.ops) }

// Subset returns a plan of the dispatches i of p for which keep(i) is
// true, sharing p's pipelines, bind groups and parameters: for measuring
// what each part of a plan costs where it runs, among the others
// (BENCHMARKS.md), where the dispatches left out leave the rest to compute
// on stale data. It must not be used after p is closed; closing it
// releases nothing.
func (p *Plan) Subset(keep func(i int) bool) *Plan {
	s := &Plan{d: p.d}
	for i, op := range p.ops {
		if keep(i) {
			s.ops = append(s.ops, op)
		}
	}
	return s
}

// Close releases the plan's bind groups and parameters.
func (p *Plan) Close() {
	if p == nil {
		return
	}
	for _, bg := range p.groups {
		bg.Release()
	}
	p.groups, p.ops = nil, nil
	if p.uniform != nil {
		p.d.free(p.uniform)
		p.uniform = nil
	}
}

// Run records the plan's dispatches into the batch.
func (b *Batch) Run(p *Plan) {
	if p == nil || p.d != b.d {
		b.failf("run: plan of another device")
		return
	}
	if b.rec != nil {
		b.failf("run: a plan cannot contain a plan")
		return
	}
	if !b.encoder() {
		return
	}
	pass := b.computePass()
	var last *Pipeline
	for i := range p.ops {
		op := &p.ops[i]
		if op.p != last {
			pass.SetPipeline(op.p.p)
			last = op.p
		}
		pass.SetBindGroup(0, op.bg, op.off[:])
		pass.DispatchWorkgroups(op.groups[0], op.groups[1], op.groups[2])
	}
	b.count += len(p.ops)
}
