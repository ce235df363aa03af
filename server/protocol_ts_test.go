package server

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// The TypeScript types of the editor extension's settings and nib/stats
// are generated from the Go types that read and write them on the wire:
// `go generate ./server` rewrites the generated part of protocol.ts, and
// TestProtocolTypeScript fails when the committed file differs from a
// fresh generation, so that a field added in Go cannot be missing in
// TypeScript (or the other way round).

var update = flag.Bool("update", false, "rewrite the generated part of "+protocolTS)

// protocolTS is the editor extension's copy of the protocol.
const protocolTS = "../editor-extension/src/protocol.ts"

const (
	tsBegin = "// ---- generated from the Go types of server/ by `go generate ./server`: do not edit ----\n"
	tsEnd   = "// ---- end of the generated types ----\n"
)

// tsRoot is one type generated with all it refers to.
type tsRoot struct {
	t reflect.Type
	// partial makes every field optional: settings are sent in part, the
	// daemon keeping the rest.
	partial bool
}

// tsNames names the generated interfaces.
var tsNames = map[reflect.Type]string{
	reflect.TypeFor[settings]():         "NibSettings",
	reflect.TypeFor[completeSettings](): "NibCompleteSettings",
	reflect.TypeFor[rewriteSettings]():  "NibRewriteSettings",
	reflect.TypeFor[checkSettings]():    "NibCheckSettings",
	reflect.TypeFor[checkStats]():       "NibCheckStats",
	reflect.TypeFor[templates]():        "NibTemplates",
	reflect.TypeFor[instruction]():      "NibInstruction",
	reflect.TypeFor[statsResult]():      "NibStats",
	reflect.TypeFor[modelStats]():       "NibModelStats",
	reflect.TypeFor[gpuStats]():         "NibGPUStats",
	reflect.TypeFor[cacheStats]():       "CacheCounters",
	reflect.TypeFor[requestCounts]():    "NibRequestCounts",
	reflect.TypeFor[recentRequest]():    "NibRecentRequest",
	reflect.TypeFor[processStats]():     "NibProcessStats",
}

// tsFieldTypes are the TypeScript types of Go strings that take only some
// values, and of the one map whose keys are known.
var tsFieldTypes = map[string]string{
	"rewriteSettings.Strategy": "DecodeStrategy",
	"modelStats.State":         "ModelState",
	"recentRequest.Cached":     "CacheUse",
	"statsResult.Caches":       "{ pipelines?: CacheCounters; encoder?: CacheCounters; decoder?: CacheCounters; [name: string]: CacheCounters | undefined }",
}

// generateTS returns the generated part of protocol.ts, markers included.
func generateTS(docs map[string]string) (string, error) {
	var b strings.Builder
	b.WriteString(tsBegin)
	done := map[reflect.Type]bool{}
	var emit func(t reflect.Type, partial bool) error
	emit = func(t reflect.Type, partial bool) error {
		if done[t] {
			return nil
		}
		done[t] = true
		name, ok := tsNames[t]
		if !ok {
			return fmt.Errorf("%s has no TypeScript name (tsNames)", t)
		}
		var nested []tsRoot
		b.WriteString("\n")
		writeDoc(&b, "", renameWord(docs[t.Name()], t.Name(), name))
		fmt.Fprintf(&b, "export interface %s {\n", name)
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			jsonName, opts, _ := strings.Cut(tag, ",")
			if !f.IsExported() || jsonName == "-" {
				continue
			}
			if jsonName == "" {
				jsonName = f.Name
			}
			ts, ok := tsFieldTypes[t.Name()+"."+f.Name]
			if !ok {
				var err error
				if ts, err = tsType(f.Type, partial, &nested); err != nil {
					return fmt.Errorf("%s.%s: %w", t.Name(), f.Name, err)
				}
			}
			optional := ""
			if partial || strings.Contains(","+opts+",", ",omitempty,") {
				optional = "?"
			}
			doc := docs[t.Name()+"."+f.Name]
			for k := range t.NumField() {
				if g := t.Field(k); g.IsExported() {
					jn, _, _ := strings.Cut(g.Tag.Get("json"), ",")
					doc = renameWord(doc, g.Name, jn)
				}
			}
			writeDoc(&b, "  ", doc)
			fmt.Fprintf(&b, "  %s%s: %s;\n", jsonName, optional, ts)
		}
		b.WriteString("}\n")
		for _, n := range nested {
			if err := emit(n.t, n.partial); err != nil {
				return err
			}
		}
		return nil
	}
	// cacheStats is reached through tsFieldTypes only.
	roots := []tsRoot{{reflect.TypeFor[settings](), true}, {reflect.TypeFor[statsResult](), false}, {reflect.TypeFor[cacheStats](), false}}
	for _, r := range roots {
		if err := emit(r.t, r.partial); err != nil {
			return "", err
		}
	}
	b.WriteString("\n" + tsEnd)
	return b.String(), nil
}

