package policy

import (
	"encoding/base64"
	"fmt"

	"github.com/dunglas/httpsfv"
)

// Fixed request header values (byte-exact, PROTOCOL.md "Request signals").
const (
	DNTHeaderValue = "1"
	GPCHeaderValue = "1"
)

// RequestHeaderValue returns the Sec-DNT-D value: "v=1", or, where the user
// has an agreement with the request's site, "v=1, agreed=:<digest>:".
func RequestHeaderValue(agreedDigest string) string {
	if agreedDigest == "" {
		return "v=1"
	}
	return "v=1, agreed=:" + agreedDigest + ":"
}

// ResponseHeaderValue returns the DNT-D value a site sends: "v=1, terms=:<digest>:".
func ResponseHeaderValue(termsDigest string) string {
	return "v=1, terms=:" + termsDigest + ":"
}

// parseDict parses an RFC 9651 dictionary, requires v=1 and returns the
// 32-byte byte sequence under key ("" if absent). Unknown members are
// ignored, as RFC 9651 extensibility intends.
func parseDict(value, key string) (string, error) {
	bad := func(msg string) (string, error) {
		return "", pathErr(key, ErrInvalidValue, msg)
	}
	d, err := httpsfv.UnmarshalDictionary([]string{value})
	if err != nil {
		return "", pathErr("", ErrMalformed, "not an RFC 9651 dictionary: "+err.Error())
	}
	m, ok := d.Get("v")
	if !ok {
		return "", pathErr("v", ErrMissing, "is required")
	}
	if it, ok := m.(httpsfv.Item); !ok || it.Value != int64(1) {
		return "", pathErr("v", ErrInvalidValue, fmt.Sprintf("must be the integer %d", Version))
	}
	m, ok = d.Get(key)
	if !ok {
		return "", nil
	}
	it, ok := m.(httpsfv.Item)
	if !ok {
		return bad("must be a byte sequence")
	}
	b, ok := it.Value.([]byte)
	if !ok || len(b) != 32 {
		return bad("must be a byte sequence of a 32-byte SHA-256 digest")
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// ParseResponseHeader parses a site's DNT-D header value and returns the
// terms digest (standard base64). A header without terms is an error.
func ParseResponseHeader(value string) (termsDigest string, err error) {
	d, err := parseDict(value, "terms")
	if err == nil && d == "" {
		return "", pathErr("terms", ErrMissing, "is required")
	}
	return d, err
}

// ParseRequestHeader parses an agent's Sec-DNT-D header value and returns the
// agreed digest ("" if the agent has no agreement with the site).
func ParseRequestHeader(value string) (agreedDigest string, err error) {
	return parseDict(value, "agreed")
}
