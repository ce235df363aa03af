package gpu_test

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/kernels"
)

// TestLongSubmission reads back the result of one dispatch that runs for
// longer than the 5 s after which wgpu-native's blocking poll gives up and
// treats the submission as finished (gfx-rs/wgpu#3601): the lm_head-sized
// product of 1024 rows that `nib bench --batch 1000` records, widened to
// K=256 so that lavapipe needs 5-15 s for it. Waiting through that poll,
// the process died with SIGSEGV in the driver, which ran a command buffer
// wgpu had freed, or read the staging buffer before the copy. The last row
// of the product, written by the last workgroups, must match the CPU.
func TestLongSubmission(t *testing.T) {
	const m, n, k = 1024, 32128, 256
	rng := rand.New(rand.NewPCG(41, 42))
	xv, wv := randF32(rng, m*k, 1), randF32(rng, n*k, 1)
	x, w := upload(t, xv, gpu.F32, m, k), upload(t, wv, gpu.F16, n, k)
	out := scratch(t, gpu.F32, m, n)
	b := dev.NewBatch()
	b.MatMul(out, x, w)
	r := b.ReadRange(out, (m-1)*n, n)
	start := time.Now()
	submit(t, b)
	raw, err := r.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the dispatch and its readback took %v", time.Since(start))
	got := make([]float32, n)
	for i := range got {
		got[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	want := kernels.MatMulRef(xv[(m-1)*k:], roundF16(wv), 1, n, k)
	closeTo(t, got, want, 1e-4, 1e-4)
}

// TestDispatchOverLimits checks that work the adapter cannot take is
// refused with an error naming the op and the sizes, before anything
// reaches the GPU: a tensor over the storage binding limit, and a product
// of more rows than 65535 workgroups of 128 rows cover.
func TestDispatchOverLimits(t *testing.T) {
	limit := dev.MaxStorageBinding()
	_, err := dev.NewTensor(gpu.F32, int(limit/4)+1)
	if err == nil || !strings.Contains(err.Error(), "binds at most") {
		t.Errorf("a tensor of %d bytes: error %v, want one saying the adapter binds at most %d", limit+4, err, limit)
	}

	const rows = 65535*kernels.MatMulTile + 1
	x, out := scratch(t, gpu.F32, rows, 1), scratch(t, gpu.F32, rows, 1)
	w := upload(t, []float32{1}, gpu.F32, 1, 1)
	b := dev.NewBatch()
	b.MatMul(out, x, w)
	err = b.Submit()
	if err == nil || !strings.Contains(err.Error(), "matmul") || !strings.Contains(err.Error(), "exceeds 65535 workgroups per dimension") {
		t.Errorf("a product of %d rows: error %v, want one naming matmul and the workgroup limit", rows, err)
	}
}
