// Package archtest checks that nib's imports point the way the README says:
// the layers and the imports each may make are written once here, once in
// the README's table, and the tests fail when either disagrees with
// `go list` or with the other.
package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// module is nib's module path; layer names below are relative to it.
const module = "github.com/nib-editor/nib"

// allowed maps each layer to the layers its packages may import. A
// package belongs to the layer that is the longest prefix of its path
// (model/tokenizer is in model), and imports within a layer are free.
// Only the packages' own imports count: a test may open a device or build
// a model from any layer below its own.
var allowed = map[string][]string{
	"kernels":       nil,
	"gpu":           {"kernels"},
	"model":         {"gpu", "kernels"},
	"cache":         nil,
	"completion":    {"model", "cache"},
	"internal/load": {"model", "gpu"},
	"server":        {"completion", "internal/load", "model", "gpu", "cache"},
	"cmd/lsp":       {"server", "completion", "internal/load", "model", "gpu", "cache"},
}

// pkg is the part of `go list -json` output the check reads.
type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	Imports    []string
	Module     *struct{ Path string }
}

// layerOf returns the layer of a package path relative to the module, or
// "" when no layer contains it.
func layerOf(rel string) string {
	best := ""
	for l := range allowed {
		if (rel == l || strings.HasPrefix(rel, l+"/")) && len(l) > len(best) {
			best = l
		}
	}
	return best
}

// violations lists every import of nib's packages against allowed, and
// every package that is in no layer, one sentence each.
func violations(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		if p.Module == nil || p.Module.Path != module || len(p.GoFiles)+len(p.CgoFiles) == 0 {
			// Another module's, or test files only: nothing can import it.
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		from := layerOf(rel)
		if from == "" {
			out = append(out, fmt.Sprintf("%s is in no layer: add it (or the folder above it) to allowed in internal/archtest and to the README's table", rel))
			continue
		}
		for _, imp := range p.Imports {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			irel := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			to := layerOf(irel)
			if to == from || slices.Contains(allowed[from], to) {
				continue
			}
			if to == "" {
				to = "no layer"
			}
			out = append(out, fmt.Sprintf("%s (layer %s) imports %s (layer %s); %s may import only %v",
				rel, from, irel, to, from, allowed[from]))
		}
	}
	sort.Strings(out)
	return out
}

// moduleRoot is the folder of nib's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatal("go env GOMOD: not inside a module")
	}
	return filepath.Dir(gomod)
}

// goList returns every package of the module and its dependencies, as
// `go list -deps -json ./...` describes them.
func goList(t *testing.T, root string) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps -json ./... in %s: %v\n%s", root, err, stderr.Bytes())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestImportsFollowLayers fails on any import of a nib package against
// allowed, and on a package that no layer contains.
func TestImportsFollowLayers(t *testing.T) {
	pkgs := goList(t, moduleRoot(t))
	ours := 0
	for _, p := range pkgs {
		if p.Module != nil && p.Module.Path == module {
			ours++
		}
	}
	// Every layer has packages; far fewer would mean the listing broke.
	if ours < len(allowed) {
		t.Fatalf("go list found %d of nib's packages, want at least %d", ours, len(allowed))
	}
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
}

// TestViolationsCatchesBadImports feeds the check the imports it must
// refuse, so that a broken check cannot pass the real tree vacuously.
func TestViolationsCatchesBadImports(t *testing.T) {
	// mk describes package rel importing the nib packages imports, and
	// fmt, which as another module's package is never a violation.
	mk := func(rel string, imports ...string) pkg {
		p := pkg{ImportPath: module + "/" + rel, GoFiles: []string{"x.go"}, Imports: []string{"fmt"}, Module: &struct{ Path string }{module}}
		for _, i := range imports {
			p.Imports = append(p.Imports, module+"/"+i)
		}
		return p
	}
	good := []pkg{
		mk("kernels"),
		mk("gpu", "kernels", "gpu/internal/native"),
		mk("gpu/internal/native"),
		mk("model", "gpu", "kernels", "model/safetensors"),
		mk("model/tokenizer", "model/internal/modelfile"),
		mk("cache"),
		mk("completion", "model", "model/tokenizer", "cache"),
		mk("cmd/lsp", "completion", "model", "gpu", "cache", "cmd/lsp/internal/textdoc"),
		{ImportPath: module + "/tests", Module: &struct{ Path string }{module}}, // test files only
		{ImportPath: "go.uber.org/zap", GoFiles: []string{"x.go"}, Imports: []string{module + "/gpu"}},
	}
	if v := violations(good); len(v) != 0 {
		t.Fatalf("the stated layering was refused: %q", v)
	}
	for _, tc := range []struct {
		p    pkg
		want string
	}{
		{mk("cache", "gpu"), "cache (layer cache) imports gpu (layer gpu)"},
		{mk("completion", "gpu"), "completion (layer completion) imports gpu (layer gpu)"},
		{mk("gpu", "model"), "gpu (layer gpu) imports model (layer model)"},
		{mk("model/tokenizer", "cache"), "model/tokenizer (layer model) imports cache (layer cache)"},
		{mk("kernels", "gpu/internal/native"), "kernels (layer kernels) imports gpu/internal/native (layer gpu)"},
		{mk("cmd/lsp", "kernels"), "cmd/lsp (layer cmd/lsp) imports kernels (layer kernels)"},
		{mk("plugins", "gpu"), "plugins is in no layer"},
		{mk("cache", "plugins"), "cache (layer cache) imports plugins (layer no layer)"},
		{mk("server", "cmd/lsp"), "server (layer server) imports cmd/lsp (layer cmd/lsp)"},
	} {
		v := violations([]pkg{tc.p})
		if len(v) != 1 || !strings.Contains(v[0], tc.want) {
			t.Errorf("%s importing %v: violations %q, want one containing %q", tc.p.ImportPath, tc.p.Imports, v, tc.want)
		}
	}
}

// readmeRow is a row of the README's layer table: "| `model` | `gpu`, `kernels` |".
var readmeRow = regexp.MustCompile("^\\| `([^`]+)` \\|(.*)\\|$")

// TestReadmeStatesLayers parses the README's table of layers (the rows
// after the header "| layer | may import |") and fails unless it states
// exactly allowed.
func TestReadmeStatesLayers(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(moduleRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	start := slices.Index(lines, "| layer | may import |")
	if start < 0 {
		t.Fatal(`README.md has no table with the header "| layer | may import |"`)
	}
	stated := map[string][]string{}
	for i := start + 2; i < len(lines) && strings.HasPrefix(lines[i], "|"); i++ {
		m := readmeRow.FindStringSubmatch(lines[i])
		if m == nil {
			t.Fatalf("README.md:%d: %q is not a row \"| `layer` | `layer`, ... |\"", i+1, lines[i])
		}
		if _, dup := stated[m[1]]; dup {
			t.Fatalf("README.md:%d: layer %s stated twice", i+1, m[1])
		}
		imports := []string{}
		for _, f := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(m[2], -1) {
			imports = append(imports, f[1])
		}
		stated[m[1]] = imports
	}
	for l, want := range allowed {
		got, ok := stated[l]
		if !ok {
			t.Errorf("README.md's table lacks layer %s (may import %v)", l, want)
			continue
		}
		if !slices.Equal(sorted(got), sorted(want)) {
			t.Errorf("README.md says %s may import %v; internal/archtest allows %v", l, got, want)
		}
	}
	for l := range stated {
		if _, ok := allowed[l]; !ok {
			t.Errorf("README.md's table states layer %s, which internal/archtest does not know", l)
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
