package model

import (
	"fmt"
	"slices"

	"github.com/nib-editor/nib/model/safetensors"
)

// Checkpoint is a model folder opened for loading: its configuration and
// its weights, memory-mapped. Opening checks every tensor the configuration
// implies (presence, shape, dtype) before anything is uploaded.
type Checkpoint struct {
	Dir    string
	Config *Config
	st     *safetensors.Set
}

// OpenCheckpoint opens and validates the model folder dir (Hugging Face
// layout: config.json and model.safetensors or a sharded index).
func OpenCheckpoint(dir string) (*Checkpoint, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	st, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	ck := &Checkpoint{Dir: dir, Config: cfg, st: st}
	if _, err := loadWeights(cfg, func(name string, shape []int, _ weightKind) (struct{}, error) {
		_, err := ck.tensor(name, shape)
		return struct{}{}, err
	}); err != nil {
		st.Close()
		return nil, err
	}
	return ck, nil
}

// Close unmaps the weights.
func (ck *Checkpoint) Close() error { return ck.st.Close() }

// tensor returns the named tensor after checking it against shape and the
// float dtypes nib reads.
func (ck *Checkpoint) tensor(name string, shape []int) (safetensors.Tensor, error) {
	t, err := ck.st.Tensor(name)
	if err != nil {
		return t, fmt.Errorf("model: %w", err)
	}
	if !slices.Equal(t.Shape, shape) {
		return t, fmt.Errorf("model: %s: tensor %q has shape %v; config.json implies %v", t.File, name, t.Shape, shape)
	}
	switch t.DType {
	case safetensors.F32, safetensors.F16, safetensors.BF16:
	default:
		return t, fmt.Errorf("model: %s: tensor %q has dtype %s; nib reads F32, F16 and BF16", t.File, name, t.DType)
	}
	return t, nil
}

// float32s returns the named tensor converted to float32.
func (ck *Checkpoint) float32s(name string, shape []int) ([]float32, error) {
	t, err := ck.tensor(name, shape)
	if err != nil {
		return nil, err
	}
	f, err := t.Float32()
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	return f, nil
}
