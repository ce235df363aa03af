package safetensors

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// maxHeader is the largest header accepted, as in the reference
// implementation: real headers are kilobytes, so a larger length means a
// corrupt or hostile file, and refusing it bounds the memory parsing takes.
const maxHeader = 100_000_000

// metadataKey is the header key holding the file's string metadata.
const metadataKey = "__metadata__"

// entry is one tensor as the header describes it, after validation: begin
// and end are offsets into the data section with end-begin the exact byte
// length of the shape.
type entry struct {
	name       string
	dtype      DType
	shape      []int
	begin, end int
}

// parseHeader parses and validates the JSON header of a file whose data
// section is dataLen bytes. Its errors name the tensor at fault but not the
// file, which the caller adds.
func parseHeader(header []byte, dataLen int) ([]entry, map[string]string, error) {
	if !utf8.Valid(header) {
		return nil, nil, errors.New("header is not valid UTF-8")
	}
	if first := bytes.TrimLeft(header, " \t\r\n"); len(first) == 0 || first[0] != '{' {
		return nil, nil, errors.New("header is not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	var (
		entries  []entry
		metadata map[string]string
	)
	err := object(dec, tensorNoun, func(key string) error {
		if key == metadataKey {
			m, err := stringMap(dec)
			if err != nil {
				return fmt.Errorf("%s: %w", metadataKey, err)
			}
			metadata = m
			return nil
		}
		e, err := tensorInfo(dec, key, dataLen)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", key, err)
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("header: data after the JSON object (only space padding may follow it)")
	}
	if err := checkOverlap(entries); err != nil {
		return nil, nil, err
	}
	slices.SortFunc(entries, func(a, b entry) int { return cmp.Compare(a.name, b.name) })
	return entries, metadata, nil
}

// checkOverlap returns an error naming two tensors whose bytes overlap.
// Empty tensors occupy no bytes and overlap nothing.
func checkOverlap(entries []entry) error {
	byOffset := make([]entry, 0, len(entries))
	for _, e := range entries {
		if e.end > e.begin {
			byOffset = append(byOffset, e)
		}
	}
	slices.SortFunc(byOffset, func(a, b entry) int { return cmp.Compare(a.begin, b.begin) })
	for i := 1; i < len(byOffset); i++ {
		if p, e := byOffset[i-1], byOffset[i]; e.begin < p.end {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap those of tensor %q [%d, %d]",
				e.name, e.begin, e.end, p.name, p.begin, p.end)
		}
	}
	return nil
}

// jsonError describes a decoder error; a header cut short reads as such
// rather than as a bare EOF.
func jsonError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("invalid JSON: it ends early")
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// object reads a JSON object from dec, calling field with each key; field
// must consume the value. A repeated key is an error: encoding/json would
// silently keep the last one, and a header must not say two things. The
// error calls the key what noun returns for it.
func object(dec *json.Decoder, noun func(key string) string, field func(key string) error) error {
	tok, err := dec.Token()
	if err != nil {
		return jsonError(err)
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("want a JSON object, found %s", describe(tok))
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonError(err)
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("want an object key, found %s", describe(tok))
		}
		if seen[key] {
			return fmt.Errorf("%s %q appears twice", noun(key), key)
		}
		seen[key] = true
		if err := field(key); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return jsonError(err)
	}
	return nil
}

// Nouns for the keys of a header, of its metadata and of a tensor's entry.
func tensorNoun(key string) string {
	if key == metadataKey {
		return "key"
	}
	return "tensor"
}
func keyNoun(string) string   { return "key" }
func fieldNoun(string) string { return "field" }

// describe names a JSON token for an error message.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		if v == '{' {
			return "an object"
		}
		return fmt.Sprintf("%q", string(v))
	case string:
		return fmt.Sprintf("the string %q", v)
	case json.Number:
		return "the number " + string(v)
	case bool:
		return fmt.Sprintf("%v", v)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

