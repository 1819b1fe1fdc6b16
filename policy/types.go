package policy

import "time"

// Version is the protocol version this package implements.
const Version = 1

// Terms are values over the vocabulary. In a site's offer they are what the
// offer needs; in user terms they are the ceiling the user allows (for
// Purposes: the set of purposes the user allows).
type Terms struct {
	Tracking  Tracking  `json:"tracking" validate:"required,oneof=none session first-party same-party cross-site"`
	Purposes  []Purpose `json:"purposes" validate:"required,min=1,max=6,unique,dive,oneof=service analytics personalisation contextual-ads personalised-ads sale"`
	Sharing   Sharing   `json:"sharing" validate:"required,oneof=none processors anonymised third-parties public"`
	Retention Retention `json:"retention" validate:"required,retention"`
	Identity  Identity  `json:"identity" validate:"required,oneof=anonymous pseudonymous identified"`
	Contact   Contact   `json:"contact" validate:"required,oneof=never transactional marketing"`
}

// Obligations are what a site undertakes in an offer, or the floor a user
// requires of every site.
type Obligations struct {
	Access     Level `json:"access" validate:"required,oneof=none on-request required"`
	Deletion   Level `json:"deletion" validate:"required,oneof=none on-request required"`
	DataReturn Level `json:"dataReturn" validate:"required,oneof=none on-request required"`
}

// UserTerms are the user's own terms: a ceiling per dimension and a floor of
// obligations. Served by the host as the user's defaults or a site exception.
type UserTerms struct {
	V           int         `json:"v" validate:"eq=1"`
	Preset      string      `json:"preset,omitempty" validate:"omitempty,max=64"`
	Terms       Terms       `json:"terms"`
	Obligations Obligations `json:"obligations"`
}

// Offer is one set of terms a site proposes.
type Offer struct {
	ID          string      `json:"id" validate:"required,max=64,offerid"`
	Preset      string      `json:"preset,omitempty" validate:"omitempty,max=64"`
	Summary     string      `json:"summary,omitempty" validate:"omitempty,max=280"`
	Terms       Terms       `json:"terms"`
	Obligations Obligations `json:"obligations"`
}

// Controller names who is responsible for the site's processing.
type Controller struct {
	Name    string `json:"name" validate:"required,max=200"`
	Contact string `json:"contact" validate:"required,max=200"`
}

// Endpoints are the site's protocol endpoints: absolute paths on the site's
// own origin.
type Endpoints struct {
	Agreement  string `json:"agreement" validate:"required,max=200,abspath"`
	DataReturn string `json:"dataReturn,omitempty" validate:"omitempty,max=200,abspath"`
	End        string `json:"end" validate:"required,max=200,abspath"`
	// Details is where a site takes the user's details (optional).
	Details string `json:"details,omitempty" validate:"omitempty,max=200,abspath"`
}

// TermsDocument is served at the well-known URI (WellKnownPath).
type TermsDocument struct {
	V          int        `json:"v" validate:"eq=1"`
	Controller Controller `json:"controller"`
	Policy     string     `json:"policy" validate:"required,max=500,http_url"`
	PublicKey  string     `json:"publicKey" validate:"required,ed25519key"`
	LastUpdate time.Time  `json:"lastUpdate" validate:"required,utctime"`
	Endpoints  Endpoints  `json:"endpoints"`
	Offers     []Offer    `json:"offers" validate:"required,min=1,max=32,dive"`
	// Processors optionally names the origins of the processors the site's
	// pages contact (PROTOCOL.md 5.2). Under sharing "processors" the agent
	// then records a page contacting any other third party (12.1).
	Processors []string `json:"processors,omitempty" validate:"omitempty,max=32,unique,dive,origin"`
}

