//go:build !js

package tests

import (
	le "encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// copyModel copies the fixture model name into a new folder, leaving out
// the files in skip.
func copyModel(t *testing.T, name string, skip ...string) string {
	t.Helper()
	src := filepath.Join(fixtures, name)
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "reference.safetensors" || contains(skip, e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// editHeader rewrites the safetensors header of dir/model.safetensors with
// edit, keeping the data section as it is.
func editHeader(t *testing.T, dir string, edit func(map[string]map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, "model.safetensors")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := le.LittleEndian.Uint64(b)
	var h map[string]map[string]any
	if err := json.Unmarshal(b[8:8+n], &h); err != nil {
		t.Fatal(err)
	}
	edit(h)
	hdr, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	out := le.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	out = append(append(out, hdr...), b[8+n:]...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// editConfig sets fields of dir/config.json.
func editConfig(t *testing.T, dir string, fields map[string]any) {
	t.Helper()
	path := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	for k, v := range fields {
		cfg[k] = v
	}
	b, _ = json.Marshal(cfg)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

type gpuStatsJSON struct {
	Model struct {
		Name, State, Error string
	} `json:"model"`
	GPU struct {
		Adapter       string `json:"adapter"`
		ResidentBytes int64  `json:"residentBytes"`
	} `json:"gpu"`
}

// TestBadModels points the daemon at broken model folders, one after the
// other: each is refused before anything reaches the GPU (no device is
// even opened), with the file and tensor named in the load's progress
// end, in a window/showMessage and in the -32803 of every request; the
// daemon stays up, loads a good model when the settings name one, and
// keeps it resident when a broken one is named next.
func TestBadModels(t *testing.T) {
	const fixture = "t5-tiny-relu-tied"
	weights := "model.safetensors"
	cases := []struct {
		name string
		dir  func() string
		want []string
	}{
		{"no weights", func() string { return copyModel(t, fixture, weights) }, []string{"model.safetensors"}},
		{"truncated weights", func() string {
			d := copyModel(t, fixture)
			p := filepath.Join(d, weights)
			fi, _ := os.Stat(p)
			if err := os.Truncate(p, fi.Size()/2); err != nil {
				t.Fatal(err)
			}
			return d
		}, []string{"model.safetensors", "end beyond the data section", "file truncated?"}},
		{"header lies about offsets", func() string {
			d := copyModel(t, fixture)
			editHeader(t, d, func(h map[string]map[string]any) {
				h["shared.weight"]["data_offsets"] = []any{0, 1 << 40}
			})
			return d
		}, []string{"model.safetensors", `tensor "shared.weight"`, "data_offsets [0, 1099511627776]"}},
		{"header lies about sizes", func() string {
			d := copyModel(t, fixture)
			editHeader(t, d, func(h map[string]map[string]any) {
				h["encoder.final_layer_norm.weight"]["shape"] = []any{7}
			})
			return d
		}, []string{"model.safetensors", `tensor "encoder.final_layer_norm.weight"`, "shape [7]"}},
		{"unknown dtype", func() string {
			d := copyModel(t, fixture)
			editHeader(t, d, func(h map[string]map[string]any) {
				h["shared.weight"]["dtype"] = "F8_E9M9"
			})
			return d
		}, []string{"model.safetensors", `tensor "shared.weight"`, `dtype "F8_E9M9" is not supported`}},
		{"shapes disagree with config.json", func() string {
			d := copyModel(t, fixture)
			editConfig(t, d, map[string]any{"d_ff": 48})
			return d
		}, []string{"model.safetensors", "DenseReluDense.wi.weight", "has shape [96 48]; config.json implies [48 48]"}},
		{"no tokenizer", func() string { return copyModel(t, fixture, "spiece.model", "tokenizer.json") }, []string{"tokenizer", "spiece.model"}},
		{"impossible config", func() string {
			d := copyModel(t, fixture)
			editConfig(t, d, map[string]any{"num_heads": 0})
			return d
		}, []string{"config.json", `field "num_heads": 0 must be positive`}},
		{"config not JSON", func() string {
			d := copyModel(t, fixture)
			os.WriteFile(filepath.Join(d, "config.json"), []byte("{not json"), 0o644)
			return d
		}, []string{"config.json", "invalid JSON"}},
		// Neither may read forever (RSS grows until the machine runs
		// out) or block the load (it would never end).
		{"config.json a link to /dev/zero", func() string {
			d := copyModel(t, fixture, "config.json")
			if err := os.Symlink("/dev/zero", filepath.Join(d, "config.json")); err != nil {
				t.Fatal(err)
			}
			return d
		}, []string{"config.json", "not a regular file", "character device"}},
		{"tokenizer.json a named pipe", func() string {
			d := copyModel(t, fixture, "tokenizer.json")
			if err := syscall.Mkfifo(filepath.Join(d, "tokenizer.json"), 0o644); err != nil {
				t.Fatal(err)
			}
			return d
		}, []string{"tokenizer.json", "not a regular file", "named pipe"}},
		{"not a model folder", func() string { return t.TempDir() }, []string{"config.json", "no such file"}},
	}
	dirs := make([]string, len(cases))
	for i, c := range cases {
		dirs[i] = c.dir()
	}

	c := start(t, "--model", dirs[0])
	c.initialize(nil)
	c.open(docURI, "Hello there.", 1)
	ends := 0
	// expectFailed waits for the end of load number n and checks that it,
	// a showMessage, a request and nib/stats all say what is wrong.
	expectFailed := func(name, dir string, want []string) {
		t.Helper()
		ends++
		n := ends
		c.waitNotification("$/progress", func(json.RawMessage) bool { return countEnds(c) >= n })
		last := lastEnd(c)
		err := c.call("nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": pos(0, 5)}, nil)
		var st gpuStatsJSON
		c.mustCall("nib/stats", nil, &st)
		// Sent before the end of the load: here by the time the
		// answers are.
		msgs := c.notifications("window/showMessage")
		for _, w := range append([]string{dir}, want...) {
			if !strings.Contains(last, w) {
				t.Errorf("%s: load progress end %s does not mention %q", name, last, w)
			}
			if len(msgs) == 0 || !strings.Contains(unescape(string(msgs[len(msgs)-1])), w) {
				t.Errorf("%s: the last showMessage does not mention %q: %s", name, w, msgs)
			}
			if rpcCode(err) != -32803 || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: request %v; want -32803 mentioning %q", name, err, w)
			}
			if !strings.Contains(st.Model.Error, w) {
				t.Errorf("%s: nib/stats model error %q does not mention %q", name, st.Model.Error, w)
			}
		}
		if st.Model.State != "failed" {
			t.Errorf("%s: model state %q, want failed", name, st.Model.State)
		}
		if !strings.Contains(err.Error(), "the model failed to load") {
			t.Errorf("%s: %v does not say the model failed to load", name, err)
		}
	}
	expectFailed(cases[0].name, dirs[0], cases[0].want)
	for i := 1; i < len(cases); i++ {
		c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"model": dirs[i]}})
		expectFailed(cases[i].name, dirs[i], cases[i].want)
	}
	// Nothing was uploaded: no device was even opened.
	var st gpuStatsJSON
	c.mustCall("nib/stats", nil, &st)
	if st.GPU.Adapter != "" || st.GPU.ResidentBytes != 0 {
		t.Errorf("after broken models only, the GPU holds %+v", st.GPU)
	}

	// A good model loads; a broken one named after it is refused before
	// the good one is released.
	good := copyModel(t, fixture)
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"model": good}})
	ends++
	c.waitNotification("$/progress", func(p json.RawMessage) bool { return countEnds(c) >= ends })
	if last := lastEnd(c); !strings.Contains(last, `"ready"`) {
		t.Fatalf("good model: %s", last)
	}
	var g generated
	c.mustCall("nib/complete", map[string]any{"textDocument": map[string]any{"uri": docURI}, "position": pos(0, 5)}, &g)
	var ready gpuStatsJSON
	c.mustCall("nib/stats", nil, &ready)
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"model": dirs[1]}})
	expectFailed(cases[1].name+" after a good model", dirs[1], cases[1].want)
	c.mustCall("nib/stats", nil, &st)
	if st.GPU.ResidentBytes != ready.GPU.ResidentBytes || st.GPU.Adapter != ready.GPU.Adapter {
		t.Errorf("a refused model changed the GPU: %+v, before %+v", st.GPU, ready.GPU)
	}
	c.shutdown()
}

// countEnds counts the load progress ends received.
func countEnds(c *client) int {
	n := 0
	for _, p := range c.notifications("$/progress") {
		if strings.Contains(string(p), `"kind":"end"`) {
			n++
		}
	}
	return n
}

// lastEnd returns the last load progress end, unescaped.
func lastEnd(c *client) string {
	last := ""
	for _, p := range c.notifications("$/progress") {
		if strings.Contains(string(p), `"kind":"end"`) {
			last = unescape(string(p))
		}
	}
	return last
}

// unescape turns a JSON text's escaped quotes back into quotes, for
// substring checks.
func unescape(s string) string { return strings.ReplaceAll(s, `\"`, `"`) }
