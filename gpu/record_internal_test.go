package gpu

import "testing"

// mapCache is a minimal PipelineCache for internal tests, which cannot
// import package cache (it imports gpu).
type mapCache map[string]*Pipeline

func (c mapCache) Pipeline(key string, compile func() (*Pipeline, error)) (*Pipeline, error) {
	if p, ok := c[key]; ok {
		return p, nil
	}
	p, err := compile()
	if err == nil {
		c[key] = p
	}
	return p, err
}

func (c mapCache) Close() {
	for _, p := range c {
		p.Close()
	}
}

// BenchmarkRecord measures the host cost of recording one small dispatch,
// without submitting: the per-dispatch overhead of a decode step.
func BenchmarkRecord(b *testing.B) {
	d, err := Open(Options{Pipelines: mapCache{}})
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
