// Package proto defines the messages the r-button host exchanges with the
// extension over native messaging (host/framing): the request/reply envelope,
// the params of every message type, and the stable error codes.
//
// The envelope is specified in PROTOCOL.md, section "Host":
//
//	request {"id":"<string>","type":"<string>","params":{…}}
//	reply   {"id":…,"ok":true,"result":…}
//	        {"id":…,"ok":false,"error":{"code":"snake_case","message":"sentence"}}
//
// Error codes are part of the protocol: they are never renamed.
package proto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
)

// Version is the host's software version; Protocol its protocol version.
const (
	Version  = "0.1.0"
	Protocol = 1
)

// Message types.
const (
	TypeHello            = "hello"
	TypeRelationshipGet  = "relationship.get"
	TypeRelationshipList = "relationship.list"
	TypeNegotiate        = "negotiate"
	TypeTermsGet         = "terms.get"
	TypeTermsSet         = "terms.set"
	TypeExceptionSet     = "exception.set"
	TypeExceptionClear   = "exception.clear"
	TypeRelationshipEnd  = "relationship.end"
	TypeHistoryGet       = "history.get"
	TypeDataFetch        = "data.fetch"
	TypeDataRequest      = "data.request"
	TypeDataAccept       = "data.accept"
	TypeExport           = "export"
	TypeChanges          = "changes"
	TypeSiteView         = "site.view"
	TypeSiteCheck        = "site.check"
	TypeMyTermsProffer   = "myterms.proffer"
	// The compliance watch: what a page of an agreed site loaded.
	TypeComplianceReport = "compliance.report"
	// What the user keeps: data returns, every record, their own details.
	TypeDataGet      = "data.get"
	TypeRecordsGet   = "records.get"
	TypeProfileGet   = "profile.get"
	TypeProfileSet   = "profile.set"
	TypeProfileShare = "profile.share"
	TypeProfilePush  = "profile.push"
	// TypeProfileDefault sets what a site is given when an agreement with
	// it is made (the options page's default; profile.get reports it).
	TypeProfileDefault = "profile.default"
)

// Types lists every message type, in the order hello reports them.
var Types = []string{
	TypeHello, TypeRelationshipGet, TypeRelationshipList, TypeNegotiate,
	TypeTermsGet, TypeTermsSet, TypeExceptionSet, TypeExceptionClear,
	TypeRelationshipEnd, TypeHistoryGet, TypeDataFetch, TypeDataRequest,
	TypeDataAccept, TypeExport, TypeChanges, TypeSiteView, TypeSiteCheck, TypeMyTermsProffer,
	TypeDataGet, TypeRecordsGet, TypeProfileGet, TypeProfileSet, TypeProfileShare, TypeProfilePush,
	TypeComplianceReport,
	TypeProfileDefault,
}

// Error codes. Stable: add new ones, never rename (PROTOCOL.md, section 20,
// has the table; a test holds Codes, this block and that table to each other).
const (
	// Framing and envelope.
	CodeFrameTooLarge    = "frame_too_large"
	CodeInvalidFrame     = "invalid_frame"
	CodeInvalidJSON      = "invalid_json"
	CodeInvalidRequest   = "invalid_request"
	CodeUnknownType      = "unknown_type"
	CodeInvalidParams    = "invalid_params"
	CodeResponseTooLarge = "response_too_large"
	CodeInternal         = "internal"
	// Params.
	CodeInvalidSite          = "invalid_site"
	CodeInvalidTerms         = "invalid_terms"
	CodeInvalidAdvertisement = "invalid_advertisement"
	CodeInvalidDetails       = "invalid_details"
	// Store.
	CodeBusy             = "busy"
	CodeStoreCorrupt     = "store_corrupt"
	CodeStoreNewerSchema = "store_newer_schema"
	CodeStoreError       = "store_error"
	// State.
	CodeNotFound     = "not_found"
	CodeNoAgreement  = "no_agreement"
	CodeNotSupported = "not_supported"
	CodeNotOffered   = "not_offered"
	CodeNotAllowed   = "not_allowed"
	// Site.
	CodeSiteUnreachable         = "site_unreachable"
	CodeSiteTimeout             = "site_timeout"
	CodeSiteTooLarge            = "site_too_large"
	CodeSiteRedirect            = "site_redirect"
	CodeSiteInvalidTerms        = "site_invalid_terms"
	CodeSiteTermsMismatch       = "site_terms_mismatch"
	CodeSiteBadSignature        = "site_bad_signature"
	CodeSiteCrossOriginEndpoint = "site_cross_origin_endpoint"
	CodeSiteInsecure            = "site_insecure"
	CodeSitePrivateAddress      = "site_private_address"
	CodeSiteBackoff             = "site_backoff"
	CodeSiteRefused             = "site_refused"
	CodeSiteRateLimited         = "site_rate_limited"
	CodeSiteProtocolError       = "site_protocol_error"
	CodeSiteInvalidResponse     = "site_invalid_response"
)

