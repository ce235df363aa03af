package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// checkJSON checks that data fits the Go type t the way the wire
// protocol reads it, before encoding/json decodes it, which is more
// forgiving than LSP clients may rely on:
//   - names match exactly: encoding/json would take "TEXTDOCUMENT" for
//     "textDocument". A member whose name differs from a field's only in
//     case is refused, naming both; other unknown members are ignored, as
//     LSP allows for forward compatibility.
//   - a field tagged `nib:"required"` must be present and not null:
//     encoding/json would leave a missing position at 0:0.
//   - a value of the wrong type is named by its wire path ("n",
//     "position.line"), where encoding/json names the Go path
//     ("sampling.n").
//
// path is the wire path of data, "" at the top.
func checkJSON(path string, data json.RawMessage, t reflect.Type) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil
	}
	isNull := string(data) == "null"
	for t.Kind() == reflect.Pointer {
		if isNull {
			return nil
		}
		t = t.Elem()
	}
	if isNull || t == rawMessageType || t.Kind() == reflect.Interface ||
		reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	kind := jsonKind(data[0])
	switch t.Kind() {
	case reflect.Struct:
		if kind != "object" {
			return mismatch(path, kind, "an object")
		}
		return checkObject(path, data, t)
	case reflect.Slice, reflect.Array:
		if kind != "array" {
			return mismatch(path, kind, "an array")
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(data, &elems); err != nil {
			return fmt.Errorf("field %q: %v", wirePath(path), err)
		}
		for _, e := range elems {
			// Paths leave out the index, as encoding/json's do.
			if err := checkJSON(path, e, t.Elem()); err != nil {
				return err
			}
		}
	case reflect.Map:
		if kind != "object" {
			return mismatch(path, kind, "an object")
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(data, &members); err != nil {
			return fmt.Errorf("field %q: %v", wirePath(path), err)
		}
		for k, v := range members {
			if err := checkJSON(join(path, k), v, t.Elem()); err != nil {
				return err
			}
		}
	case reflect.String:
		if kind != "string" {
			return mismatch(path, kind, "a string")
		}
	case reflect.Bool:
		if kind != "boolean" {
			return mismatch(path, kind, "a boolean")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if kind != "number" {
			return mismatch(path, kind, "an integer")
		}
		if _, err := strconv.ParseInt(string(data), 10, t.Bits()); err != nil {
			return fmt.Errorf("field %q: %s is not an integer of %d bits", wirePath(path), clip(string(data)), t.Bits())
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if kind != "number" {
			return mismatch(path, kind, "an integer")
		}
		if _, err := strconv.ParseUint(string(data), 10, t.Bits()); err != nil {
			return fmt.Errorf("field %q: %s is not an unsigned integer of %d bits", wirePath(path), clip(string(data)), t.Bits())
		}
	case reflect.Float32, reflect.Float64:
		if kind != "number" {
			return mismatch(path, kind, "a number")
		}
	}
	return nil
}

// checkObject checks an object's members against the fields of struct t.
func checkObject(path string, data json.RawMessage, t reflect.Type) error {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return fmt.Errorf("field %q: %v", wirePath(path), err)
	}
	fields := wireFields(t)
	for name, v := range members {
		f, ok := fields[name]
		if !ok {
			for known := range fields {
				if strings.EqualFold(known, name) {
					return fmt.Errorf("field %q is unknown: names are case-sensitive, and this one is %q", join(path, name), known)
				}
			}
			continue
		}
		if err := checkJSON(join(path, name), v, f.typ); err != nil {
			return err
		}
	}
	for name, f := range fields {
		if !f.required {
			continue
		}
		v, ok := members[name]
		switch {
		case !ok:
			return fmt.Errorf("field %q is missing", join(path, name))
		case string(bytes.TrimSpace(v)) == "null":
			return fmt.Errorf("field %q is null", join(path, name))
		}
	}
	return nil
}

// wireField is a struct field as JSON names it.
type wireField struct {
	typ      reflect.Type
	required bool
}

// wireFields lists the JSON members of struct t by name, with the fields
// of embedded structs promoted as encoding/json promotes them.
func wireFields(t reflect.Type) map[string]wireField {
	out := map[string]wireField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for k, v := range wireFields(et) {
					if _, shadowed := out[k]; !shadowed {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = wireField{typ: f.Type, required: f.Tag.Get("nib") == "required"}
	}
	return out
}

var (
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// jsonKind names the kind of JSON value that starts with c.
func jsonKind(c byte) string {
	switch {
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == '"':
		return "string"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	}
	return "number"
}

func mismatch(path, kind, want string) error {
	return fmt.Errorf("field %q: %s is not %s", wirePath(path), kind, want)
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// wirePath names the top level "params".
func wirePath(path string) string {
	if path == "" {
		return "params"
	}
	return path
}
