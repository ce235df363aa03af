package gpu

import "testing"

// BenchmarkRecord measures the host cost of recording one small dispatch,
// without submitting: the per-dispatch overhead of a decode step.
func BenchmarkRecord(b *testing.B) {
	d, err := Open(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	x, _ := d.NewTensor(F32, 256)
	y, _ := d.NewTensor(F32, 256)
	defer x.Close()
	defer y.Close()
	batch := d.NewBatch()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch.ReLU(y, x)
		if batch.Recorded() == 256 {
			batch.reset()
		}
	}
	batch.reset()
}
