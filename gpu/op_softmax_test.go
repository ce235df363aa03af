package gpu_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/kernels"
)

func TestSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	cases := []struct {
		b, h, tq, tk int
		lens         []uint32
		causal       bool
		// offset shifts every score: exp overflows f32 without the row
		// maximum subtracted.
		offset float32
	}{
		{1, 1, 1, 1, nil, false, 0},
		{2, 3, 7, 7, []uint32{7, 4}, false, 0},
		{2, 3, 7, 7, []uint32{5, 7}, true, 0},
		{2, 2, 33, 33, []uint32{33, 0}, false, 0},
		{1, 2, 5, 33, nil, true, 0},
		{1, 1, 1, 1000, nil, true, 100},
		{2, 1, 3, 1000, []uint32{999, 300}, false, -100},
		{1, 1, 9, 4, nil, true, 0},
		// More rows than one grid dimension holds.
		{1, 1, 70000, 1, nil, false, 0},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%dx%dx%dx%d/lens=%v/causal=%v", c.b, c.h, c.tq, c.tk, c.lens != nil, c.causal)
		t.Run(name, func(t *testing.T) {
			n := c.b * c.h * c.tq * c.tk
			x := randF32(rng, n, 20)
			for i := range x {
				x[i] += c.offset
			}
			xt := upload(t, x, gpu.F32, c.b, c.h, c.tq, c.tk)
			m := gpu.Mask{Causal: c.causal}
			if c.lens != nil {
				lens, err := dev.UploadU32(c.lens, c.b)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(lens.Close)
				m.KeyLens = lens
			}
			b := dev.NewBatch()
			b.Softmax(xt, m)
			submit(t, b)
			got := download(t, xt)
			ref := kernels.Mask{KeyLens: c.lens, Causal: c.causal}
			// Tolerance: exp is good to a few ulp and row sums of up to 1000
			// terms lose a few more; probabilities are at most 1.
			closeTo(t, got, kernels.SoftmaxRef(x, c.b, c.h, c.tq, c.tk, ref), 1e-7, 1e-5)
			checkMasked(t, got, c.b, c.h, c.tq, c.tk, ref)
		})
	}
}

// checkMasked fails unless every masked probability in p [b, h, tq, tk] is
// exactly zero.
func checkMasked(t *testing.T, p []float32, b, h, tq, tk int, m kernels.Mask) {
	t.Helper()
	for bi := range b {
		for hi := range h {
			for i := range tq {
				row := p[((bi*h+hi)*tq+i)*tk:][:tk]
				for j := m.Visible(bi, i, tq, tk); j < tk; j++ {
					if row[j] != 0 {
						t.Fatalf("[%d,%d,%d,%d] = %g, masked", bi, hi, i, j, row[j])
					}
				}
			}
		}
	}
}

func TestSoftmaxFixed(t *testing.T) {
	// Causal, two queries over three keys: query 0 sits at position 1 and
	// sees keys 0 and 1, whose scores 0 and ln 3 split 1:3 (key 2 is
	// masked despite its large score); query 1 sees all three.
	x := upload(t, []float32{0, 1.0986123, 50, 0, 0, 0.6931472}, gpu.F32, 1, 1, 2, 3)
	b := dev.NewBatch()
	b.Softmax(x, gpu.Mask{Causal: true})
	submit(t, b)
	closeTo(t, download(t, x), []float32{0.25, 0.75, 0, 0.25, 0.25, 0.5}, 1e-6, 1e-6)
}

func TestSoftmaxMismatch(t *testing.T) {
	lens, err := dev.UploadU32([]uint32{1, 2, 3}, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer lens.Close()
	for name, call := range map[string]func(b *gpu.Batch){
		"key lengths": func(b *gpu.Batch) { b.Softmax(scratch(t, gpu.F32, 2, 1, 3, 3), gpu.Mask{KeyLens: lens}) },
		"rank":        func(b *gpu.Batch) { b.Softmax(scratch(t, gpu.F32, 3, 3), gpu.Mask{}) },
		"dtype":       func(b *gpu.Batch) { b.Softmax(scratch(t, gpu.U32, 1, 1, 3, 3), gpu.Mask{}) },
	} {
		b := dev.NewBatch()
		call(b)
		if err := b.Submit(); err == nil {
			t.Errorf("%s: mismatch was accepted", name)
		}
	}
}
