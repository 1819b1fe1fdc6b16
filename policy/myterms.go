package policy

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// IEEE 7012-2025 "MyTerms": the roster of agreements an individual proffers,
// identified by the W3C DPV P7012 codes (https://w3id.org/dpv/standards/p7012),
// mapped onto the DNT-D vocabulary (PROTOCOL.md, "MyTerms roster"). The table
// is stated twice, here and in extension/lib/myterms.js; both are compared
// with testdata/policy/myterms.json by their tests.

// RosterAgreement is one agreement of the MyTerms roster.
type RosterAgreement struct {
	// Code is the DPV P7012 code, e.g. "SD-BASE-A-DP"; the IRI is P7012Base+Code.
	Code string `json:"code"`
	// Older is the code our presets carried before the DPV renaming ("SD-BY-A").
	Older string `json:"older,omitempty"`
	Title string `json:"title"`
	// Terms and Obligations are what the agreement permits and undertakes,
	// read as a DNT-D offer; nil for an agreement the vocabulary cannot
	// express (the PDC contributions), which is shown by name and never matched.
	Terms       *Terms       `json:"terms,omitempty"`
	Obligations *Obligations `json:"obligations,omitempty"`
}

// IRI is the agreement's DPV P7012 IRI.
func (r RosterAgreement) IRI() string { return P7012Base + r.Code }

// Expressible reports whether the agreement maps onto DNT-D terms.
func (r RosterAgreement) Expressible() bool { return r.Terms != nil }

// Offer is the agreement as a DNT-D offer with id = its code (lowercased,
// as offer ids are).
func (r RosterAgreement) Offer() (Offer, bool) {
	if r.Terms == nil {
		return Offer{}, false
	}
	t := *r.Terms
	t.Purposes = append([]Purpose(nil), r.Terms.Purposes...)
	return Offer{ID: strings.ToLower(r.Code), Preset: r.Code, Terms: t, Obligations: *r.Obligations}, true
}

// The SD ("service delivery") ladder takes its ceilings from the presets
// (PROTOCOL.md, "Presets"): IEEE 7012 sets no retention, identity or contact,
// so those are r-button's reading. A plain agreement undertakes access and
// deletion on request; its -DP variant adds data portability (dataReturn).
var (
	sdBase = Terms{Tracking: TrackingSession, Purposes: []Purpose{PurposeService}, Sharing: SharingProcessors,
		Retention: "P7D", Identity: IdentityPseudonymous, Contact: ContactTransactional}
	sdA = Terms{Tracking: TrackingFirstParty, Purposes: []Purpose{PurposeService, PurposeAnalytics}, Sharing: SharingProcessors,
		Retention: "P90D", Identity: IdentityPseudonymous, Contact: ContactTransactional}
	sdAT = Terms{Tracking: TrackingSameParty, Purposes: []Purpose{PurposeService, PurposeAnalytics, PurposeContextualAds},
		Sharing: SharingProcessors, Retention: "P1Y", Identity: IdentityIdentified, Contact: ContactTransactional}
	sdATP = Terms{Tracking: TrackingSameParty, Purposes: []Purpose{PurposeService, PurposeAnalytics, PurposePersonalisation,
		PurposeContextualAds, PurposePersonalisedAds}, Sharing: SharingProcessors, Retention: "P2Y", Identity: IdentityIdentified,
		Contact: ContactMarketing}
	sdATPS3P = Terms{Tracking: TrackingCrossSite, Purposes: sdATP.Purposes, Sharing: SharingAnonymised, Retention: "P2Y",
		Identity: IdentityIdentified, Contact: ContactMarketing}

	plain    = Obligations{Access: LevelOnRequest, Deletion: LevelOnRequest, DataReturn: LevelNone}
	portable = Obligations{Access: LevelOnRequest, Deletion: LevelOnRequest, DataReturn: LevelOnRequest}
)

func ptr[T any](v T) *T { return &v }

