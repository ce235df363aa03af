package model_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nib-editor/nib/model"
)

// BenchmarkStepPhases splits a decode step's time for the FLAN-T5 shapes
// (random weights; set NIB_BENCH_CONFIGS to the configs folder, default
// ../../shared/configs): the whole Step, the host's recording alone
// (plan, top-k, reads; then discarded; and in chunks of 8 plans to a
// batch, as RunGreedy records), and ten steps recorded into one
// command buffer and submitted once, whose time less ten recordings is the
// GPU's. Reported per step in µs.
func BenchmarkStepPhases(b *testing.B) {
	names := []string{"flan-t5-small", "flan-t5-base", "flan-t5-large"}
	if s := os.Getenv("NIB_BENCH_SIZES"); s != "" {
		names = strings.Split(s, ",")
	}
	for _, name := range names {
		b.Run(name, func(b *testing.B) {
			m := warmRandom(b, name)
			defer m.Close()
			ids := benchPrompt()
			// Time to first token, by phase, the median of 5.
			var encT, decT, stepT []float64
			for range 6 {
				e, _, dd, s := firstToken(b, m, ids)
				encT = append(encT, float64(e.Microseconds()))
				decT = append(decT, float64(dd.Microseconds()))
				stepT = append(stepT, float64(s.Microseconds()))
			}
			fmt.Printf("%s: ttft encode %.0f µs, new decoder %.0f µs, first step %.0f µs\n", name, median(encT[1:]), median(decT[1:]), median(stepT[1:]))
			enc, err := m.Encode([][]int{ids})
			if err != nil {
				b.Fatal(err)
			}
			defer enc.Close()
			d, err := m.NewDecoder(enc, 1024)
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			ctx := context.Background()
			tok := []int{0}
			step := func() {
				c, err := d.Step(ctx, tok, 1)
				if err != nil {
					b.Fatal(err)
				}
				tok[0] = c[0].IDs[0]
			}
			for range 10 {
				step()
			}
			const n = 100
			t0 := time.Now()
			for range n {
				step()
			}
			stepUS := float64(time.Since(t0).Microseconds()) / n
			// The pipelined greedy loop, as the daemon decodes.
			t0 = time.Now()
			steps := 0
			if err := d.RunGreedy(ctx, tok, n, func([]int, []float32) bool { steps++; return true }); err != nil {
				b.Fatal(err)
			}
			aheadUS := float64(time.Since(t0).Microseconds()) / float64(steps)
			b.ReportMetric(aheadUS, "ahead-µs")
			rec, err := d.ProbeRecord(n)
			if err != nil {
				b.Fatal(err)
			}
			chunked, err := d.ProbeRecordChunks(8, 20)
			if err != nil {
				b.Fatal(err)
			}
			batched, err := d.ProbeBatched(10, 20)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(stepUS, "step-µs")
			b.ReportMetric(rec, "record-µs")
			b.ReportMetric(chunked, "record-chunked-µs")
			b.ReportMetric(batched, "batched10-µs/step")
			b.ReportMetric(batched-rec, "gpu-µs(est)")
			fmt.Printf("%s: step %.0f µs, ahead %.0f µs, record %.0f µs (in chunks of 8 as greedy runs: %.0f µs), 10-in-one %.0f µs/step\n", name, stepUS, aheadUS, rec, chunked, batched)
		})
	}
}

