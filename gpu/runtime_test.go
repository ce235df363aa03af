package gpu_test

import (
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/x448/float16"

	"github.com/nib-editor/nib/gpu"
)

// TestPipelineCompiledOnce runs the same operations twice: the second time
// every pipeline comes from the cache.
func TestPipelineCompiledOnce(t *testing.T) {
	x := upload(t, []float32{1, -2, 3}, gpu.F32, 3)
	out := scratch(t, gpu.F32, 3)
	record := func() {
		b := dev.NewBatch()
		b.ReLU(out, x)
		b.GeluNew(out, x)
		b.Add(out, x, x)
		submit(t, b)
	}
	record()
	before := dev.PipelineStats()
	record()
	after := dev.PipelineStats()
	if after.Misses != before.Misses || after.Pipelines != before.Pipelines {
		t.Errorf("second run compiled pipelines: misses %d -> %d", before.Misses, after.Misses)
	}
	if after.Hits < before.Hits+3 {
		t.Errorf("second run hit the cache %d times, want 3", after.Hits-before.Hits)
	}
}

// TestDeviceOwnsPipelines opens a device with no options: it compiles
// into a cache of its own, not the shared device's (where ReLU is long
// compiled), and gives its pipelines back on Close.
func TestDeviceOwnsPipelines(t *testing.T) {
	x := upload(t, []float32{1, -2, 3}, gpu.F32, 3)
	b := dev.NewBatch()
	b.ReLU(scratch(t, gpu.F32, 3), x)
	submit(t, b)
	shared := dev.PipelineStats()

	d, err := gpu.Open(gpu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	y, err := d.UploadF32([]float32{1, -2, 3}, gpu.F32, 3)
	if err != nil {
		t.Fatal(err)
	}
	z, err := d.NewTensor(gpu.F32, 3)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		b := d.NewBatch()
		b.ReLU(z, y)
		if err := b.Submit(); err != nil {
			t.Fatal(err)
		}
	}
	y.Close()
	z.Close()
	if s := d.PipelineStats(); s.Pipelines != 1 || s.Misses != 1 || s.Hits != 1 {
		t.Errorf("a new device after two ReLUs: %+v, want 1 pipeline, 1 miss, 1 hit", s)
	}
	if s := dev.PipelineStats(); s != shared {
		t.Errorf("the shared device's pipelines changed from %+v to %+v when another device compiled", shared, s)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if s := d.PipelineStats(); s.Pipelines != 0 || s.Misses != 1 {
		t.Errorf("after Close: %+v, want no pipelines and the count of 1 miss", s)
	}
}

// TestPoolReusesBuffers checks that a scratch tensor's buffer goes back to
// the pool and serves the next request of a similar size.
func TestPoolReusesBuffers(t *testing.T) {
	a, err := dev.NewTensor(gpu.F32, 1000)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	before := dev.PoolStats()
	b, err := dev.NewTensor(gpu.F32, 900) // same size class as 1000
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	after := dev.PoolStats()
	if after.Hits != before.Hits+1 || after.Bytes != before.Bytes {
		t.Errorf("pool stats %+v -> %+v: want one hit and no new memory", before, after)
	}
}

func TestUploadConversions(t *testing.T) {
	vals := []float32{0, 1, -2.5, 65504, 1e-7, float32(math.Inf(-1))}
	bf16 := make([]uint16, len(vals))
	for i, v := range vals {
		bf16[i] = uint16(math.Float32bits(v) >> 16) // truncation: bf16 of these is exact or near
	}
	widened := make([]float32, len(vals))
	for i, b := range bf16 {
		widened[i] = math.Float32frombits(uint32(b) << 16)
	}
	t.Run("bf16 to f32 is exact", func(t *testing.T) {
		tt, err := dev.UploadBF16(bf16, gpu.F32, 2, 3)
		if err != nil {
			t.Fatal(err)
		}
		defer tt.Close()
		closeTo(t, download(t, tt), widened, 0, 0)
	})
	t.Run("bf16 to f16 rounds", func(t *testing.T) {
		tt, err := dev.UploadBF16(bf16, gpu.F16, 6)
		if err != nil {
			t.Fatal(err)
		}
		defer tt.Close()
		closeTo(t, download(t, tt), roundF16(widened), 0, 0)
	})
	t.Run("f16 bits round trip", func(t *testing.T) {
		bits := make([]uint16, 7) // odd length: the last word is half padding
		want := make([]float32, len(bits))
		for i := range bits {
			h := float16.Fromfloat32(float32(i) - 3.25)
			bits[i], want[i] = h.Bits(), h.Float32()
		}
		tt, err := dev.UploadF16(bits, 7)
		if err != nil {
			t.Fatal(err)
		}
		defer tt.Close()
		closeTo(t, download(t, tt), want, 0, 0)
	})
	t.Run("u32 write and read", func(t *testing.T) {
		tt := scratch(t, gpu.U32, 4)
		if err := tt.WriteU32([]uint32{7, 0, math.MaxUint32, 42}); err != nil {
			t.Fatal(err)
		}
		got, err := tt.ReadU32()
		if err != nil {
			t.Fatal(err)
		}
		if got[0] != 7 || got[2] != math.MaxUint32 || got[3] != 42 {
			t.Errorf("read %v", got)
		}
	})
	t.Run("length mismatch", func(t *testing.T) {
		if _, err := dev.UploadF32(make([]float32, 5), gpu.F32, 2, 3); err == nil {
			t.Error("5 values for shape [2 3] were accepted")
		}
		if _, err := dev.NewTensor(gpu.F32, 2, 0); err == nil {
			t.Error("a zero dimension was accepted")
		}
	})
}

func TestOpenUnknownAdapter(t *testing.T) {
	_, err := gpu.Open(gpu.Options{Adapter: "no-such-gpu"})
	if err == nil || !strings.Contains(err.Error(), "no-such-gpu") || !strings.Contains(err.Error(), "available") {
		t.Fatalf("error %v should name the choice and the available adapters", err)
	}
	_, err = gpu.Open(gpu.Options{Adapter: "99"})
	if err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("error %v should say the index is out of range", err)
	}
}

