package policy

import "errors"

// Sentinel errors. Every error returned by this package wraps one of them, so
// callers can branch with errors.Is and map them to wire error codes
// (WireErrorCode).
var (
	// ErrMalformed: not JSON, invalid UTF-8, duplicate member, trailing data, nesting too deep.
	ErrMalformed = errors.New("malformed")
	// ErrUnknownField: a member this version does not define (names are case-sensitive).
	ErrUnknownField = errors.New("unknown member")
	// ErrMissing: a required member is absent or empty.
	ErrMissing = errors.New("missing")
	// ErrInvalidValue: a member has the wrong JSON type or a value outside its grammar.
	ErrInvalidValue = errors.New("invalid value")
	// ErrTooLarge: the input exceeds MaxTermsDocument or MaxMessage.
	ErrTooLarge = errors.New("too large")
	// ErrBadSignature: a signature does not verify with the key it claims.
	ErrBadSignature = errors.New("bad signature")
	// ErrRecordID: a record's id is not RecordID of its agreement.
	ErrRecordID = errors.New("record id does not match agreement")
	// ErrChainBroken: a history event's seq, prev or hash does not follow from its predecessor.
	ErrChainBroken = errors.New("hash chain broken")
	// ErrStale: a signed message's creation time is outside MaxClockSkew of now.
	ErrStale = errors.New("stale")
	// ErrTermsChanged: a proposal's termsDigest is not the site's current terms digest.
	ErrTermsChanged = errors.New("terms changed")
	// ErrUnknownOffer: a proposal names an offer the document does not have, or changes its terms.
	ErrUnknownOffer = errors.New("unknown offer")
	// ErrMismatch: a site's record does not hold the agreement the agent proposed.
	ErrMismatch = errors.New("record does not hold the proposed agreement")
)

// ParseError says where in a document a problem is. Path uses JSON member
// names and indexes, like "offers[1].terms.retention"; it is empty when the
// problem is the document as a whole.
type ParseError struct {
	Path string
	Err  error
}

func (e *ParseError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *ParseError) Unwrap() error { return e.Err }

// detailError carries a human sentence while unwrapping to a sentinel.
type detailError struct {
	kind error
	msg  string
}

func (e *detailError) Error() string { return e.msg }
func (e *detailError) Unwrap() error { return e.kind }

func pathErr(path string, kind error, msg string) error {
	return &ParseError{Path: path, Err: &detailError{kind: kind, msg: msg}}
}

// ErrorKind names the sentinel err wraps, as used in the test vectors:
// "malformed", "unknown_field", "missing", "invalid_value", "too_large",
// "bad_signature", "record_id", "chain_broken", "stale"; "" for nil or other.
func ErrorKind(err error) string {
	for _, k := range []struct {
		err  error
		name string
	}{
		{ErrMalformed, "malformed"}, {ErrUnknownField, "unknown_field"}, {ErrMissing, "missing"},
		{ErrInvalidValue, "invalid_value"}, {ErrTooLarge, "too_large"}, {ErrBadSignature, "bad_signature"},
		{ErrRecordID, "record_id"}, {ErrChainBroken, "chain_broken"}, {ErrStale, "stale"},
		{ErrTermsChanged, "terms_changed"}, {ErrUnknownOffer, "unknown_offer"}, {ErrMismatch, "mismatch"},
	} {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return ""
}

// Wire error codes of the exchange (PROTOCOL.md, "Error documents").
const (
	CodeMalformed    = "malformed"
	CodeInvalid      = "invalid"
	CodeBadSignature = "bad_signature"
	CodeUnknownOffer = "unknown_offer"
	CodeStale        = "stale"
	CodeReplay       = "replay"
	CodeTooLarge     = "too_large"
	CodeTermsChanged = "terms_changed"
	CodeNotFound     = "not_found"
	CodeEnded        = "ended"
	CodeRateLimited  = "rate_limited"
	// CodeUnavailable (503): the site's own system cannot take the request
	// now (its CRM is down); the agent tries again later.
	CodeUnavailable = "unavailable"
	// CodeMethodNotAllowed (405) and CodeWrongHost (421) come from the checks
	// every endpoint makes before reading a message (PROTOCOL.md 10.7).
	CodeMethodNotAllowed = "method_not_allowed"
	CodeWrongHost        = "wrong_host"
)

// ErrorCodes lists every wire error code, in the order of PROTOCOL.md 10.6.
var ErrorCodes = []string{CodeMalformed, CodeInvalid, CodeBadSignature, CodeUnknownOffer, CodeStale, CodeReplay,
	CodeTooLarge, CodeTermsChanged, CodeNotFound, CodeEnded, CodeMethodNotAllowed, CodeWrongHost, CodeRateLimited, CodeUnavailable}

// WireErrorCode maps an error from this package to the error code a site
// puts in its error document ("" if err is nil or not from this package).
func WireErrorCode(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrTooLarge):
		return CodeTooLarge
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrUnknownField):
		return CodeMalformed
	case errors.Is(err, ErrMissing), errors.Is(err, ErrInvalidValue):
		return CodeInvalid
	case errors.Is(err, ErrBadSignature), errors.Is(err, ErrRecordID):
		return CodeBadSignature
	case errors.Is(err, ErrStale):
		return CodeStale
	case errors.Is(err, ErrTermsChanged):
		return CodeTermsChanged
	case errors.Is(err, ErrUnknownOffer):
		return CodeUnknownOffer
	}
	return ""
}