// Codes lists every error code above, once, in that order: for the
// documentation test and for tools. (A test holds it to the const block
// and to PROTOCOL.md's table.)
var Codes = []string{
	CodeFrameTooLarge, CodeInvalidFrame, CodeInvalidJSON, CodeInvalidRequest, CodeUnknownType, CodeInvalidParams, CodeResponseTooLarge, CodeInternal,
	CodeInvalidSite, CodeInvalidTerms, CodeInvalidAdvertisement, CodeInvalidDetails,
	CodeBusy, CodeStoreCorrupt, CodeStoreNewerSchema, CodeStoreError,
	CodeNotFound, CodeNoAgreement, CodeNotSupported, CodeNotOffered, CodeNotAllowed,
	CodeSiteUnreachable, CodeSiteTimeout, CodeSiteTooLarge, CodeSiteRedirect, CodeSiteInvalidTerms, CodeSiteTermsMismatch,
	CodeSiteBadSignature, CodeSiteCrossOriginEndpoint, CodeSiteInsecure, CodeSitePrivateAddress, CodeSiteBackoff, CodeSiteRefused,
	CodeSiteRateLimited, CodeSiteProtocolError, CodeSiteInvalidResponse,
}

// Error is an error reply's body. It is also a Go error, so handlers
// return it directly.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Request is a decoded, well-formed request envelope.
type Request struct {
	ID     string          `json:"id"`
	Type   string          `json:"type"`
	Params json.RawMessage `json:"params,omitempty"`
}

// Reply is the reply envelope. ID is a string, or nil when the request's
// id could not be determined.
type Reply struct {
	ID     *string         `json:"id"`
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
}

// Limits on the envelope's own fields.
const (
	MaxID   = 128
	MaxType = 64
)

// DecodeRequest parses a request envelope. On failure it returns the id it
// could recover (nil if none) and an *Error with code invalid_json or
// invalid_request.
func DecodeRequest(b []byte) (Request, *string, *Error) {
	if !utf8.Valid(b) {
		return Request{}, nil, Errorf(CodeInvalidJSON, "request is not valid UTF-8")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		if !json.Valid(b) {
			return Request{}, nil, Errorf(CodeInvalidJSON, "request is not valid JSON")
		}
		return Request{}, nil, Errorf(CodeInvalidRequest, "request must be a JSON object")
	}
	var id *string
	if raw, ok := fields["id"]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil && len(s) > 0 && len(s) <= MaxID {
			id = &s
		}
	}
	if id == nil {
		return Request{}, nil, Errorf(CodeInvalidRequest, "request needs an \"id\" string of 1 to %d bytes", MaxID)
	}
	for k := range fields {
		if k != "id" && k != "type" && k != "params" {
			return Request{}, id, Errorf(CodeInvalidRequest, "unknown request field %q", k)
		}
	}
	var typ string
	if raw, ok := fields["type"]; !ok || json.Unmarshal(raw, &typ) != nil || typ == "" || len(typ) > MaxType {
		return Request{}, id, Errorf(CodeInvalidRequest, "request needs a \"type\" string of 1 to %d bytes", MaxType)
	}
	params := bytes.TrimSpace(fields["params"])
	if len(params) == 0 || bytes.Equal(params, []byte("null")) {
		params = []byte("{}")
	}
	if params[0] != '{' {
		return Request{}, id, Errorf(CodeInvalidRequest, "\"params\" must be a JSON object")
	}
	return Request{ID: *id, Type: typ, Params: params}, id, nil
}