// stringMap reads an object of strings (or null, as no metadata).
func stringMap(dec *json.Decoder) (map[string]string, error) {
	if !dec.More() {
		return nil, errors.New("missing value")
	}
	m := map[string]string{}
	// A null is accepted as the reference implementation does for an
	// absent optional map; peek by decoding a raw value.
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, jsonError(err)
	}
	if string(raw) == "null" {
		return nil, nil
	}
	sub := json.NewDecoder(bytes.NewReader(raw))
	sub.UseNumber()
	err := object(sub, keyNoun, func(key string) error {
		tok, err := sub.Token()
		if err != nil {
			return jsonError(err)
		}
		s, ok := tok.(string)
		if !ok {
			return fmt.Errorf("key %q: want a string value, found %s", key, describe(tok))
		}
		m[key] = s
		return nil
	})
	return m, err
}

// tensorInfo reads one tensor's {"dtype", "shape", "data_offsets"} and
// checks it against itself and against a data section of dataLen bytes.
func tensorInfo(dec *json.Decoder, name string, dataLen int) (entry, error) {
	e := entry{name: name}
	var haveDType, haveShape, haveOffsets bool
	var offsets []int64
	err := object(dec, fieldNoun, func(key string) error {
		switch key {
		case "dtype":
			tok, err := dec.Token()
			if err != nil {
				return jsonError(err)
			}
			s, ok := tok.(string)
			if !ok {
				return fmt.Errorf("dtype: want a string, found %s", describe(tok))
			}
			e.dtype, haveDType = DType(s), true
			if e.dtype.Size() == 0 {
				return fmt.Errorf("dtype %q is not supported", s)
			}
		case "shape":
			dims, err := intArray(dec)
			if err != nil {
				return fmt.Errorf("shape: %w", err)
			}
			e.shape, haveShape = make([]int, len(dims)), true
			for i, d := range dims {
				if d < 0 {
					return fmt.Errorf("shape %v: negative dimension %d", dims, d)
				}
				if d > math.MaxInt {
					return fmt.Errorf("shape %v: dimension %d overflows int on this platform", dims, d)
				}
				e.shape[i] = int(d)
			}
		case "data_offsets":
			o, err := intArray(dec)
			if err != nil {
				return fmt.Errorf("data_offsets: %w", err)
			}
			offsets, haveOffsets = o, true
		default:
			return fmt.Errorf("unknown field %q (want dtype, shape and data_offsets)", key)
		}
		return nil
	})
	if err != nil {
		return e, err
	}
	switch {
	case !haveDType:
		return e, errors.New("no dtype")
	case !haveShape:
		return e, errors.New("no shape")
	case !haveOffsets:
		return e, errors.New("no data_offsets")
	}
	if len(offsets) != 2 {
		return e, fmt.Errorf("data_offsets %v: want two numbers [begin, end]", offsets)
	}
	begin, end := offsets[0], offsets[1]
	switch {
	case begin < 0 || end < 0:
		return e, fmt.Errorf("data_offsets [%d, %d] are negative", begin, end)
	case begin > end:
		return e, fmt.Errorf("data_offsets [%d, %d] begin after they end", begin, end)
	case end > int64(dataLen):
		return e, fmt.Errorf("data_offsets [%d, %d] end beyond the data section of %d bytes (file truncated?)", begin, end, dataLen)
	}
	e.begin, e.end = int(begin), int(end)
	n, ok := elements(e.shape)
	size := e.dtype.Size()
	if !ok || n > math.MaxInt/size {
		return e, fmt.Errorf("shape %v: element count overflows", e.shape)
	}
	if want := n * size; e.end-e.begin != want {
		return e, fmt.Errorf("data_offsets [%d, %d] hold %d bytes; shape %v of %s needs %d",
			begin, end, end-begin, e.shape, e.dtype, want)
	}
	return e, nil
}

// intArray reads an array of integers.
func intArray(dec *json.Decoder) ([]int64, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(err)
	}
	if tok != json.Delim('[') {
		return nil, fmt.Errorf("want an array of integers, found %s", describe(tok))
	}
	out := []int64{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError(err)
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("want an integer, found %s", describe(tok))
		}
		v, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return nil, fmt.Errorf("integer %s is too large", num)
			}
			return nil, fmt.Errorf("want an integer, found %s", num)
		}
		out = append(out, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, jsonError(err)
	}
	return out, nil
}
