package gpu

import (
	"runtime"
	"sync"

	"github.com/nib-editor/nib/kernels"
)

// collector gathers the kernel specialisations of a dry run.
type collector struct {
	mu    sync.Mutex
	specs map[string]spec
}

type spec struct {
	k    *kernels.Kernel
	defs kernels.Defines
}

func (c *collector) add(k *kernels.Kernel, defs kernels.Defines) {
	key := k.Key(defs)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.specs[key]; !ok {
		d := make(kernels.Defines, len(defs))
		for name, v := range defs {
			d[name] = v
		}
		c.specs[key] = spec{k, d}
	}
}

// Precompile runs dry as a dry run, collecting the kernel specialisations
// its batches would dispatch, then compiles every one of them in parallel
// on all CPUs, so that loading a model does not compile dozens of
// pipelines one after another (each costs milliseconds even with the
// driver's shader cache warm). During dry, dispatches, copies and clears
// record nothing, submissions do nothing and reads return zeros; tensors
// are allocated and written as usual. Nothing else may use the device
// meanwhile. It returns the number of specialisations and the first
// compile error.
func (d *Device) Precompile(dry func() error) (int, error) {
	c := &collector{specs: map[string]spec{}}
	d.collecting.Store(c)
	err := dry()
	d.collecting.Store(nil)
	if err != nil {
		return 0, err
	}
	work := make(chan spec)
	errs := make(chan error, len(c.specs))
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(c.specs)) {
		wg.Go(func() {
			for s := range work {
				if _, err := d.pipeline(s.k, s.defs); err != nil {
					errs <- err
				}
			}
		})
	}
	for _, s := range c.specs {
		work <- s
	}
	close(work)
	wg.Wait()
	close(errs)
	return len(c.specs), <-errs
}