// TestDeviceLost checks that a lost device turns later work into errors
// wrapping ErrDeviceLost rather than crashes.
func TestDeviceLost(t *testing.T) {
	d, err := gpu.Open(gpu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	x, err := d.UploadF32([]float32{1, 2}, gpu.F32, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	d.SimulateLoss("test")
	b := d.NewBatch()
	b.ReLU(x, x)
	if err := b.Submit(); !errors.Is(err, gpu.ErrDeviceLost) {
		t.Errorf("submit on a lost device: %v", err)
	}
	if _, err := x.ReadF32(); !errors.Is(err, gpu.ErrDeviceLost) {
		t.Errorf("read on a lost device: %v", err)
	}
	if _, err := d.NewTensor(gpu.F32, 4); !errors.Is(err, gpu.ErrDeviceLost) {
		t.Errorf("allocation on a lost device: %v", err)
	}
}

func TestCopyRange(t *testing.T) {
	src := upload(t, []float32{1, 2, 3, 4, 5, 6}, gpu.F32, 6)
	dst := upload(t, make([]float32, 8), gpu.F32, 2, 4)
	b := dev.NewBatch()
	b.CopyRange(dst, 5, src, 2, 3) // 3, 4, 5 into the second row
	submit(t, b)
	closeTo(t, download(t, dst), []float32{0, 0, 0, 0, 0, 3, 4, 5}, 0, 0)

	b.CopyRange(dst, 6, src, 0, 3) // would run past dst
	if err := b.Submit(); err == nil {
		t.Error("out-of-bounds copy was accepted")
	}
}

// TestTrimPool: idle pooled buffers are released down to the amount kept,
// and the device's bytes fall by as much; buffers in use are untouched.
func TestTrimPool(t *testing.T) {
	dev.TrimPool(0)
	base := dev.PoolStats()
	var ts []*gpu.Tensor
	for _, n := range []int{1 << 20, 1 << 18, 1 << 16} {
		tt, err := dev.NewTensor(gpu.F32, n)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, tt)
	}
	inUse := ts[2]
	ts[0].Close()
	ts[1].Close()
	idle := dev.PoolStats().IdleBytes
	if idle < (1<<20+1<<18)*4 {
		t.Fatalf("idle %d after closing two tensors", idle)
	}
	dev.TrimPool(1 << 20) // keeps the 1 MiB buffer, drops the 4 MiB one
	after := dev.PoolStats()
	if after.IdleBytes > 1<<20 || after.Bytes >= base.Bytes+(1<<20+1<<18+1<<16)*4 {
		t.Errorf("after trimming to 1 MiB: %+v (before %+v)", after, base)
	}
	dev.TrimPool(0)
	if st := dev.PoolStats(); st.IdleBytes != 0 || st.Bytes != base.Bytes+uint64(inUse.Bytes()) {
		t.Errorf("after trimming to 0: %+v, want %d live bytes", st, base.Bytes+uint64(inUse.Bytes()))
	}
	if err := inUse.WriteF32(make([]float32, 1<<16)); err != nil {
		t.Errorf("tensor in use after trim: %v", err)
	}
	inUse.Close()
}

// TestManyReadbacks maps thousands of small readbacks with the garbage
// collector running between them: buffer mapping goes through the native
// shim, whose callback carries an integer, so nothing the collector frees
// is read by C (the binding's own MapAsync failed this way under load).
func TestManyReadbacks(t *testing.T) {
	src, err := dev.UploadU32([]uint32{1, 2, 3, 4}, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for i := range 3000 {
		b := dev.NewBatch()
		r := b.Read(src)
		if err := b.Submit(); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			runtime.GC()
		}
		got, err := r.U32()
		if err != nil || len(got) != 4 || got[3] != 4 {
			t.Fatalf("readback %d: %v %v", i, got, err)
		}
	}
}
