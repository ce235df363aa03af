package gpu_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nib-editor/nib/gpu"
	"github.com/nib-editor/nib/kernels"
)

// TestPlanReplays records a plan of two dependent dispatches once and runs
// it on new inputs several times, as a decoder runs its step.
func TestPlanReplays(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	const m, n, k = 2, 50, 64
	w := randF32(rng, n*k, 0.5)
	x := scratch(t, gpu.F32, m, k)
	h := scratch(t, gpu.F32, m, n)
	res := scratch(t, gpu.F32, m, n)
	out := scratch(t, gpu.F32, m, n)
	wt := upload(t, w, gpu.F32, n, k)
	pb := dev.NewPlanBatch()
	pb.FMatVec(h, x, wt, gpu.FusedArgs{Norm: true, Eps: 1e-6})
	pb.Add(out, h, res)
	plan, err := pb.Plan()
	if err != nil {
		t.Fatal(err)
	}
	defer plan.Close()
	if plan.Len() != 2 {
		t.Fatalf("plan has %d dispatches, want 2", plan.Len())
	}
	for run := range 3 {
		xv, rv := randF32(rng, m*k, 2), randF32(rng, m*n, 1)
		if err := x.WriteF32(xv); err != nil {
			t.Fatal(err)
		}
		if err := res.WriteF32(rv); err != nil {
			t.Fatal(err)
		}
		b := dev.NewBatch()
		b.Run(plan)
		if b.Recorded() != 2 {
			t.Fatalf("run %d recorded %d", run, b.Recorded())
		}
		submit(t, b)
		want := kernels.FMatVecRef(xv, w, kernels.FMatVecArgs{M: m, N: n, K: k, Norm: true, Eps: 1e-6, Res: rv})
		closeTo(t, download(t, out), want, 2e-4, 2e-4)
	}
}

func TestPlanRefuses(t *testing.T) {
	pb := dev.NewPlanBatch()
	a, b2 := scratch(t, gpu.F32, 4), scratch(t, gpu.F32, 4)
	pb.Copy(a, b2)
	if _, err := pb.Plan(); err == nil {
		t.Error("a copy was planned")
	}
	b := dev.NewBatch()
	if _, err := b.Plan(); err == nil {
		t.Error("an ordinary batch made a plan")
	}
	pb = dev.NewPlanBatch()
	pb.Add(a, b2, b2)
	p, err := pb.Plan()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pb2 := dev.NewPlanBatch()
	pb2.Run(p)
	if _, err := pb2.Plan(); err == nil {
		t.Error("a plan inside a plan was accepted")
	}
}

// TestPrecompile: a dry run records nothing, reads zeros, and leaves every
// pipeline it would use compiled, so that the real run compiles none.
func TestPrecompile(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	x := upload(t, randF32(rng, 3*40, 1), gpu.F32, 3, 40)
	w := upload(t, randF32(rng, 17*40, 1), gpu.F16, 17, 40)
	out := scratch(t, gpu.F32, 3, 17)
	ids := scratch(t, gpu.U32, 3, 1)
	lp := scratch(t, gpu.F32, 3, 1)
	run := func() ([]uint32, error) {
		b := dev.NewBatch()
		b.FMatVec(out, x, w, gpu.FusedArgs{Norm: true, Eps: 1e-6, Act: "relu"})
		b.TopK(ids, lp, out, 1)
		r := b.Read(ids)
		if err := b.Submit(); err != nil {
			return nil, err
		}
		return r.U32()
	}
	if err := ids.WriteU32([]uint32{7, 7, 7}); err != nil {
		t.Fatal(err)
	}
	var dry []uint32
	n, err := dev.Precompile(func() error {
		var err error
		dry, err = run()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || fmt.Sprint(dry) != "[0 0 0]" {
		t.Fatalf("dry run: %d specialisations, read %v", n, dry)
	}
	if got, _ := ids.ReadU32(); fmt.Sprint(got) != "[7 7 7]" {
		t.Fatalf("the dry run ran: ids %v", got)
	}
	before := dev.PipelineStats().Misses
	if _, err := run(); err != nil {
		t.Fatal(err)
	}
	if after := dev.PipelineStats().Misses; after != before {
		t.Errorf("the real run compiled %d pipelines after Precompile", after-before)
	}
}