// BenchmarkStepAblation breaks a planned decode step's GPU time down by
// part, in place (Decoder.ProbeAblation): 128 steps from position 0 in
// chunks of 8, as the decode benchmark's 128 tokens, for the shapes of
// NIB_BENCH_SIZES (default flan-t5-base). Prints what leaving each part
// out of every layer saves, per step and per dispatch.
func BenchmarkStepAblation(b *testing.B) {
	// The planned step's seven dispatches a layer, not the one-dispatch
	// layers a GPU takes by default.
	b.Setenv("NIB_DECLAYER", "0")
	for _, name := range ablationSizes() {
		b.Run(name, func(b *testing.B) {
			m, enc := ablationPrompt(b, name)
			d, err := m.NewDecoder(enc, 1024)
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			// A first step makes the plan.
			if _, err := d.Step(context.Background(), []int{0}, 1); err != nil {
				b.Fatal(err)
			}
			full, saved, err := d.ProbeAblation(128, 9)
			if err != nil {
				b.Fatal(err)
			}
			layers := m.Config().NumDecoderLayers
			fmt.Printf("%s: planned step %.1f µs on the GPU; leaving out each part saves (µs per step, per dispatch):\n", name, full)
			sum := 0.0
			for i, role := range model.StepRoles[:len(model.StepRoles)-1] {
				per := 1
				if i >= 1 && i <= 7 {
					per = layers
				}
				fmt.Printf("  %-32s %7.1f %6.2f\n", role, saved[role], saved[role]/float64(per))
				sum += saved[role]
			}
			fmt.Printf("  %-32s %7.1f\n", "sum of parts", sum)
			b.ReportMetric(full, "step-gpu-µs")
		})
	}
}

// BenchmarkLayerAblation breaks the one-dispatch decoder layer's step
// (NIB_DECLAYER=1, gpu.DecoderLayer) down by phase: the step timed as
// BenchmarkStepAblation times it, then with each phase's work left out
// (NIB_DECLAYER_SKIP, its barriers kept), what that saves per step and
// per layer. It turns the layers on, a CPU adapter too; sizes as
// BenchmarkStepAblation.
func BenchmarkLayerAblation(b *testing.B) {
	b.Setenv("NIB_DECLAYER", "1")
	phases := []string{"norm+qkv", "self-attention", "self out+residual", "cross-attention",
		"cross out+residual", "norm+ffn in", "ffn out+residual"}
	for _, name := range ablationSizes() {
		b.Run(name, func(b *testing.B) {
			m, enc := ablationPrompt(b, name)
			step := func(skip int) float64 {
				env := fmt.Sprint(skip)
				if skip == 8 {
					env = "all"
				}
				b.Setenv("NIB_DECLAYER_SKIP", env)
				d, err := m.NewDecoder(enc, 1024)
				if err != nil {
					b.Fatal(err)
				}
				defer d.Close()
				if want := model.LayeredPlanLen(m.Config().NumDecoderLayers); d.PlanLen() != want {
					b.Fatalf("plan of %d dispatches, want %d (one a layer)", d.PlanLen(), want)
				}
				us, err := d.ProbeStep(128, 9)
				if err != nil {
					b.Fatal(err)
				}
				return us
			}
			full := step(0)
			layers := float64(m.Config().NumDecoderLayers)
			fmt.Printf("%s: one-dispatch layers, step %.1f µs on the GPU; leaving out each phase's work saves (µs per step, per layer):\n", name, full)
			for k, phase := range phases {
				saved := full - step(k+1)
				fmt.Printf("  %-20s %7.1f %6.2f\n", phase, saved, saved/layers)
			}
			// Every phase's work out: what is left is the barriers, the
			// phases' staging and the step's other dispatches.
			floor := step(8)
			fmt.Printf("  %-20s %7.1f %6.2f (the step with no phase's work: %.1f µs)\n", "every phase", full-floor, (full-floor)/layers, floor)
			b.ReportMetric(full, "step-gpu-µs")
		})
	}
}

// ablationSizes are the configs the ablation benchmarks take:
// NIB_BENCH_SIZES, by default flan-t5-base.
func ablationSizes() []string {
	if s := os.Getenv("NIB_BENCH_SIZES"); s != "" {
		return strings.Split(s, ",")
	}
	return []string{"flan-t5-base"}
}

