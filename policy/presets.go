package policy

// NamedPreset is a ready-made set of user terms. Presets form a chain: each
// allows everything the previous one allows. Their Terms.Preset values are
// the IEEE 7012 (MyTerms) agreement codes of the DPV P7012 extension,
// https://w3id.org/dpv/standards/p7012#<code>.
type NamedPreset struct {
	Name        string    `json:"name"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Terms       UserTerms `json:"terms"`
}

// DefaultPreset is the preset an agent starts with.
const DefaultPreset = "analytics"

// P7012Base is the IRI prefix of the IEEE 7012 agreement codes.
const P7012Base = "https://w3id.org/dpv/standards/p7012#"

// onRequest is the floor every preset up to "personalised" requires: the
// user can see, delete and take back their data when they ask.
var onRequest = Obligations{Access: LevelOnRequest, Deletion: LevelOnRequest, DataReturn: LevelOnRequest}

// Presets, most private first (PROTOCOL.md, "Presets").
var Presets = []NamedPreset{
	{
		Name: "service-only", Title: "Service only",
		Description: "Only what is needed to serve me while I visit: no analytics, no tracking across visits, no advertising.",
		Terms: UserTerms{V: 1, Preset: "SD-BY", Terms: Terms{
			Tracking: TrackingSession, Purposes: []Purpose{PurposeService}, Sharing: SharingProcessors,
			Retention: "P7D", Identity: IdentityPseudonymous, Contact: ContactTransactional,
		}, Obligations: onRequest},
	},
	{
		Name: "analytics", Title: "Service and analytics",
		Description: "Serve me and measure how the site is used, by the site alone (first-party, pseudonymous, kept up to 90 days). No advertising, no selling, no third-party tracking.",
		Terms: UserTerms{V: 1, Preset: "SD-BY-A", Terms: Terms{
			Tracking: TrackingFirstParty, Purposes: []Purpose{PurposeService, PurposeAnalytics}, Sharing: SharingProcessors,
			Retention: "P90D", Identity: IdentityPseudonymous, Contact: ContactTransactional,
		}, Obligations: onRequest},
	},
	{
		Name: "first-party", Title: "First-party relationship",
		Description: "The site and its own related sites may recognise me, know who I am and show me ads based on the page (not on me), for up to a year.",
		Terms: UserTerms{V: 1, Preset: "SD-BY-AT", Terms: Terms{
			Tracking: TrackingSameParty, Purposes: []Purpose{PurposeService, PurposeAnalytics, PurposeContextualAds}, Sharing: SharingProcessors,
			Retention: "P1Y", Identity: IdentityIdentified, Contact: ContactTransactional,
		}, Obligations: onRequest},
	},
	{
		Name: "personalised", Title: "Personalised",
		Description: "Also personalise the site and its ads for me and send me marketing; still no selling and no sharing beyond processors.",
		Terms: UserTerms{V: 1, Preset: "SD-BY-ATP", Terms: Terms{
			Tracking: TrackingSameParty, Purposes: []Purpose{PurposeService, PurposeAnalytics, PurposePersonalisation, PurposeContextualAds, PurposePersonalisedAds},
			Sharing: SharingProcessors, Retention: "P2Y", Identity: IdentityIdentified, Contact: ContactMarketing,
		}, Obligations: onRequest},
	},
	{
		Name: "generous", Title: "Generous",
		Description: "Also track me across sites and share anonymised data with third parties; I still require access and deletion on request.",
		Terms: UserTerms{V: 1, Preset: "SD-BY-ATP-S3P", Terms: Terms{
			Tracking: TrackingCrossSite, Purposes: []Purpose{PurposeService, PurposeAnalytics, PurposePersonalisation, PurposeContextualAds, PurposePersonalisedAds},
			Sharing: SharingAnonymised, Retention: "P2Y", Identity: IdentityIdentified, Contact: ContactMarketing,
		}, Obligations: Obligations{Access: LevelOnRequest, Deletion: LevelOnRequest, DataReturn: LevelNone}},
	},
}

// Preset returns a copy of the named preset's terms.
func Preset(name string) (UserTerms, bool) {
	for _, p := range Presets {
		if p.Name == name {
			u := p.Terms
			u.Terms.Purposes = append([]Purpose(nil), p.Terms.Terms.Purposes...)
			return u, true
		}
	}
	return UserTerms{}, false
}
