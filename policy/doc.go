// Package policy implements the DNT-D version 1 terms vocabulary, matching,
// agreement records and signatures, as specified in PROTOCOL.md.
//
// Everything here is pure computation: no I/O, no network, no clock except
// where a caller passes the time in. Parsers are strict (unknown, duplicate or
// case-mismatched members, trailing data and over-long input are errors) and
// report the JSON path of the first problem in a *ParseError.
package policy

const (
	// WellKnownPath is where a site serves its terms document.
	WellKnownPath = "/.well-known/dnt-d"
	// MediaType is the media type of every DNT-D JSON document.
	MediaType = "application/dnt-d+json"
	// RequestHeader is the structured header the agent sends (RFC 9651 Dictionary).
	RequestHeader = "Sec-DNT-D"
	// ResponseHeader is the structured header a site answers with.
	ResponseHeader = "DNT-D"
	// MaxTermsDocument is the largest terms document an agent accepts.
	MaxTermsDocument = 64 << 10
	// MaxMessage is the largest exchange message (proposal, answer, request) either side accepts.
	MaxMessage = 64 << 10
	// MaxRequest is the largest proposal, data-return or end request a site
	// needs to read: every member of them is bounded, so a compact one is
	// under 2 KiB. A site may refuse a larger body before reading it
	// (PROTOCOL.md 10.8), which bounds what a stranger's POST costs.
	MaxRequest = 8 << 10
)