// OKReply encodes a success reply.
//
// A json.RawMessage result is sent as it is: the caller vouches that it is
// compact, valid JSON (host/store checks what it passes on). Building the
// envelope by hand spares encoding/json a second pass over the result, which
// for relationship.get is most of the reply (BENCHMARKS.md, section 1).
func OKReply(id *string, result any) ([]byte, error) {
	res, ok := result.(json.RawMessage)
	if !ok {
		var err error
		if res, err = json.Marshal(result); err != nil {
			return nil, err
		}
	} else if len(res) == 0 {
		res = json.RawMessage("null")
	}
	idJSON := []byte("null")
	if id != nil {
		idJSON, _ = json.Marshal(*id) // a string always encodes
	}
	b := make([]byte, 0, len(`{"id":,"ok":true,"result":}`)+len(idJSON)+len(res))
	b = append(b, `{"id":`...)
	b = append(b, idJSON...)
	b = append(b, `,"ok":true,"result":`...)
	b = append(b, res...)
	return append(b, '}'), nil
}

// ErrorReply encodes an error reply.
func ErrorReply(id *string, e *Error) []byte {
	b, err := json.Marshal(Reply{ID: id, OK: false, Error: e})
	if err != nil {
		// Cannot happen: all fields are strings.
		panic(err)
	}
	return b
}

// Params of each message type. Fields carrying user data are json.RawMessage
// where policy does the strict parsing (it owns the vocabulary).
type (
	// NoParams is for hello, relationship.list, terms.get and export.
	NoParams struct{}
	// SiteParams is for relationship.get, exception.clear,
	// relationship.end, history.get, data.fetch, data.request and site.view.
	SiteParams struct {
		Site string `json:"site" validate:"required,max=300"`
	}
	// NegotiateParams is for negotiate. Advertisement is the raw value of
	// the site's DNT-D response header. Force skips the stored-result
	// shortcut (the user asked to renegotiate); backoff still applies.
	NegotiateParams struct {
		Site          string `json:"site" validate:"required,max=300"`
		Advertisement string `json:"advertisement" validate:"required,max=4096"`
		Force         bool   `json:"force,omitempty"`
	}
	// TermsSetParams is for terms.set.
	TermsSetParams struct {
		Terms json.RawMessage `json:"terms" validate:"required"`
	}
	// DataAcceptParams is for data.accept: Body is the site's answer to a
	// data-return request built by data.request, exactly as received.
	//
	// Status and ContentType, when given, are the HTTP status and
	// Content-Type the site answered with: the host then checks them as it
	// checks its own requests' answers (PROTOCOL.md 10.6, 10.7), and a 404
	// not_found or 410 ended ends the relationship. Without them the body is
	// taken as a 200 answer.
	DataAcceptParams struct {
		Site        string `json:"site" validate:"required,max=300"`
		Body        string `json:"body" validate:"required,max=65536"`
		Status      int    `json:"status,omitempty" validate:"omitempty,min=100,max=599"`
		ContentType string `json:"contentType,omitempty" validate:"max=256"`
	}
	// ComplianceReportParams is for compliance.report: what one page of an
	// agreed site loaded (PROTOCOL.md 12.1). Origins and Cookies are the
	// origins (scheme://host[:port], never a path) its resources came from
	// and that set cookies; Tk is the site's Tk answer to the page's
	// document request (absent: not observed; "": no Tk header), which
	// carried Agreed, the agreed digest in force then.
	ComplianceReportParams struct {
		Site    string   `json:"site" validate:"required,max=300"`
		Page    string   `json:"page" validate:"required,max=200"`
		Origins []string `json:"origins" validate:"max=64,dive,max=300"`
		Cookies []string `json:"cookies,omitempty" validate:"max=64,dive,max=300"`
		Tk      *string  `json:"tk,omitempty" validate:"omitempty,max=100"`
		Agreed  string   `json:"agreed,omitempty" validate:"max=100"`
	}
	// DataRequest is data.request's result: a signed data-return request
	// for the extension to POST to URL with the site's own cookies.
	DataRequest struct {
		URL         string `json:"url"`
		ContentType string `json:"contentType"`
		Body        string `json:"body"`
	}
	// ProfileSetParams is for profile.set: the user's details, parsed
	// strictly by policy.ParseDetails.
	ProfileSetParams struct {
		Details json.RawMessage `json:"details" validate:"required"`
	}
	// ProfileDefaultParams is for profile.default: what to give a site
	// when an agreement with it is made.
	ProfileDefaultParams struct {
		OnAgree string `json:"onAgree" validate:"required,oneof=ask email allowed"`
	}
	// ProfileShareParams is for profile.share: the details to give the
	// site (detail names); empty means every detail its agreement allows.
	ProfileShareParams struct {
		Site   string   `json:"site" validate:"required,max=300"`
		Fields []string `json:"fields,omitempty" validate:"max=5"`
	}
	// ChangesParams is for changes: the generation the caller last saw.
	ChangesParams struct {
		Since *uint64 `json:"since" validate:"required"`
	}
	// SiteCheckParams is for site.check. MyTermsPath is the same-origin
	// path a page's <link rel="terms-of-service" type="application/json">
	// names, when it names one.
	SiteCheckParams struct {
		Site        string `json:"site" validate:"required,max=300"`
		MyTermsPath string `json:"mytermsPath,omitempty" validate:"max=200"`
	}
	// ProfferParams is for myterms.proffer: Agreement is a roster code or IRI.
	ProfferParams struct {
		Site      string `json:"site" validate:"required,max=300"`
		Agreement string `json:"agreement" validate:"required,max=200"`
	}
	// ExceptionSetParams is for exception.set.
	ExceptionSetParams struct {
		Site  string          `json:"site" validate:"required,max=300"`
		Terms json.RawMessage `json:"terms" validate:"required"`
	}
)

