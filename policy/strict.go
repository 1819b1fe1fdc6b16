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
	"sync"
	"time"
	"unicode/utf8"
)

// maxDepth bounds JSON nesting; no DNT-D document nests deeper than 5.
const maxDepth = 32

// decodeStrict parses b into v the way every DNT-D parser must: valid UTF-8,
// one JSON value and nothing after it, no duplicate members, member names
// matched case-sensitively against v's json tags, JSON types matching Go
// types, lists no longer than their validate "max", times in canonical
// RFC 3339 UTC form. It does not run the validator.
//
// The first pass reads tokens against v's type and stops at the first one
// that does not fit, so what a hostile document costs is bounded by the
// shape of the message it claims to be, not by its size: a 64 KiB array
// sent where an object belongs is refused at its first byte, and a list is
// refused at the first member past its limit.
func decodeStrict(b []byte, limit int, v any) error {
	if len(b) > limit {
		return pathErr("", ErrTooLarge, fmt.Sprintf("document is %d bytes, limit is %d", len(b), limit))
	}
	if !utf8.Valid(b) {
		return pathErr("", ErrMalformed, "document is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := readShaped(dec, reflect.TypeOf(v).Elem(), "", 0, 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return pathErr("", ErrMalformed, "trailing data after the JSON document")
	}
	dec = json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// readShaped accepts only what Decode accepts; keep a path-less
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

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var timeType = reflect.TypeOf(time.Time{})

// structInfo is what readShaped needs of a struct type: its json member
// names and, per member, the most elements its list or map may hold.
type structInfo struct {
	index map[string]int // json name -> field index
	max   []int          // by field index; 0: no limit from the tag
}

var structInfos sync.Map // reflect.Type -> *structInfo

func infoOf(t reflect.Type) *structInfo {
	if si, ok := structInfos.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{index: map[string]int{}, max: make([]int, t.NumField())}
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
		si.index[name] = i
		si.max[i] = tagMax(f.Tag.Get("validate"))
	}
	structInfos.Store(t, si)
	return si
}

// tagMax returns the "max=N" a validate tag puts on a field itself (before
// any "dive", after which rules apply to the elements), or 0.
func tagMax(tag string) int {
	for _, rule := range strings.Split(tag, ",") {
		if rule == "dive" {
			break
		}
		if n, ok := strings.CutPrefix(rule, "max="); ok {
			if m, err := strconv.Atoi(n); err == nil {
				return m
			}
		}
	}
	return 0
}

func describeToken(tok json.Token) string {
	switch t := tok.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case json.Delim:
		if t == '[' {
			return "an array"
		}
		return "an object"
	}
	return "a value"
}

func typeErr(path, want string, tok json.Token) error {
	return pathErr(path, ErrInvalidValue, "must be "+want+", not "+describeToken(tok))
}

// readShaped reads one JSON value from dec and checks it against Go type t.
// maxLen bounds the elements of a list or map (0: unbounded; only lists
// without a validate max, of which the protocol has none).
func readShaped(dec *json.Decoder, t reflect.Type, path string, depth, maxLen int) error {
	if depth > maxDepth {
		return pathErr(path, ErrMalformed, "nesting too deep")
	}
	tok, err := dec.Token()
	if err != nil {
		return syntaxErr(err)
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		s, ok := tok.(string)
		if !ok {
			return typeErr(path, "an RFC 3339 time string", tok)
		}
		if _, err := parseTime(s); err != nil {
			return pathErr(path, ErrInvalidValue, err.Error())
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if tok != json.Delim('{') {
			return typeErr(path, "an object", tok)
		}
		si := infoOf(t)
		seen := make([]bool, t.NumField())
		for dec.More() {
			key, err := readKey(dec, path)
			if err != nil {
				return err
			}
			sub := joinPath(path, key)
			i, ok := si.index[key]
			if !ok {
				for name := range si.index {
					if strings.EqualFold(name, key) {
						return pathErr(sub, ErrUnknownField, fmt.Sprintf("unknown member (member names are case-sensitive: %q)", name))
					}
				}
				return pathErr(sub, ErrUnknownField, "unknown member")
			}
			if seen[i] {
				return pathErr(sub, ErrMalformed, "duplicate member")
			}
			seen[i] = true
			if err := readShaped(dec, t.Field(i).Type, sub, depth+1, si.max[i]); err != nil {
				return err
			}
		}
		return closeDelim(dec)
	case reflect.Slice:
		if tok != json.Delim('[') { // null is no list either: PROTOCOL.md section 1
			return typeErr(path, "an array", tok)
		}
		for n := 0; dec.More(); n++ {
			if maxLen > 0 && n == maxLen {
				return pathErr(path, ErrInvalidValue, fmt.Sprintf("must have at most %d items", maxLen))
			}
			if err := readShaped(dec, t.Elem(), path+"["+strconv.Itoa(n)+"]", depth+1, 0); err != nil {
				return err
			}
		}
		return closeDelim(dec)
	case reflect.Map:
		if tok != json.Delim('{') {
			return typeErr(path, "an object", tok)
		}
		seen := map[string]bool{}
		for n := 0; dec.More(); n++ {
			if maxLen > 0 && n == maxLen {
				return pathErr(path, ErrInvalidValue, fmt.Sprintf("must have at most %d items", maxLen))
			}
			key, err := readKey(dec, path)
			if err != nil {
				return err
			}
			sub := joinPath(path, key)
			if seen[key] {
				return pathErr(sub, ErrMalformed, "duplicate member")
			}
			seen[key] = true
			if err := readShaped(dec, t.Elem(), sub, depth+1, 0); err != nil {
				return err
			}
		}
		return closeDelim(dec)
	case reflect.String:
		if _, ok := tok.(string); !ok {
			return typeErr(path, "a string", tok)
		}
	case reflect.Bool:
		if _, ok := tok.(bool); !ok {
			return typeErr(path, "a boolean", tok)
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, ok := tok.(json.Number)
		if !ok {
			return typeErr(path, "an integer", tok)
		}
		if _, err := strconv.ParseInt(string(n), 10, t.Bits()); err != nil {
			return pathErr(path, ErrInvalidValue, "must be an integer")
		}
	default:
		return pathErr(path, ErrInvalidValue, "unsupported type "+t.String())
	}
	if d, ok := tok.(json.Delim); ok {
		// A scalar was wanted and a container came: refused above, so this
		// is only reached for a stray closing delimiter, which Token reports.
		return pathErr(path, ErrMalformed, "unexpected "+d.String())
	}
	return nil
}

func readKey(dec *json.Decoder, path string) (string, error) {
	kt, err := dec.Token()
	if err != nil {
		return "", syntaxErr(err)
	}
	key, ok := kt.(string)
	if !ok {
		return "", pathErr(path, ErrMalformed, "object key is not a string")
	}
	return key, nil
}

func closeDelim(dec *json.Decoder) error {
	if _, err := dec.Token(); err != nil {
		return syntaxErr(err)
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
