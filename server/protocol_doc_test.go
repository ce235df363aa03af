package server

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestProtocolDocTables: the settings and nib/stats examples of
// PROTOCOL.md name every JSON field of the Go types behind them, and no
// field those types lack. They drifted once (debounceMs documented and
// never read; the cache sizes read and not documented).
func TestProtocolDocTables(t *testing.T) {
	doc, err := os.ReadFile("../PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		section string
		typ     reflect.Type
		// mapKeys are the documented keys of a map field, not fields.
		mapKeys []string
	}{
		{"## Settings", reflect.TypeFor[settings](), nil},
		{"## nib/stats", reflect.TypeFor[statsResult](), []string{"pipelines", "encoder", "decoder"}},
	} {
		block, err := firstJSONBlock(string(doc), tc.section)
		if err != nil {
			t.Fatal(err)
		}
		documented := map[string]bool{}
		for _, m := range regexp.MustCompile(`"([A-Za-z0-9_]+)"\s*:`).FindAllStringSubmatch(block, -1) {
			documented[m[1]] = true
		}
		fields := map[string]bool{}
		fieldNames(tc.typ, fields)
		for name := range fields {
			if !documented[name] {
				t.Errorf("PROTOCOL.md %s does not document the field %q", tc.section, name)
			}
		}
		for name := range documented {
			if !fields[name] && !slices.Contains(tc.mapKeys, name) {
				t.Errorf("PROTOCOL.md %s documents %q, which nib does not have", tc.section, name)
			}
		}
	}
}

// firstJSONBlock returns the first ```json block after the heading.
func firstJSONBlock(doc, heading string) (string, error) {
	_, rest, ok := strings.Cut(doc, "\n"+heading+"\n")
	if !ok {
		return "", os.ErrNotExist
	}
	_, rest, ok = strings.Cut(rest, "```json\n")
	if !ok {
		return "", os.ErrNotExist
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		return "", os.ErrNotExist
	}
	return block, nil
}

// fieldNames collects the JSON names of t's fields, nested ones too.
func fieldNames(t reflect.Type, out map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for name, f := range wireFields(t) {
		out[name] = true
		fieldNames(f.typ, out)
	}
}
