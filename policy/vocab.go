package policy

// The DNT-D v1 vocabulary (PROTOCOL.md, "Vocabulary"). Every dimension is an
// ordered ladder, most private first: a value's rank is its index in the
// ladder, and "at or below the user's ceiling" means rank <= ceiling rank.

// Tracking says how far a site may follow the visitor.
type Tracking string

const (
	TrackingNone       Tracking = "none"
	TrackingSession    Tracking = "session"
	TrackingFirstParty Tracking = "first-party"
	TrackingSameParty  Tracking = "same-party"
	TrackingCrossSite  Tracking = "cross-site"
)

// Purpose is one use a site makes of what it learns.
type Purpose string

const (
	PurposeService         Purpose = "service"
	PurposeAnalytics       Purpose = "analytics"
	PurposePersonalisation Purpose = "personalisation"
	PurposeContextualAds   Purpose = "contextual-ads"
	PurposePersonalisedAds Purpose = "personalised-ads"
	PurposeSale            Purpose = "sale"
)

// Sharing says who else may receive data about the visitor.
type Sharing string

const (
	SharingNone         Sharing = "none"
	SharingProcessors   Sharing = "processors"
	SharingAnonymised   Sharing = "anonymised"
	SharingThirdParties Sharing = "third-parties"
	SharingPublic       Sharing = "public"
)

// Identity says how identifiable the visitor is to the site.
type Identity string

const (
	IdentityAnonymous    Identity = "anonymous"
	IdentityPseudonymous Identity = "pseudonymous"
	IdentityIdentified   Identity = "identified"
)

// Contact says whether and why the site may contact the visitor.
type Contact string

const (
	ContactNever         Contact = "never"
	ContactTransactional Contact = "transactional"
	ContactMarketing     Contact = "marketing"
)

// Level is an obligation's strength. For a site's offer it is what the site
// undertakes; in user terms it is the floor the user requires.
type Level string

const (
	LevelNone      Level = "none"
	LevelOnRequest Level = "on-request"
	LevelRequired  Level = "required"
)

// Retention is "none", "session", an ISO 8601 duration such as "P30D", or
// "indefinite". Durations sort between "session" and "indefinite".
type Retention string

const (
	RetentionNone       Retention = "none"
	RetentionSession    Retention = "session"
	RetentionIndefinite Retention = "indefinite"
)

// Ladders, most private first. The order is normative (PROTOCOL.md).
var (
	TrackingLadder = []Tracking{TrackingNone, TrackingSession, TrackingFirstParty, TrackingSameParty, TrackingCrossSite}
	PurposeLadder  = []Purpose{PurposeService, PurposeAnalytics, PurposePersonalisation, PurposeContextualAds, PurposePersonalisedAds, PurposeSale}
	SharingLadder  = []Sharing{SharingNone, SharingProcessors, SharingAnonymised, SharingThirdParties, SharingPublic}
	IdentityLadder = []Identity{IdentityAnonymous, IdentityPseudonymous, IdentityIdentified}
	ContactLadder  = []Contact{ContactNever, ContactTransactional, ContactMarketing}
	LevelLadder    = []Level{LevelNone, LevelOnRequest, LevelRequired}
)

// PurposeIRI maps each purpose to its W3C Data Privacy Vocabulary concept.
var PurposeIRI = map[Purpose]string{
	PurposeService:         "https://w3id.org/dpv#ServiceProvision",
	PurposeAnalytics:       "https://w3id.org/dpv#ServiceUsageAnalytics",
	PurposePersonalisation: "https://w3id.org/dpv#ServicePersonalisation",
	PurposeContextualAds:   "https://w3id.org/dpv#Advertising",
	PurposePersonalisedAds: "https://w3id.org/dpv#PersonalisedAdvertising",
	PurposeSale:            "https://w3id.org/dpv#SellDataToThirdParties",
}

// Dimension names, as they appear in JSON, error paths and conflicts.
const (
	DimTracking   = "tracking"
	DimPurposes   = "purposes"
	DimSharing    = "sharing"
	DimRetention  = "retention"
	DimIdentity   = "identity"
	DimContact    = "contact"
	DimAccess     = "access"
	DimDeletion   = "deletion"
	DimDataReturn = "dataReturn"
)
