package policy

import "time"

// Exchange statuses, named as in IEEE 7012 (PROTOCOL.md, "Exchange").
const (
	StatusAccepted     = "AgreementAccepted"
	StatusCounterOffer = "AgreementNegotiationCounterOfferMade"
	StatusRefused      = "AgreementRefused"
	StatusEnded        = "ended"
)

// Signed request types.
const (
	RequestDataReturn = "data-return"
	RequestEnd        = "end"
	// RequestDetails carries the user's details to a site that may hold them
	// (PROTOCOL.md, "Details update").
	RequestDetails = "details"
)

// MaxProposals bounds the proposals an agent sends in one negotiation, in
// all: the first, and at most one more after a counter-offer, a
// terms_changed or an unknown_offer (PROTOCOL.md 10.2).
const MaxProposals = 2

// Proposal is the body an agent POSTs to endpoints.agreement.
type Proposal struct {
	V             int       `json:"v" validate:"eq=1"`
	Type          string    `json:"type" validate:"required,eq=proposal"`
	Agreement     Agreement `json:"agreement"`
	UserSignature string    `json:"userSignature" validate:"required,signature"`
}

// Answer is a site's 200 answer to a proposal.
type Answer struct {
	V            int        `json:"v" validate:"eq=1"`
	Status       string     `json:"status" validate:"required,oneof=AgreementAccepted AgreementNegotiationCounterOfferMade AgreementRefused"`
	Record       *Record    `json:"record,omitempty"`
	CounterOffer string     `json:"counterOffer,omitempty" validate:"omitempty,max=64,offerid"`
	Reason       string     `json:"reason,omitempty" validate:"omitempty,max=1000"`
	Conflicts    []Conflict `json:"conflicts,omitempty" validate:"omitempty,max=300,dive"`
}

// ErrorDocument is the body of every 4xx/5xx answer from a DNT-D endpoint.
type ErrorDocument struct {
	V           int    `json:"v" validate:"eq=1"`
	Error       string `json:"error" validate:"required,oneof=malformed invalid bad_signature unknown_offer stale replay too_large terms_changed not_found ended method_not_allowed wrong_host rate_limited unavailable"`
	Message     string `json:"message" validate:"required,max=1000"`
	TermsDigest string `json:"termsDigest,omitempty" validate:"omitempty,digest"`
}

// SignedRequest asks a site for a data return, to end a relationship, or to
// take the user's details. It
// is authenticated by the relationship's user key (SignRequest).
type SignedRequest struct {
	V       int       `json:"v" validate:"eq=1"`
	Type    string    `json:"type" validate:"required,oneof=data-return end details"`
	Record  string    `json:"record" validate:"required,digest"`
	Nonce   string    `json:"nonce" validate:"required,nonce"`
	Created time.Time `json:"created" validate:"required,utctime"`
	// Details is present exactly in a details request.
	Details   *Details `json:"details,omitempty"`
	Signature string   `json:"signature,omitempty" validate:"required,signature"`
}

// DataItem is one thing a site holds about the user.
type DataItem struct {
	Type string            `json:"type" validate:"required,max=64"`
	Time time.Time         `json:"time" validate:"required,utctime"`
	Data map[string]string `json:"data,omitempty" validate:"omitempty,max=64,dive,keys,max=64,endkeys,max=1000"`
}

// DataReturn is a site's answer to a data-return request.
type DataReturn struct {
	V          int        `json:"v" validate:"eq=1"`
	Record     string     `json:"record" validate:"required,digest"`
	Controller Controller `json:"controller"`
	Generated  time.Time  `json:"generated" validate:"required,utctime"`
	Items      []DataItem `json:"items" validate:"required,max=1000,dive"`
}

// EndAnswer is a site's answer to an end request.
type EndAnswer struct {
	V      int    `json:"v" validate:"eq=1"`
	Status string `json:"status" validate:"required,eq=ended"`
	Record string `json:"record" validate:"required,digest"`
}