// ablationPrompt loads a warmed random model of the named config and
// encodes the benchmark prompt, both closed when b ends.
func ablationPrompt(b *testing.B, name string) (*model.Model, *model.Encoded) {
	m := warmRandom(b, name)
	b.Cleanup(m.Close)
	enc, err := m.Encode([][]int{benchPrompt()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(enc.Close)
	return m, enc
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// benchConfigs is the folder of the FLAN-T5 configs whose shapes the
// benchmarks take: NIB_BENCH_CONFIGS, by default ../../shared/configs.
func benchConfigs() string {
	if dir := os.Getenv("NIB_BENCH_CONFIGS"); dir != "" {
		return dir
	}
	return filepath.Join("..", "..", "shared", "configs")
}

// warmRandom loads a random f16 model of the named config for the caller
// to close, warmed so that no timing includes a pipeline compile.
func warmRandom(b *testing.B, name string) *model.Model {
	b.Helper()
	cfg, err := model.ParseConfigFile(filepath.Join(benchConfigs(), name, "config.json"))
	if err != nil {
		b.Fatal(err)
	}
	m, err := model.LoadRandom(dev, cfg, model.Options{F16: true}, 1)
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Warm(); err != nil {
		m.Close()
		b.Fatal(err)
	}
	return m
}

// benchPrompt is the 64-token prompt the benchmarks encode.
func benchPrompt() []int {
	ids := make([]int, 64)
	for i := range ids {
		ids[i] = 100 + i
	}
	return ids
}

// firstToken times what a request does before its first token, each
// phase until the GPU is done with it: encoding ids (and, within that,
// the host's part until Encode returns), making a decoder of capacity 160,
// and its first step.
func firstToken(b *testing.B, m *model.Model, ids []int) (enc, encHost, dec, step time.Duration) {
	b.Helper()
	t0 := time.Now()
	e, err := m.Encode([][]int{ids})
	if err != nil {
		b.Fatal(err)
	}
	encHost = time.Since(t0)
	if err := dev.Sync(); err != nil {
		b.Fatal(err)
	}
	t1 := time.Now()
	d, err := m.NewDecoder(e, 160)
	if err != nil {
		b.Fatal(err)
	}
	t2 := time.Now()
	if _, err := d.Step(context.Background(), []int{0}, 1); err != nil {
		b.Fatal(err)
	}
	t3 := time.Now()
	d.Close()
	e.Close()
	return t1.Sub(t0), encHost, t2.Sub(t1), t3.Sub(t2)
}

// BenchmarkTTFT times what a request does before its first token on
// flan-t5-base shapes: encoding a 64-token prompt, making the decoder and
// its first step, each until the GPU is done. With -test.cpuprofile it
// shows where the host's time goes.
func BenchmarkTTFT(b *testing.B) {
	name := os.Getenv("NIB_BENCH_SIZES")
	if name == "" {
		name = "flan-t5-base"
	}
	m := warmRandom(b, name)
	defer m.Close()
	ids := benchPrompt()
	var enc, encHost, dec, step time.Duration
	b.ResetTimer()
	for range b.N {
		e, eh, d, s := firstToken(b, m, ids)
		enc += e
		encHost += eh
		dec += d
		step += s
	}
	n := float64(b.N)
	b.ReportMetric(float64(enc.Microseconds())/n, "encode-µs")
	b.ReportMetric(float64(encHost.Microseconds())/n, "encode-host-µs")
	b.ReportMetric(float64(dec.Microseconds())/n, "decoder-µs")
	b.ReportMetric(float64(step.Microseconds())/n, "step-µs")
}

// BenchmarkLoadCheckpoint times opening and loading a checkpoint of
// flan-t5-base's shape (random f32 weights, written once to a temporary
// folder, so in the page cache), as a daemon's cold start does.
func BenchmarkLoadCheckpoint(b *testing.B) {
	cfg, err := model.ParseConfigFile(filepath.Join(benchConfigs(), "flan-t5-base", "config.json"))
	if err != nil {
		b.Fatal(err)
	}
	ckDir := b.TempDir()
	if _, err := model.WriteRandomCheckpoint(ckDir, cfg, 1, 0); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		ck, err := model.OpenCheckpoint(ckDir)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		m, err := model.Load(dev, ck, model.Options{F16: true})
		if err != nil {
			b.Fatal(err)
		}
		if err := dev.Sync(); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		m.Close()
		ck.Close()
		b.ReportMetric(float64(t1.Sub(t0).Milliseconds()), "open-ms")
		b.ReportMetric(float64(t2.Sub(t1).Milliseconds()), "load-ms")
	}
}