// Conflict is one reason an offer is unacceptable, one per violated
// dimension (PROTOCOL.md, "Conflicts"). Values are vocabulary values; for
// purposes they are lists joined with ", " in ladder order.
type Conflict struct {
	// Offer is the offer id ("" for a counter-proposal's own terms).
	Offer string `json:"offer" validate:"omitempty,max=64,offerid"`
	// Dimension is a Dim* name: tracking, purposes, ..., access, deletion, dataReturn.
	Dimension string `json:"dimension" validate:"required,oneof=tracking purposes sharing retention identity contact access deletion dataReturn"`
	// Needs is what the site needs: for a ceiling dimension the offer's
	// value, for purposes the offer's purposes the user does not allow; for
	// an obligation (access, deletion, dataReturn) what the site offers.
	Needs string `json:"needs" validate:"max=300"`
	// Allows is what the user allows: for a ceiling dimension the user's
	// ceiling, for purposes all the user's allowed purposes; for an
	// obligation the floor the user requires.
	Allows string `json:"allows" validate:"max=300"`
}

// Agreement is the body both parties sign (PROTOCOL.md, "Agreement record").
// The signed bytes are SignedBytes(agreement): a domain-separation prefix and
// the RFC 8785 canonical JSON of this struct.
type Agreement struct {
	V           int         `json:"v" validate:"eq=1"`
	Site        string      `json:"site" validate:"required,max=300,origin"`
	TermsDigest string      `json:"termsDigest" validate:"required,digest"`
	Offer       string      `json:"offer,omitempty" validate:"omitempty,max=64,offerid"`
	Terms       Terms       `json:"terms"`
	Obligations Obligations `json:"obligations"`
	UserKey     string      `json:"userKey" validate:"required,ed25519key"`
	SiteKey     string      `json:"siteKey" validate:"required,ed25519key"`
	Nonce       string      `json:"nonce" validate:"required,nonce"`
	Created     time.Time   `json:"created" validate:"required,utctime"`
}

// Record is an agreement signed by both parties: what each side keeps.
type Record struct {
	ID            string    `json:"id" validate:"required,digest"`
	Agreement     Agreement `json:"agreement"`
	UserSignature string    `json:"userSignature" validate:"required,signature"`
	SiteSignature string    `json:"siteSignature" validate:"required,signature"`
}

// Event types in a relationship's history.
const (
	EventNegotiated   = "negotiated"
	EventRenegotiated = "renegotiated"
	EventConflict     = "conflict"
	EventTermsChanged = "terms-changed"
	EventDataReturned = "data-returned"
	EventEnded        = "ended"
	// EventWithdrawn: the user withdrew consent (their terms changed so the
	// agreement no longer fits, or they forgot the site); the agent stopped
	// sending agreed at once. An ended event follows with the site's answer.
	EventWithdrawn = "withdrawn"
	// EventProffered: the user proffered a MyTerms agreement to a site that
	// lists it (PROTOCOL.md 9.2); Agreement is the proffer's id.
	EventProffered = "proffered"
	// EventCompliance: a page of an agreed site did something the agreement
	// does not allow (PROTOCOL.md 12); Detail holds the evidence.
	EventCompliance = "compliance"
	// The user's details: first given to a site, an update it took, and an
	// update that did not reach it (refused or unreachable; retried).
	EventDetailsShared  = "details-shared"
	EventDetailsUpdated = "details-updated"
	EventDetailsFailed  = "details-failed"
)

// Event is one link of a relationship's hash-chained history.
type Event struct {
	Seq       int       `json:"seq" validate:"min=0"`
	Type      string    `json:"type" validate:"required,oneof=negotiated renegotiated conflict terms-changed data-returned ended withdrawn proffered compliance details-shared details-updated details-failed"`
	Time      time.Time `json:"time" validate:"required,utctime"`
	Agreement string    `json:"agreement,omitempty" validate:"omitempty,digest"`
	Detail    string    `json:"detail,omitempty" validate:"omitempty,max=1000"`
	// Changes, on a terms-changed event, is what changed per offer and
	// dimension (TermsChanges); Detail says the same in words.
	Changes []TermChange `json:"changes,omitempty" validate:"omitempty,max=576,dive"`
	Prev    string       `json:"prev" validate:"omitempty,digest"`
	Hash    string       `json:"hash" validate:"required,digest"`
}