// fieldCodes maps a params field (its JSON name) to the error code a
// failure on it produces.
var fieldCodes = map[string]string{
	"site":          CodeInvalidSite,
	"terms":         CodeInvalidTerms,
	"advertisement": CodeInvalidAdvertisement,
	"body":          CodeInvalidParams,
	"since":         CodeInvalidParams,
	"status":        CodeInvalidParams,
	"contentType":   CodeInvalidParams,
	"details":       CodeInvalidDetails,
}

var validate = func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		return name
	})
	return v
}()

// DecodeParams decodes params strictly into dst (a pointer to one of the
// params structs) and validates it. Unknown fields and wrong JSON types give
// invalid_params; a failed constraint gives the field's own code.
func DecodeParams(raw json.RawMessage, dst any) *Error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			if code, ok := fieldCodes[te.Field]; ok {
				return Errorf(code, "%s must be a %s", te.Field, jsonKind(te.Type.Kind().String()))
			}
		}
		return Errorf(CodeInvalidParams, "params: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if err := validate.Struct(dst); err != nil {
		var ve validator.ValidationErrors
		if errors.As(err, &ve) && len(ve) > 0 {
			// Report the first failing field, in a stable order.
			sort.SliceStable(ve, func(i, j int) bool { return ve[i].Field() < ve[j].Field() })
			f := ve[0]
			code, ok := fieldCodes[f.Field()]
			if !ok {
				code = CodeInvalidParams
			}
			switch f.Tag() {
			case "required":
				return Errorf(code, "%s is required", f.Field())
			case "max":
				return Errorf(code, "%s is longer than %s bytes", f.Field(), f.Param())
			}
			return Errorf(code, "%s fails %s", f.Field(), f.Tag())
		}
		return Errorf(CodeInvalidParams, "params: %v", err)
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "slice":
		return "JSON value" // json.RawMessage
	case "uint64", "int", "int64":
		return "non-negative integer"
	}
	return goKind
}
