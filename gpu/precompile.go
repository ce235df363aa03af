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

// Specialisations are the kernel specialisations a dry run dispatched
// (Device.Collect), ready to compile.
type Specialisations struct {
	d     *Device
	specs map[string]spec
}

// Precompile runs dry as a dry run (Collect), then compiles what it
// dispatched (Specialisations.Compile). It returns the number of
// specialisations and the first error.
func (d *Device) Precompile(dry func() error) (int, error) {
	s, err := d.Collect(dry)
	if err != nil {
		return 0, err
	}
	return s.Compile()
}

// Collect runs dry as a dry run, collecting the kernel specialisations its
// batches would dispatch, so that loading a model does not compile dozens
// of pipelines one after another (each costs milliseconds even with the
// driver's shader cache warm). During dry, dispatches, copies and clears
// record nothing, submissions do nothing and reads return zeros; tensors
// are allocated and written as usual. Nothing else may use the device
// meanwhile.
func (d *Device) Collect(dry func() error) (*Specialisations, error) {
	c := &collector{specs: map[string]spec{}}
	d.collecting.Store(c)
	err := dry()
	d.collecting.Store(nil)
	if err != nil {
		return nil, err
	}
	return &Specialisations{d: d, specs: c.specs}, nil
}

// Compile compiles every specialisation not compiled yet, in parallel on
// all CPUs. The device may be used meanwhile (a model's weights upload
// while its pipelines compile). It returns the number of specialisations
// and the first compile error.
func (s *Specialisations) Compile() (int, error) {
	work := make(chan spec)
	errs := make(chan error, len(s.specs))
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(s.specs)) {
		wg.Go(func() {
			for sp := range work {
				if _, err := s.d.pipeline(sp.k, sp.defs); err != nil {
					errs <- err
				}
			}
		})
	}
	for _, sp := range s.specs {
		work <- sp
	}
	close(work)
	wg.Wait()
	close(errs)
	return len(s.specs), <-errs
}
