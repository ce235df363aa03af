package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nib-editor/nib/model/internal/modelfile"
)

// The file names of a Hugging Face model folder's weights.
const (
	// SingleFile holds all the weights of an unsharded checkpoint.
	SingleFile = "model.safetensors"
	// IndexFile maps each tensor of a sharded checkpoint to its shard.
	IndexFile = "model.safetensors.index.json"
)

// pytorchFiles are the pickle checkpoints transformers also publishes;
// nib does not read them (unpickling runs code), but names them when they
// are all a folder has.
var pytorchFiles = []string{"pytorch_model.bin", "pytorch_model.bin.index.json"}

// Set is the weights of a model folder, from one file or several shards.
// Its methods may be called concurrently, except Close, which must come
// after every other use of the Set and of the Tensors it returned.
type Set struct {
	dir    string
	files  []*File
	byName map[string]*File
	names  []string
	closed bool
}

// OpenDir opens the weights of the model folder dir: model.safetensors if
// present, as transformers prefers it, else model.safetensors.index.json
// and the shards its weight map names. Every shard is validated, and every
// tensor the weight map names must be in the shard it names. A folder with
// only pytorch_model.bin is an error saying how to convert it.
func OpenDir(dir string) (*Set, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("safetensors: %s: not a folder (OpenDir takes the model folder; Open takes one file)", dir)
	}
	single := filepath.Join(dir, SingleFile)
	if ok, err := exists(single); err != nil {
		return nil, err
	} else if ok {
		f, err := Open(single)
		if err != nil {
			return nil, err
		}
		s := &Set{dir: dir, files: []*File{f}, byName: map[string]*File{}, names: f.Names()}
		for _, name := range s.names {
			s.byName[name] = f
		}
		return s, nil
	}
	index := filepath.Join(dir, IndexFile)
	if ok, err := exists(index); err != nil {
		return nil, err
	} else if ok {
		return openIndex(dir, index)
	}
	for _, name := range pytorchFiles {
		if ok, _ := exists(filepath.Join(dir, name)); ok {
			return nil, fmt.Errorf("safetensors: %s: has %s but no %s or %s; nib reads only safetensors; "+
				"convert it with transformers: "+
				"python -c 'import sys, transformers as t; t.AutoModelForSeq2SeqLM.from_pretrained(sys.argv[1]).save_pretrained(sys.argv[1], safe_serialization=True)' %s",
				dir, name, SingleFile, IndexFile, dir)
		}
	}
	return nil, fmt.Errorf("safetensors: %s: no %s or %s (not a model folder?)", dir, SingleFile, IndexFile)
}

// exists reports whether path exists; errors other than its absence, such
// as a permission denied, are returned.
func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("safetensors: %w", err)
	}
	return true, nil
}

// openIndex opens the sharded checkpoint described by the index file.
func openIndex(dir, index string) (*Set, error) {
	weightMap, err := readIndex(index)
	if err != nil {
		return nil, err
	}
	// The shards in sorted order, each with the first tensor that needs it
	// so that a missing shard can be explained.
	firstUse := map[string]string{}
	for _, w := range weightMap {
		if !isLocalName(w.shard) {
			return nil, fmt.Errorf("safetensors: %s: tensor %q: shard %q is not a file name inside the folder", index, w.name, w.shard)
		}
		if _, ok := firstUse[w.shard]; !ok {
			firstUse[w.shard] = w.name
		}
	}
	s := &Set{dir: dir, byName: make(map[string]*File, len(weightMap))}
	shards := map[string]*File{}
	for _, shard := range slices.Sorted(maps.Keys(firstUse)) {
		path := filepath.Join(dir, shard)
		f, err := Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			s.Close()
			return nil, fmt.Errorf("safetensors: %s: shard %q, which holds tensor %q, is missing from %s", index, shard, firstUse[shard], dir)
		}
		if err != nil {
			s.Close()
			return nil, err
		}
		s.files = append(s.files, f)
		shards[shard] = f
	}
	for _, w := range weightMap {
		f := shards[w.shard]
		if _, ok := f.byName[w.name]; !ok {
			s.Close()
			return nil, fmt.Errorf("safetensors: %s: tensor %q: not in this shard, though %s places it here", f.path, w.name, index)
		}
		s.byName[w.name] = f
		s.names = append(s.names, w.name)
	}
	slices.Sort(s.names)
	return s, nil
}

// isLocalName reports whether name is a plain file name, so that an index
// cannot reach outside its folder. Shards are never in subfolders. (The
// shard itself may be a symbolic link elsewhere, as in the Hugging Face
// cache, where snapshot files link into blobs/.)
func isLocalName(name string) bool {
	return filepath.IsLocal(name) && !strings.ContainsAny(name, `/\`)
}

// shardOf is one entry of an index's weight map.
type shardOf struct{ name, shard string }

// readIndex reads the weight map of a model.safetensors.index.json,
// rejecting repeated tensor names as Open does.
func readIndex(index string) ([]shardOf, error) {
	b, err := modelfile.ReadFile(index, modelfile.IndexLimit)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var weightMap []shardOf
	found := false
	err = object(dec, keyNoun, func(key string) error {
		if key != "weight_map" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return jsonError(err)
			}
			return nil
		}
		found = true
		err := object(dec, tensorNoun, func(name string) error {
			tok, err := dec.Token()
			if err != nil {
				return jsonError(err)
			}
			shard, ok := tok.(string)
			if !ok {
				return fmt.Errorf("tensor %q: want a shard file name, found %s", name, describe(tok))
			}
			weightMap = append(weightMap, shardOf{name, shard})
			return nil
		})
		if err != nil {
			return fmt.Errorf("weight_map: %w", err)
		}
		return nil
	})
	if err == nil {
		if _, end := dec.Token(); end != io.EOF {
			err = errors.New("data after the JSON object")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", index, err)
	}
	if !found {
		return nil, fmt.Errorf("safetensors: %s: no weight_map", index)
	}
	if len(weightMap) == 0 {
		return nil, fmt.Errorf("safetensors: %s: the weight_map is empty", index)
	}
	return weightMap, nil
}

// Dir returns the folder the Set was opened from.
func (s *Set) Dir() string { return s.dir }

// Names returns the names of every tensor in the Set, sorted.
func (s *Set) Names() []string { return slices.Clone(s.names) }

// Tensor returns the named tensor. Its absence, or a closed Set, is an
// error naming the folder and the tensor.
func (s *Set) Tensor(name string) (Tensor, error) {
	if s.closed {
		return Tensor{}, fmt.Errorf("safetensors: %s: tensor %q: the weights are closed", s.dir, name)
	}
	f, ok := s.byName[name]
	if !ok {
		return Tensor{}, fmt.Errorf("safetensors: %s: no tensor %q among its %d", s.dir, name, len(s.names))
	}
	t, _ := f.Tensor(name)
	return t, nil
}

// Close unmaps every file of the Set. Data of the Tensors it returned must
// not be read afterwards. Closing twice does nothing.
func (s *Set) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	for _, f := range s.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}
