//go:build js

package native

import (
	"syscall/js"
	"testing"

	"github.com/cogentcore/webgpu/wgpu"
)

// fakeDevice is a JavaScript object standing in for a GPUDevice: each
// create* method returns a fresh object tagged with its kind, and calls
// that reach it are recorded, so the tests can check which handle a Go
// value carries without a browser.
func fakeDevice(t *testing.T) (js.Value, *[]string) {
	t.Helper()
	var calls []string
	obj := js.Global().Get("Object")
	tagged := func(kind string) js.Value {
		o := obj.New()
		o.Set("kind", kind)
		return o
	}
	var funcs []js.Func
	method := func(target js.Value, name string, fn func(args []js.Value) any) {
		f := js.FuncOf(func(_ js.Value, args []js.Value) any {
			calls = append(calls, name)
			return fn(args)
		})
		funcs = append(funcs, f)
		target.Set(name, f)
	}
	t.Cleanup(func() {
		for _, f := range funcs {
			f.Release()
		}
	})
	dev := tagged("device")
	dev.Set("queue", tagged("queue"))
	method(dev, "createBuffer", func([]js.Value) any {
		b := tagged("buffer")
		method(b, "mapAsync", func(args []js.Value) any {
			// Offsets beyond the buffer reject, as a browser's do.
			if args[1].Int() > 0 {
				return js.Global().Get("Promise").Call("reject", js.Global().Get("DOMException").New("out of range", "OperationError"))
			}
			return js.Global().Get("Promise").Call("resolve")
		})
		return b
	})
	method(dev, "createCommandEncoder", func([]js.Value) any {
		e := tagged("encoder")
		method(e, "clearBuffer", func(args []js.Value) any {
			calls = append(calls, "clearBuffer on "+args[0].Get("kind").String())
			return nil
		})
		return e
	})
	return dev, &calls
}

// TestHandles checks that handle reaches the JavaScript object behind the
// binding's types: the layout this file relies on, pinned by go.mod.
func TestHandles(t *testing.T) {
	obj, calls := fakeDevice(t)
	dev := wgpu.NewDevice(obj)
	if !handle(&dev).Equal(obj) {
		t.Fatal("handle(device) is not the device object")
	}
	if got := handle(dev.GetQueue()).Get("kind").String(); got != "queue" {
		t.Errorf("handle(queue) is a %s", got)
	}
	buf, err := dev.CreateBuffer(&wgpu.BufferDescriptor{Size: 16, Usage: wgpu.BufferUsageMapRead})
	if err != nil {
		t.Fatal(err)
	}
	if got := handle(buf).Get("kind").String(); got != "buffer" {
		t.Errorf("handle(buffer) is a %s", got)
	}
	enc, err := dev.CreateCommandEncoder(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ClearBuffer(enc, buf, 0, 16); err != nil {
		t.Fatal(err)
	}
	if last := (*calls)[len(*calls)-1]; last != "clearBuffer on buffer" {
		t.Errorf("ClearBuffer made the call %q, want clearBuffer on the buffer", last)
	}
}

// TestMapAsync checks that a settled promise reaches done: success when
// it resolves, an error status when it rejects (the binding's own
// MapAsync reported success either way).
func TestMapAsync(t *testing.T) {
	obj, _ := fakeDevice(t)
	dev := wgpu.NewDevice(obj)
	buf, err := dev.CreateBuffer(&wgpu.BufferDescriptor{Size: 16, Usage: wgpu.BufferUsageMapRead})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		offset uint64
		want   wgpu.BufferMapAsyncStatus
	}{{0, wgpu.BufferMapAsyncStatusSuccess}, {8, wgpu.BufferMapAsyncStatusValidationError}} {
		got := make(chan wgpu.BufferMapAsyncStatus, 1)
		MapAsync(buf, wgpu.MapModeRead, c.offset, 8, func(s wgpu.BufferMapAsyncStatus) { got <- s })
		if s := <-got; s != c.want {
			t.Errorf("map at offset %d: status %v, want %v", c.offset, s, c.want)
		}
	}
}

// TestWriteBuffer checks that the bytes reach queue.writeBuffer whole,
// in a JavaScript array of their own (never a view of Go's memory, which
// a later allocation can detach), with the buffer's handle and offset.
func TestWriteBuffer(t *testing.T) {
	obj, _ := fakeDevice(t)
	var got []byte
	var target string
	var offset int
	f := js.FuncOf(func(_ js.Value, args []js.Value) any {
		target, offset = args[0].Get("kind").String(), args[1].Int()
		got = make([]byte, args[2].Length())
		js.CopyBytesToGo(got, args[2])
		return nil
	})
	defer f.Release()
	obj.Get("queue").Set("writeBuffer", f)
	dev := wgpu.NewDevice(obj)
	buf, err := dev.CreateBuffer(&wgpu.BufferDescriptor{Size: 16})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	if err := WriteBuffer(dev.GetQueue(), buf, 8, data); err != nil {
		t.Fatal(err)
	}
	data[0] = 99 // the write has its own copy
	if target != "buffer" || offset != 8 || string(got) != string([]byte{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Errorf("writeBuffer(%s, %d, %v), want (buffer, 8, [1 ... 8])", target, offset, got)
	}
}

// TestNoWebGPU checks the error for a JavaScript host without
// navigator.gpu (Node here, as a browser without WebGPU).
func TestNoWebGPU(t *testing.T) {
	if _, err := Instance(); err != ErrNoWebGPU {
		t.Fatalf("Instance() = %v, want ErrNoWebGPU", err)
	}
}

// BenchmarkDispatchCalls measures what recording one kernel launch costs
// in calls from Go into JavaScript, through the binding as gpu.Batch makes
// them (setPipeline, setBindGroup with a dynamic offset,
// dispatchWorkgroups), on a pass whose methods do nothing: the price of
// crossing from WebAssembly into the JavaScript engine, which a browser
// pays on every dispatch and wgpu-native does not. Run under Node
// (V8, as Chromium's): BENCHMARKS.md has the figure.
func BenchmarkDispatchCalls(b *testing.B) {
	obj := js.Global().Get("Object")
	noop := js.Global().Get("Function").New("")
	pass := obj.New()
	for _, m := range []string{"setPipeline", "setBindGroup", "dispatchWorkgroups", "end"} {
		pass.Set(m, noop)
	}
	enc := obj.New()
	enc.Set("beginComputePass", js.Global().Get("Function").New("p", "return p"))
	dev := obj.New()
	dev.Set("createCommandEncoder", js.Global().Get("Function").New("return this.enc"))
	dev.Set("enc", enc)
	d := wgpu.NewDevice(dev)
	ce, err := d.CreateCommandEncoder(nil)
	if err != nil {
		b.Fatal(err)
	}
	handle(ce).Set("beginComputePass", js.Global().Get("Function").New("return this.pass"))
	handle(ce).Set("pass", pass)
	p := ce.BeginComputePass(nil)
	offsets := []uint32{256}
	b.ResetTimer()
	for range b.N {
		p.SetPipeline(nil)
		p.SetBindGroup(0, nil, offsets)
		p.DispatchWorkgroups(12, 1, 1)
	}
}