// tsType is the TypeScript type of a Go type, noting the structs it
// refers to in nested. A struct in a partial one is partial too; the
// elements of a list are whole, the list being replaced whole.
func tsType(t reflect.Type, partial bool, nested *[]tsRoot) (string, error) {
	switch t.Kind() {
	case reflect.String:
		return "string", nil
	case reflect.Bool:
		return "boolean", nil
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "number", nil
	case reflect.Slice:
		el, err := tsType(t.Elem(), false, nested)
		return el + "[]", err
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return "", fmt.Errorf("map key %s: JSON keys are strings", t.Key())
		}
		el, err := tsType(t.Elem(), false, nested)
		return "Record<string, " + el + ">", err
	case reflect.Struct:
		name, ok := tsNames[t]
		if !ok {
			return "", fmt.Errorf("%s has no TypeScript name (tsNames)", t)
		}
		*nested = append(*nested, tsRoot{t, partial})
		return name, nil
	}
	return "", fmt.Errorf("no TypeScript type for %s", t)
}

// renameWord replaces the Go name old, as a word, by its TypeScript name.
func renameWord(doc, old, new string) string {
	if old == "" || new == "" || old == new {
		return doc
	}
	return regexp.MustCompile(`\b`+regexp.QuoteMeta(old)+`\b`).ReplaceAllString(doc, new)
}

// writeDoc writes doc as a JSDoc comment.
func writeDoc(b *strings.Builder, indent, doc string) {
	doc = strings.TrimSpace(doc)
	if doc == "" {
		return
	}
	lines := strings.Split(doc, "\n")
	if len(lines) == 1 {
		fmt.Fprintf(b, "%s/** %s */\n", indent, lines[0])
		return
	}
	fmt.Fprintf(b, "%s/**\n", indent)
	for _, l := range lines {
		fmt.Fprintf(b, "%s * %s\n", indent, l)
	}
	fmt.Fprintf(b, "%s */\n", indent)
}

// goDocs reads the doc comments of the package's types and struct fields,
// keyed "type" and "type.Field".
func goDocs() (map[string]string, error) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		return nil, err
	}
	docs := map[string]string{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, e.Name(), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		{
			for _, decl := range file.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.TYPE {
					continue
				}
				for _, spec := range gd.Specs {
					ts := spec.(*ast.TypeSpec)
					doc := ts.Doc
					if doc == nil && len(gd.Specs) == 1 {
						doc = gd.Doc
					}
					docs[ts.Name.Name] = doc.Text()
					st, ok := ts.Type.(*ast.StructType)
					if !ok {
						continue
					}
					for _, f := range st.Fields.List {
						for _, n := range f.Names {
							docs[ts.Name.Name+"."+n.Name] = f.Doc.Text()
						}
					}
				}
			}
		}
	}
	return docs, nil
}

// TestProtocolTypeScript fails when protocol.ts's generated part is not
// what the Go types give now. Run `go generate ./server` to update it.
func TestProtocolTypeScript(t *testing.T) {
	docs, err := goDocs()
	if err != nil {
		t.Fatal(err)
	}
	want, err := generateTS(docs)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(protocolTS)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i, j := strings.Index(text, tsBegin), strings.Index(text, tsEnd)
	if i < 0 || j < i {
		t.Fatalf("%s: no generated part (from %q to %q)", protocolTS, tsBegin, tsEnd)
	}
	got := text[i : j+len(tsEnd)]
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(protocolTS, []byte(text[:i]+want+text[j+len(tsEnd):]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s differs from the Go types (run go generate ./server):\n%s", protocolTS, lineDiff(got, want))
}

// lineDiff lists the lines of got missing from want (-) and of want
// missing from got (+).
func lineDiff(got, want string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	g, w := in(got), in(want)
	var b strings.Builder
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	return b.String()
}