// Roster is the published roster, most private first: each -DP variant
// before its plain form (it undertakes more), so the first agreement a
// user's terms are at least as strict as is the strictest such one.
var Roster = []RosterAgreement{
	{Code: "SD-BASE-DP", Title: "Service delivery, with data portability", Terms: ptr(sdBase), Obligations: ptr(portable)},
	{Code: "SD-BASE", Older: "SD-BY", Title: "Service delivery only", Terms: ptr(sdBase), Obligations: ptr(plain)},
	{Code: "SD-BASE-A-DP", Title: "Service and first-party analytics, with data portability", Terms: ptr(sdA), Obligations: ptr(portable)},
	{Code: "SD-BASE-A", Older: "SD-BY-A", Title: "Service and first-party analytics", Terms: ptr(sdA), Obligations: ptr(plain)},
	{Code: "SD-BASE-AT-DP", Title: "Service, analytics and first-party tracking, with data portability", Terms: ptr(sdAT), Obligations: ptr(portable)},
	{Code: "SD-BASE-AT", Older: "SD-BY-AT", Title: "Service, analytics and first-party tracking", Terms: ptr(sdAT), Obligations: ptr(plain)},
	{Code: "SD-BASE-ATP-DP", Title: "Service, analytics, tracking and profiling by the site, with data portability", Terms: ptr(sdATP), Obligations: ptr(portable)},
	{Code: "SD-BASE-ATP", Older: "SD-BY-ATP", Title: "Service, analytics, tracking and profiling by the site", Terms: ptr(sdATP), Obligations: ptr(plain)},
	{Code: "SD-BASE-ATP-S3P-DP", Title: "Also anonymised data shared with third parties, with data portability", Terms: ptr(sdATPS3P), Obligations: ptr(portable)},
	{Code: "SD-BASE-ATP-S3P", Older: "SD-BY-ATP-S3P", Title: "Also anonymised data shared with third parties", Terms: ptr(sdATPS3P), Obligations: ptr(plain)},
	{Code: "PDC-AI", Title: "Personal data contribution for AI training and development"},
	{Code: "PDC-GOOD", Title: "Personal data contribution for the public good"},
	{Code: "PDC-INTENT", Title: "Personal data contribution for intent casting"},
}

// LookupRoster finds a roster agreement by its code, its older code, or
// either as a P7012 IRI. Codes are matched case-insensitively.
func LookupRoster(name string) (RosterAgreement, bool) {
	code := strings.TrimPrefix(strings.TrimSpace(name), P7012Base)
	for _, r := range Roster {
		if strings.EqualFold(code, r.Code) || (r.Older != "" && strings.EqualFold(code, r.Older)) {
			return r, true
		}
	}
	return RosterAgreement{}, false
}

// RosterFits reports whether the agreement, read as an offer, is acceptable
// under the user's terms (PROTOCOL.md 8.1). Agreements the vocabulary
// cannot express never fit.
func RosterFits(user UserTerms, r RosterAgreement) bool {
	o, ok := r.Offer()
	return ok && CheckOffer(user, o) == nil
}

// AtLeastAsStrict reports whether the user's terms allow nothing the
// agreement does not: every ceiling at or below the agreement's, every
// purpose among its purposes, every obligation floor at or above what it
// undertakes.
func AtLeastAsStrict(user UserTerms, r RosterAgreement) bool {
	if r.Terms == nil {
		return false
	}
	// The agreement as the "user", the user's terms as the "offer".
	as := UserTerms{V: 1, Terms: *r.Terms, Obligations: *r.Obligations}
	return CheckOffer(as, Offer{ID: "user", Terms: user.Terms, Obligations: user.Obligations}) == nil
}

// StrictestRoster returns the strictest roster agreement the user's terms
// are at least as strict as ("your terms are at least as strict as
// SD-BASE"); false when the user allows more than every agreement.
func StrictestRoster(user UserTerms) (RosterAgreement, bool) {
	for _, r := range Roster {
		if AtLeastAsStrict(user, r) {
			return r, true
		}
	}
	return RosterAgreement{}, false
}

// A site's MyTerms file, in the format dmarti/tinyMyTerms publishes at
// /.well-known/myterms.json:
//
//	{"effective_date": "<RFC 2822 date>",
//	 "agreements": [{"id": "SD-BASE", "url": "https://myterms.info/agreements/SD-BASE"}],
//	 "tos_url": "…", "tos": "<html>"}
//
// It is another project's format, so it is read leniently (unknown members
// are ignored) but bounded: MaxMyTermsFile bytes, at most MaxMyTermsAgreements
// agreements, ids of at most 64 characters. The terms-of-service HTML is
// not kept.
const (
	MyTermsPath          = "/.well-known/myterms.json"
	MaxMyTermsFile       = 256 << 10
	MaxMyTermsAgreements = 64
)

// MyTermsFile is what r-button keeps of a site's MyTerms file.
type MyTermsFile struct {
	EffectiveDate string             `json:"effectiveDate,omitempty"`
	Agreements    []MyTermsAgreement `json:"agreements"`
	TOSURL        string             `json:"tosUrl,omitempty"`
	// Digest is the SHA-256 (base64) of the file's bytes as received.
	Digest string `json:"digest"`
}

// MyTermsAgreement is one agreement a site accepts.
type MyTermsAgreement struct {
	ID  string `json:"id"`
	URL string `json:"url,omitempty"`
	// Code is the roster code the id names, empty when it names none.
	Code string `json:"code,omitempty"`
}

// ErrMyTerms is wrapped by every ParseMyTerms error.
var ErrMyTerms = errors.New("invalid MyTerms file")

