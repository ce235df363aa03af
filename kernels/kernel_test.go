package kernels

import (
	"io/fs"
	"strings"
	"testing"
)

// TestEveryFileIsAKernel checks that each embedded .wgsl file (but the
// shared lib.wgsl) belongs to a registered kernel and each kernel's file
// exists, so no kernel source is dead and none is missing.
func TestEveryFileIsAKernel(t *testing.T) {
	files, err := fs.Glob(sources, "*.wgsl")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, k := range All() {
		used[k.File] = true
		if _, err := fs.Stat(sources, k.File); err != nil {
			t.Errorf("kernel %s: %v", k.Name, err)
		}
	}
	for _, f := range files {
		if f != lib && !used[f] {
			t.Errorf("%s is embedded but no kernel uses it", f)
		}
	}
}

// required holds the defines a kernel has no default for.
var required = map[string]Defines{
	"unary":  {"OP": "relu"},
	"binary": {"OP": "add"},
}

// TestDefaultsRender renders every kernel with its defaults and checks the
// result is plain WGSL: no template text left, an entry point, and the
// parameter block at binding 0.
func TestDefaultsRender(t *testing.T) {
	for _, k := range All() {
		src, err := k.Source(required[k.Name])
		if err != nil {
			t.Errorf("%s: %v", k.Name, err)
			continue
		}
		for _, want := range []string{"@compute", "fn " + k.Entry + "(", "@binding(0) var<uniform>"} {
			if !strings.Contains(src, want) {
				t.Errorf("%s: rendered source lacks %q", k.Name, want)
			}
		}
		if strings.Contains(src, "{{") || strings.Contains(src, "}}") {
			t.Errorf("%s: template text left in rendered source", k.Name)
		}
	}
}

func TestKeyIsCanonical(t *testing.T) {
	// A define left at its default and one given as the default are one
	// specialisation, whatever the order.
	a := MatMul.Key(Defines{"W": "f16"})
	b := MatMul.Key(Defines{"VEC": false, "W": "f16"})
	if a != b {
		t.Errorf("equal specialisations have keys %q and %q", a, b)
	}
	if a == MatMul.Key(Defines{"W": "f16", "VEC": true}) {
		t.Errorf("different specialisations share key %q", a)
	}
	if want := "matmul/VEC=false/W=f16"; a != want {
		t.Errorf("key %q, want %q", a, want)
	}
}

func TestMissingDefineIsAnError(t *testing.T) {
	if _, err := Unary.Source(Defines{"WG": 64}); err == nil {
		t.Error("unary rendered without its OP define")
	}
}
