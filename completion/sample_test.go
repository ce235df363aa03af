package completion

import (
	"math"
	"reflect"
	"slices"
	"testing"
)

// nucleus returns the probabilities sampling must use at a step: the topK
// most likely ids of lp, weighted by exp(lp/temperature), cut to the
// smallest prefix reaching topP of their total, renormalised. Ids outside
// have probability 0.
func nucleus(lp []float32, k int, topP, temperature float64) map[int]float64 {
	c := topK(lp, k).IDs
	w := make([]float64, len(c))
	total := 0.0
	for i, id := range c {
		w[i] = math.Exp((float64(lp[id]) - float64(lp[c[0]])) / temperature)
		total += w[i]
	}
	out := map[int]float64{}
	mass := 0.0
	for i, id := range c {
		out[id] = w[i]
		mass += w[i]
		if mass >= topP*total {
			break
		}
	}
	for id := range out {
		out[id] /= mass
	}
	return out
}

func TestSampleReproducible(t *testing.T) {
	lm := hashLM(20, 1, 2, 0.3)
	p := Params{Strategy: Sample, N: 5, MaxTokens: 12, EOS: 1, Seed: 99, TopK: 10, TopP: 0.95, Temperature: 1.3}
	a, _, _ := solo(t, lm, 8, Request{Params: p})
	b, _, _ := solo(t, lm, 8, Request{Params: p})
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different output:\n%+v\n%+v", a, b)
	}
	// Alternatives differ from one another, and from another seed's.
	for i := 1; i < len(a.Alternatives); i++ {
		if slices.Equal(a.Alternatives[0].IDs, a.Alternatives[i].IDs) {
			t.Fatalf("alternatives 0 and %d are both %v", i, a.Alternatives[0].IDs)
		}
	}
	p.Seed = 100
	c, _, _ := solo(t, lm, 8, Request{Params: p})
	if reflect.DeepEqual(a, c) {
		t.Fatal("seeds 99 and 100 gave the same output")
	}
	// Alternative a depends on (Seed, a) only: with N 2 the first two
	// alternatives are the same as with N 5.
	p.Seed, p.N = 99, 2
	d, _, _ := solo(t, lm, 8, Request{Params: p})
	if !reflect.DeepEqual(d.Alternatives, a.Alternatives[:2]) {
		t.Fatalf("N 2 gave %+v, want the first two of N 5", d.Alternatives)
	}
}

// TestSampleStaysInNucleus walks every sampled sequence and checks each
// token, end ids included, against the nucleus at its step.
func TestSampleStaysInNucleus(t *testing.T) {
	lm := hashLM(24, 1, 2.5, 0.25)
	for _, tc := range []struct {
		topK       int
		topP, temp float64
	}{
		{topK: 3, topP: 1, temp: 1},
		{topK: 24, topP: 0.5, temp: 1},
		{topK: 8, topP: 0.8, temp: 2},
		{topK: 50, topP: 0.3, temp: 0.7},
	} {
		steps, widest := 0, 0
		for seed := range uint64(40) {
			p := Params{Strategy: Sample, N: 3, MaxTokens: 10, EOS: 1, Seed: seed, TopK: tc.topK, TopP: tc.topP, Temperature: tc.temp}
			res, f, _ := solo(t, lm, int(seed)+40, Request{Params: p})
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			for _, k := range f.ks {
				if k != tc.topK {
					t.Fatalf("asked k %d, want TopK %d", k, tc.topK)
				}
			}
			for _, a := range res.Alternatives {
				hist := []int{int(seed) + 40, start}
				ids := a.IDs
				if a.Finish == FinishEOS {
					ids = append(slices.Clip(ids), 1)
				}
				for _, id := range ids {
					nuc := nucleus(lm(hist), tc.topK, tc.topP, tc.temp)
					if nuc[id] == 0 {
						t.Fatalf("TopK %d TopP %v T %v seed %d: drew %d outside the nucleus %v", tc.topK, tc.topP, tc.temp, seed, id, nuc)
					}
					steps++
					widest = max(widest, len(nuc))
					hist = append(hist, id)
				}
			}
		}
		if widest < 2 || steps < 100 {
			t.Fatalf("TopK %d TopP %v: %d steps, nucleus at most %d wide: the fixture tests little", tc.topK, tc.topP, steps, widest)
		}
	}
}

// TestSampleDistribution draws the first token many times and compares the
// frequencies with the nucleus probabilities.
func TestSampleDistribution(t *testing.T) {
	lm := hashLM(12, -1, 2.5, 0)
	const draws = 4000
	for _, tc := range []struct {
		topK       int
		topP, temp float64
	}{{12, 1, 1}, {5, 1, 0.5}, {12, 0.7, 1.5}} {
		want := nucleus(lm([]int{3, start}), tc.topK, tc.topP, tc.temp)
		got := map[int]float64{}
		for seed := range uint64(draws / 8) {
			p := Params{Strategy: Sample, N: 8, MaxTokens: 1, EOS: -1, Seed: seed, TopK: tc.topK, TopP: tc.topP, Temperature: tc.temp}
			res, _, _ := solo(t, lm, 3, Request{Params: p})
			for _, a := range res.Alternatives {
				got[a.IDs[0]] += 1.0 / draws
			}
		}
		for id, f := range got {
			if _, ok := want[id]; !ok {
				t.Fatalf("%+v: drew %d, outside the nucleus %v", tc, id, want)
			}
			// 4000 draws: a standard deviation of at most 0.008.
			if math.Abs(f-want[id]) > 0.03 {
				t.Errorf("%+v: id %d drawn %.3f of the time, want %.3f", tc, id, f, want[id])
			}
		}
		if len(want) < 3 {
			t.Fatalf("%+v: nucleus %v too narrow to test", tc, want)
		}
	}
}

// TestSampleColdIsGreedy: as the temperature goes to 0, sampling becomes
// the argmax chain.
func TestSampleColdIsGreedy(t *testing.T) {
	lm := hashLM(16, 1, 4, 0.3)
	for prompt := range 10 {
		g, _, _ := solo(t, lm, prompt, Request{Params: Params{MaxTokens: 10, EOS: 1}})
		greedy := g.Alternatives[0]
		matches := map[float64]int{}
		for _, temp := range []float64{3, 0.3, 1e-9} {
			p := Params{Strategy: Sample, N: 8, MaxTokens: 10, EOS: 1, Seed: uint64(prompt), Temperature: temp}
			res, _, _ := solo(t, lm, prompt, Request{Params: p})
			for _, a := range res.Alternatives {
				if reflect.DeepEqual(a, greedy) {
					matches[temp]++
				}
			}
		}
		if matches[1e-9] != 8 {
			t.Fatalf("prompt %d: %d of 8 samples at T=1e-9 are the greedy %v", prompt, matches[1e-9], greedy)
		}
		if matches[3] > matches[0.3] {
			t.Fatalf("prompt %d: more samples match greedy at T=3 than at T=0.3: %v", prompt, matches)
		}
	}
}
