// Package demo holds the demo vendors of rbutton-demo-sites: their DNT-D
// configurations and their small HTML sites. The vendors are fixed so that
// the extension and browser tests (extension/e2e) can rely on them:
// the default user terms (preset "analytics") accept the shop and the
// changing site (before and after each change) and conflict with the news
// site on purposes.
package demo

import (
	"crypto/ed25519"
	"crypto/sha256"

	"github.com/rbutton/rbutton/policy"
)

var onRequest = policy.Obligations{Access: policy.LevelOnRequest, Deletion: policy.LevelOnRequest, DataReturn: policy.LevelOnRequest}

// ShopBasic is the shop's offer the default preset accepts.
var ShopBasic = policy.Offer{
	ID: "basic", Preset: "SD-BY-A",
	Summary: "We remember your basket and measure how the shop is used, first-party only, for 30 days.",
	Terms: policy.Terms{
		Tracking: policy.TrackingFirstParty, Purposes: []policy.Purpose{policy.PurposeService, policy.PurposeAnalytics},
		Sharing: policy.SharingProcessors, Retention: "P30D", Identity: policy.IdentityPseudonymous, Contact: policy.ContactTransactional,
	},
	Obligations: onRequest,
}

// ShopPlus is a more generous offer: personalised recommendations for a year.
var ShopPlus = policy.Offer{
	ID:      "plus",
	Summary: "Also personalise recommendations for you across our own sites, for a year.",
	Terms: policy.Terms{
		Tracking: policy.TrackingSameParty, Purposes: []policy.Purpose{policy.PurposeService, policy.PurposeAnalytics, policy.PurposePersonalisation},
		Sharing: policy.SharingProcessors, Retention: "P1Y", Identity: policy.IdentityPseudonymous, Contact: policy.ContactTransactional,
	},
	Obligations: onRequest,
}

// NewsAds is the news site's only offer: it needs personalised advertising.
var NewsAds = policy.Offer{
	ID:      "ad-funded",
	Summary: "Free news paid for by advertising personalised to your reading.",
	Terms: policy.Terms{
		Tracking: policy.TrackingFirstParty, Purposes: []policy.Purpose{policy.PurposeService, policy.PurposeAnalytics, policy.PurposePersonalisedAds},
		Sharing: policy.SharingProcessors, Retention: "P90D", Identity: policy.IdentityPseudonymous, Contact: policy.ContactTransactional,
	},
	Obligations: onRequest,
}

// ChangingOffer returns the changing site's offer in version 1 (P30D) or 2
// (P14D); both are within the default preset.
func ChangingOffer(version int) policy.Offer {
	o := policy.Offer{
		ID:      "standard",
		Summary: "Service and first-party analytics, kept for 30 days.",
		Terms: policy.Terms{
			Tracking: policy.TrackingFirstParty, Purposes: []policy.Purpose{policy.PurposeService, policy.PurposeAnalytics},
			Sharing: policy.SharingProcessors, Retention: "P30D", Identity: policy.IdentityPseudonymous, Contact: policy.ContactTransactional,
		},
		Obligations: onRequest,
	}
	if version%2 == 0 {
		o.Summary = "Service and first-party analytics, kept for 14 days."
		o.Terms.Retention = "P14D"
	}
	return o
}

// Key returns a demo vendor's signing key, derived from its name so that
// records kept in --db survive restarts. Demo only: a real site generates
// its key randomly and keeps it secret.
func Key(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("rbutton demo vendor key: " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}
