package policy

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-playground/validator/v10"
)

var (
	validatorOnce sync.Once
	validate      *validator.Validate
)

// Validator returns the shared validator with the DNT-D tags registered:
// retention, offerid, abspath, ed25519key, digest, origin, nonce, signature,
// utctime (a time.Time in UTC with whole seconds: the only form DNT-D signs).
// Field names in its errors are JSON member names.
func Validator() *validator.Validate {
	validatorOnce.Do(func() {
		v := validator.New(validator.WithRequiredStructEnabled())
		v.RegisterTagNameFunc(func(f reflect.StructField) string {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				return ""
			}
			if name == "" {
				return f.Name
			}
			return name
		})
		str := func(fn func(string) bool) validator.Func {
			return func(fl validator.FieldLevel) bool {
				return fl.Field().Kind() == reflect.String && fn(fl.Field().String())
			}
		}
		must := func(err error) {
			if err != nil {
				panic(err)
			}
		}
		must(v.RegisterValidation("retention", str(func(s string) bool { _, err := ParseRetention(s); return err == nil })))
		must(v.RegisterValidation("offerid", str(regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`).MatchString)))
		must(v.RegisterValidation("abspath", str(isAbsPath)))
		must(v.RegisterValidation("ed25519key", str(func(s string) bool { return isB64Len(s, ed25519.PublicKeySize) })))
		must(v.RegisterValidation("digest", str(func(s string) bool { return isB64Len(s, sha256.Size) })))
		must(v.RegisterValidation("nonce", str(func(s string) bool { return isB64Len(s, NonceSize) })))
		must(v.RegisterValidation("signature", str(func(s string) bool { return isB64Len(s, ed25519.SignatureSize) })))
		must(v.RegisterValidation("utctime", func(fl validator.FieldLevel) bool {
			t, ok := fl.Field().Interface().(time.Time)
			return ok && t.Location() == time.UTC && t.Nanosecond() == 0
		}))
		must(v.RegisterValidation("origin", str(func(s string) bool { o, err := ParseOrigin(s); return err == nil && o == s })))
		validate = v
	})
	return validate
}

// isB64Len reports whether s is canonical standard base64 (with padding) of exactly n bytes.
func isB64Len(s string, n int) bool {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == n && base64.StdEncoding.EncodeToString(b) == s
}

// isAbsPath: an absolute path on the same origin: starts with "/" (not "//"),
// no backslash, whitespace, control characters or fragment, no "." or ".."
// segments.
func isAbsPath(s string) bool {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\#") {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r > 0x7e {
			return false
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return false
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

var tagMessages = map[string]string{
	"retention":  `must be "none", "session", an ISO 8601 duration P[nY][nM][nW][nD][T[nH][nM][nS]] or "indefinite"`,
	"offerid":    "must match ^[a-z0-9][a-z0-9-]{0,63}$",
	"abspath":    `must be an absolute path on the same origin, starting with "/"`,
	"ed25519key": "must be standard base64 of a 32-byte Ed25519 public key",
	"digest":     "must be standard base64 (with padding) of a 32-byte SHA-256 digest",
	"nonce":      "must be standard base64 of 16 bytes",
	"signature":  "must be standard base64 of a 64-byte Ed25519 signature",
	"origin":     "must be a canonical origin scheme://host[:port] (https, or http for loopback hosts)",
	"http_url":   "must be an absolute http or https URL",
	"unique":     "must not repeat a value",
	"utctime":    "must be a UTC time with whole seconds (use t.UTC().Truncate(time.Second))",
}

// validateStruct runs the validator and turns its first error into a
// *ParseError whose path uses JSON names: the namespace minus its root type.
func validateStruct(v any) error {
	err := Validator().Struct(v)
	if err == nil {
		return nil
	}
	var ves validator.ValidationErrors
	if !errors.As(err, &ves) || len(ves) == 0 {
		return pathErr("", ErrInvalidValue, err.Error())
	}
	fe := ves[0]
	path := fe.Namespace()
	if i := strings.IndexByte(path, '.'); i >= 0 {
		path = path[i+1:]
	}
	kind, msg := ErrInvalidValue, tagMessages[fe.Tag()]
	switch fe.Tag() {
	case "required":
		kind, msg = ErrMissing, "is required"
	case "eq":
		msg = "must be " + fe.Param()
	case "oneof":
		msg = "must be one of: " + strings.ReplaceAll(fe.Param(), " ", ", ")
	case "min", "max", "len":
		unit := "character(s)"
		if k := fe.Kind(); k == reflect.Slice || k == reflect.Map {
			unit = "item(s)"
		}
		if k := fe.Kind(); k == reflect.Int || k == reflect.Int64 {
			msg = fmt.Sprintf("must be %s %s", map[string]string{"min": "at least", "max": "at most", "len": "exactly"}[fe.Tag()], fe.Param())
		} else {
			msg = fmt.Sprintf("must have %s %s %s", map[string]string{"min": "at least", "max": "at most", "len": "exactly"}[fe.Tag()], fe.Param(), unit)
		}
	}
	// Say exactly what is wrong where a parser can tell.
	if s, ok := fe.Value().(string); ok {
		switch fe.Tag() {
		case "origin":
			if o, err := ParseOrigin(s); err != nil {
				msg = errors.Unwrap(err).Error()
			} else {
				msg = fmt.Sprintf("origin is not in canonical form; use %q", o)
			}
		case "retention":
			if _, err := ParseRetention(s); err != nil {
				msg = err.Error()
			}
		}
	} else if r, ok := fe.Value().(Retention); ok && fe.Tag() == "retention" {
		if _, err := ParseRetention(string(r)); err != nil {
			msg = err.Error()
		}
	}
	if msg == "" {
		msg = "fails " + fe.Tag()
	}
	return pathErr(path, kind, msg)
}
