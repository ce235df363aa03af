package kernels

import (
	"embed"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/template"
)

//go:embed *.wgsl
var sources embed.FS

// Access says how a kernel uses one of its storage buffers.
type Access uint8

const (
	// Read is a var<storage, read> binding.
	Read Access = iota
	// ReadWrite is a var<storage, read_write> binding.
	ReadWrite
)

// Kernel describes one WGSL compute kernel: its source file, entry point and
// storage bindings. Binding 0 is always the uniform parameter block; Buffers
// are bindings 1..len(Buffers).
type Kernel struct {
	// Name identifies the kernel in pipeline cache keys and logs.
	Name string
	// File is the .wgsl template in this package.
	File string
	// Entry is the compute entry point.
	Entry string
	// Buffers lists the storage bindings after the parameter block.
	Buffers []Access
	// Defaults fills defines that a caller leaves out.
	Defaults Defines

	tmpl *template.Template
}

// Defines specialise a kernel: the template data of its .wgsl file. Values
// are numbers or short identifiers such as "f16".
type Defines map[string]any

var registry = map[string]*Kernel{}

// lib holds shared template definitions (weight loaders) available to
// every kernel as {{template "name" .}}.
const lib = "lib.wgsl"

// register parses k's template at package initialisation. The sources are
// embedded, so a parse error is a bug in this package, caught by its tests.
func register(k *Kernel) *Kernel {
	if _, dup := registry[k.Name]; dup {
		panic("kernels: duplicate kernel " + k.Name)
	}
	if k.Entry == "" {
		k.Entry = "main"
	}
	t := template.New(k.File).Option("missingkey=error").Funcs(template.FuncMap{"dict": dict})
	t = template.Must(t.ParseFS(sources, lib))
	t = template.Must(t.ParseFS(sources, k.File))
	k.tmpl = t
	registry[k.Name] = k
	return k
}

// dict makes a template's argument of several named values: {{template
// "t" (dict "A" 1 "B" .X)}} (pairs of a name and a value).
func dict(pairs ...any) (map[string]any, error) {
	if len(pairs)%2 != 0 {
		return nil, fmt.Errorf("dict: %d arguments, not pairs", len(pairs))
	}
	m := make(map[string]any, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		name, ok := pairs[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: argument %d is not a name", i)
		}
		m[name] = pairs[i+1]
	}
	return m, nil
}

// All returns every registered kernel, sorted by name.
func All() []*Kernel {
	out := make([]*Kernel, 0, len(registry))
	for _, k := range registry {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// merged returns d over k's defaults.
func (k *Kernel) merged(d Defines) Defines {
	m := make(Defines, len(k.Defaults)+len(d))
	for name, v := range k.Defaults {
		m[name] = v
	}
	for name, v := range d {
		m[name] = v
	}
	return m
}

// Key names the specialisation of k by d, for example
// "matvec/M=1/W=f16/WG=256". Equal keys mean identical WGSL. It runs for
// every dispatch that is not in a plan, so it avoids fmt and maps.
func (k *Kernel) Key(d Defines) string {
	var buf [24]string
	names := buf[:0]
	for name := range k.Defaults {
		names = append(names, name)
	}
	for name := range d {
		if _, ok := k.Defaults[name]; !ok {
			names = append(names, name)
		}
	}
	// Insertion sort: a handful of names.
	for i := 1; i < len(names); i++ {
		for j := i; j > 0 && names[j] < names[j-1]; j-- {
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
	b := make([]byte, 0, 96)
	b = append(b, k.Name...)
	for _, name := range names {
		v, ok := d[name]
		if !ok {
			v = k.Defaults[name]
		}
		b = append(b, '/')
		b = append(b, name...)
		b = append(b, '=')
		switch v := v.(type) {
		case int:
			b = strconv.AppendInt(b, int64(v), 10)
		case bool:
			b = strconv.AppendBool(b, v)
		case string:
			b = append(b, v...)
		default:
			b = fmt.Append(b, v)
		}
	}
	return string(b)
}

// Source renders k's WGSL specialised by d.
func (k *Kernel) Source(d Defines) (string, error) {
	var sb strings.Builder
	if err := k.tmpl.ExecuteTemplate(&sb, k.File, k.merged(d)); err != nil {
		return "", fmt.Errorf("kernels: specialise %s: %w", k.Key(d), err)
	}
	return sb.String(), nil
}
