package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxDepth bounds JSON nesting; no DNT-D document nests deeper than 5.
const maxDepth = 32

// jsonObject keeps member order so that the first error reported is the
// first one in the document.
type jsonObject struct {
	keys []string
	vals map[string]any
}

// decodeStrict parses b into v the way every DNT-D parser must: valid UTF-8,
// one JSON value and nothing after it, no duplicate members, member names
// matched case-sensitively against v's json tags, JSON types matching Go
// types, times in canonical RFC 3339 UTC form. It does not run the validator.
func decodeStrict(b []byte, limit int, v any) error {
	if len(b) > limit {
		return pathErr("", ErrTooLarge, fmt.Sprintf("document is %d bytes, limit is %d", len(b), limit))
	}
	if !utf8.Valid(b) {
		return pathErr("", ErrMalformed, "document is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tree, err := readValue(dec, "", 0)
	if err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return pathErr("", ErrMalformed, "trailing data after the JSON document")
	}
	if err := checkShape(tree, reflect.TypeOf(v).Elem(), ""); err != nil {
		return err
	}
	dec = json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// checkShape accepts only what Decode accepts; keep a path-less
		// error as a safety net rather than panicking.
		return pathErr("", ErrMalformed, err.Error())
	}
	return nil
}

func syntaxErr(err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return pathErr("", ErrMalformed, "unexpected end of JSON")
	}
	return pathErr("", ErrMalformed, strings.TrimPrefix(err.Error(), "json: "))
}

func readValue(dec *json.Decoder, path string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, pathErr(path, ErrMalformed, "nesting too deep")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxErr(err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := &jsonObject{vals: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, syntaxErr(err)
				}
				key, ok := kt.(string)
				if !ok {
					return nil, pathErr(path, ErrMalformed, "object key is not a string")
				}
				sub := joinPath(path, key)
				if _, dup := obj.vals[key]; dup {
					return nil, pathErr(sub, ErrMalformed, "duplicate member")
				}
				val, err := readValue(dec, sub, depth+1)
				if err != nil {
					return nil, err
				}
				obj.keys = append(obj.keys, key)
				obj.vals[key] = val
			}
			if _, err := dec.Token(); err != nil {
				return nil, syntaxErr(err)
			}
			return obj, nil
		case '[':
			var arr []any
			for dec.More() {
				val, err := readValue(dec, fmt.Sprintf("%s[%d]", path, len(arr)), depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, val)
			}
			if _, err := dec.Token(); err != nil {
				return nil, syntaxErr(err)
			}
			if arr == nil {
				arr = []any{}
			}
			return arr, nil
		}
		return nil, pathErr(path, ErrMalformed, "unexpected "+t.String())
	default:
		return tok, nil
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var timeType = reflect.TypeOf(time.Time{})

// jsonFields maps exact json member names of struct type t to field indexes.
func jsonFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = i
	}
	return m
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case *jsonObject:
		return "an object"
	}
	return "a value"
}

func typeErr(path, want string, v any) error {
	return pathErr(path, ErrInvalidValue, "must be "+want+", not "+describe(v))
}

// checkShape walks the parsed tree against Go type t.
func checkShape(v any, t reflect.Type, path string) error {
	if t.Kind() == reflect.Pointer {
		return checkShape(v, t.Elem(), path)
	}
	if t == timeType {
		s, ok := v.(string)
		if !ok {
			return typeErr(path, "an RFC 3339 time string", v)
		}
		if _, err := parseTime(s); err != nil {
			return pathErr(path, ErrInvalidValue, err.Error())
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(*jsonObject)
		if !ok {
			return typeErr(path, "an object", v)
		}
		fields := jsonFields(t)
		for _, k := range obj.keys {
			sub := joinPath(path, k)
			i, ok := fields[k]
			if !ok {
				for name := range fields {
					if strings.EqualFold(name, k) {
						return pathErr(sub, ErrUnknownField, fmt.Sprintf("unknown member (member names are case-sensitive: %q)", name))
					}
				}
				return pathErr(sub, ErrUnknownField, "unknown member")
			}
			if err := checkShape(obj.vals[k], t.Field(i).Type, sub); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if v == nil {
			return nil // Go encodes an empty optional list as null
		}
		arr, ok := v.([]any)
		if !ok {
			return typeErr(path, "an array", v)
		}
		for i, e := range arr {
			if err := checkShape(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		obj, ok := v.(*jsonObject)
		if !ok {
			return typeErr(path, "an object", v)
		}
		for _, k := range obj.keys {
			if err := checkShape(obj.vals[k], t.Elem(), joinPath(path, k)); err != nil {
				return err
			}
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			return typeErr(path, "a string", v)
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return typeErr(path, "a boolean", v)
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, ok := v.(json.Number)
		if !ok {
			return typeErr(path, "an integer", v)
		}
		if _, err := strconv.ParseInt(string(n), 10, t.Bits()); err != nil {
			return pathErr(path, ErrInvalidValue, "must be an integer")
		}
	case reflect.Interface:
		// free-form data; any JSON value
	default:
		return pathErr(path, ErrInvalidValue, "unsupported type "+t.String())
	}
	return nil
}

// parseTime accepts only the canonical form this protocol signs: RFC 3339 in
// UTC with a literal "Z" and whole seconds, e.g. "2026-11-24T13:00:00Z".
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || t.UTC().Format(time.RFC3339) != s {
		return time.Time{}, errors.New(`must be an RFC 3339 UTC time with whole seconds, like "2026-11-24T13:00:00Z"`)
	}
	return t, nil
}
