package model

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/nib-editor/nib/model/safetensors"
)

// WriteRandomCheckpoint writes the weights LoadRandom makes for cfg and
// seed, in f32 as FLAN-T5's checkpoints on the hub are, into the folder
// dir in Hugging Face layout: config.json and model.safetensors, or, when
// the weights exceed shardBytes (0 means 2 GiB, as transformers'
// max_shard_size), shards of at most that size (a larger tensor gets one
// of its own) and model.safetensors.index.json. Load of that folder gives
// the model LoadRandom gives, so that a benchmark can time a checkpoint's
// load path (reading, converting, uploading) without the real weights. It
// returns the bytes of tensor data written.
func WriteRandomCheckpoint(dir string, cfg *Config, seed uint64, shardBytes int64) (int64, error) {
	if shardBytes <= 0 {
		shardBytes = 2 << 30
	}
	if err := cfg.validate(); err != nil {
		return 0, fmt.Errorf("model: random checkpoint: %w", err)
	}
	raw, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return 0, fmt.Errorf("model: random checkpoint: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644); err != nil {
		return 0, fmt.Errorf("model: random checkpoint: %w", err)
	}
	// The tensors in loading order, with their kinds; tensor i is the
	// generator's stream i, as in LoadRandom.
	type spec struct {
		name  string
		shape []int
		kind  weightKind
	}
	var specs []spec
	seen := map[string]bool{}
	_, _ = loadWeights(cfg, func(name string, shape []int, kind weightKind) (struct{}, error) {
		if !seen[name] {
			seen[name] = true
			specs = append(specs, spec{name, shape, kind})
		}
		return struct{}{}, nil
	})
	var shards [][]int // indexes into specs
	size := int64(0)
	for i, s := range specs {
		n := 4 * int64(elements(s.shape))
		if len(shards) == 0 || size > 0 && size+n > shardBytes {
			shards = append(shards, nil)
			size = 0
		}
		shards[len(shards)-1] = append(shards[len(shards)-1], i)
		size += n
	}
	g := randomGen{seed: seed}
	weightMap := map[string]string{}
	var total int64
	for k, shard := range shards {
		file := "model.safetensors"
		if len(shards) > 1 {
			file = fmt.Sprintf("model-%05d-of-%05d.safetensors", k+1, len(shards))
		}
		var ts []safetensors.Tensor
		for _, i := range shard {
			s := specs[i]
			mean, std := randomMoments(cfg, s.name, s.shape, s.kind)
			vals := g.f32(uint64(i), elements(s.shape), mean, std)
			data := make([]byte, 4*len(vals))
			copy(data, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(vals))), len(data)))
			ts = append(ts, safetensors.Tensor{Name: s.name, DType: safetensors.F32, Shape: s.shape, Data: data})
			weightMap[s.name] = file
			total += int64(len(data))
		}
		if err := writeSafetensors(filepath.Join(dir, file), ts); err != nil {
			return 0, err
		}
	}
	if len(shards) > 1 {
		idx, err := json.MarshalIndent(map[string]any{"metadata": map[string]any{"total_size": total}, "weight_map": weightMap}, "", "  ")
		if err != nil {
			return 0, fmt.Errorf("model: random checkpoint: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), idx, 0o644); err != nil {
			return 0, fmt.Errorf("model: random checkpoint: %w", err)
		}
	}
	return total, nil
}

func writeSafetensors(path string, ts []safetensors.Tensor) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("model: random checkpoint: %w", err)
	}
	err = safetensors.Write(f, ts, map[string]string{"format": "pt"})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("model: random checkpoint: %s: %w", path, err)
	}
	return nil
}