// ParseMyTerms reads a site's MyTerms file.
func ParseMyTerms(b []byte) (*MyTermsFile, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrMyTerms, fmt.Sprintf(format, a...))
	}
	if len(b) > MaxMyTermsFile {
		return nil, bad("larger than %d bytes", MaxMyTermsFile)
	}
	if !utf8.Valid(b) {
		return nil, bad("not UTF-8")
	}
	var raw struct {
		EffectiveDate *string `json:"effective_date"`
		Agreements    *[]struct {
			ID  *string `json:"id"`
			URL *string `json:"url"`
		} `json:"agreements"`
		TOSURL *string `json:"tos_url"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&raw); err != nil {
		return nil, bad("%v", err)
	}
	if dec.More() {
		return nil, bad("trailing data after the JSON object")
	}
	if raw.Agreements == nil {
		return nil, bad("no agreements member")
	}
	if len(*raw.Agreements) > MaxMyTermsAgreements {
		return nil, bad("more than %d agreements", MaxMyTermsAgreements)
	}
	f := &MyTermsFile{Agreements: []MyTermsAgreement{}, Digest: Digest(b)}
	if raw.EffectiveDate != nil && *raw.EffectiveDate != "" {
		if _, err := mail.ParseDate(*raw.EffectiveDate); err != nil {
			return nil, bad("effective_date is not an RFC 2822 date: %q", truncateRunes(*raw.EffectiveDate, 64))
		}
		f.EffectiveDate = *raw.EffectiveDate
	}
	if raw.TOSURL != nil && len(*raw.TOSURL) <= 500 {
		f.TOSURL = *raw.TOSURL
	}
	seen := map[string]bool{}
	for i, a := range *raw.Agreements {
		if a.ID == nil || *a.ID == "" || len(*a.ID) > 64 {
			return nil, bad("agreements[%d].id missing or longer than 64 bytes", i)
		}
		id := *a.ID
		if seen[strings.ToUpper(id)] {
			continue
		}
		seen[strings.ToUpper(id)] = true
		ag := MyTermsAgreement{ID: id}
		if a.URL != nil && len(*a.URL) <= 500 {
			ag.URL = *a.URL
		}
		if r, ok := LookupRoster(id); ok {
			ag.Code = r.Code
		}
		f.Agreements = append(f.Agreements, ag)
	}
	return f, nil
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// Proffer is the one-sided record of a MyTerms agreement the user proffered
// to a site that publishes a MyTerms file but no signing endpoint
// (PROTOCOL.md, "MyTerms roster"). The user's pairwise key for the site
// signs "dnt-d/1 myterms-proffer\n" + JCS(proffer without userSignature).
type Proffer struct {
	V         int    `json:"v"`
	Site      string `json:"site"`
	Agreement string `json:"agreement"` // P7012 IRI
	// FileDigest is the digest of the site's MyTerms file that listed it.
	FileDigest string    `json:"fileDigest"`
	Created    time.Time `json:"created"`
	UserKey    string    `json:"userKey"`
	// Status is the P7012 negotiation status: pending, the site has not signed.
	Status        string `json:"status"`
	UserSignature string `json:"userSignature,omitempty"`
}

// ProfferSigPrefix separates proffer signatures from every other signature.
const ProfferSigPrefix = "dnt-d/1 myterms-proffer\n"

// ProfferPending is the P7012 status of a proffer the site has not signed.
const ProfferPending = P7012Base + "AgreementNegotiationPendingResponse"

func profferSignedBytes(p Proffer) ([]byte, error) {
	p.UserSignature = ""
	c, err := Canonical(p)
	if err != nil {
		return nil, err
	}
	return append([]byte(ProfferSigPrefix), c...), nil
}

// SignProffer fills in p.UserKey and p.UserSignature.
func SignProffer(p *Proffer, priv ed25519.PrivateKey) error {
	p.UserKey = EncodeKey(priv.Public().(ed25519.PublicKey))
	p.Created = p.Created.UTC().Truncate(time.Second)
	b, err := profferSignedBytes(*p)
	if err != nil {
		return err
	}
	p.UserSignature = b64.EncodeToString(ed25519.Sign(priv, b))
	return nil
}

// VerifyProffer checks p's signature against its own userKey.
func VerifyProffer(p Proffer) error {
	pub, err := DecodeKey(p.UserKey)
	if err != nil {
		return err
	}
	b, err := profferSignedBytes(p)
	if err != nil {
		return err
	}
	return verify(pub, b, p.UserSignature)
}

// ProfferID is the digest of the proffer's signed bytes, used as the
// history event's agreement id.
func ProfferID(p Proffer) (string, error) {
	b, err := profferSignedBytes(p)
	if err != nil {
		return "", err
	}
	return Digest(b), nil
}
