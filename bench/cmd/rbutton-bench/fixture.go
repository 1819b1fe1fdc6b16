package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
)

// siteData is everything the host stores about one site after agreeing:
// the relationship, the pairwise key and the history. Section 4 captures a
// real one from a negotiation with the demo shop; without it the bench
// builds an equivalent one with the policy package (and says so).
type siteData struct {
	rel       store.Relationship
	key       *store.Key
	events    []policy.Event
	synthetic bool
}

var fixture struct {
	template *siteData
	db       string // a database holding template under site
	site     string
}

// lookupFixture returns a site and a database holding an agreed
// relationship with it, for the look-up sections.
func lookupFixture(c *config, rep *report) (site, db string, err error) {
	if fixture.db != "" {
		return fixture.site, fixture.db, nil
	}
	t, err := templateSite()
	if err != nil {
		return "", "", err
	}
	db = filepath.Join(c.scratch, "fixture", "rbutton.db")
	if err := os.MkdirAll(filepath.Dir(db), 0o700); err != nil {
		return "", "", err
	}
	if err := store.New(db).Update(func(tx *store.Tx) error { return putSite(tx, t, t.rel.Site) }); err != nil {
		return "", "", err
	}
	fixture.db, fixture.site = db, t.rel.Site
	return fixture.site, fixture.db, nil
}

// putSite stores t as the data for site (the relationship's Site and its
// record's agreement site are rewritten; signatures are then stale, which
// look-ups do not check).
func putSite(tx *store.Tx, t *siteData, site string) error {
	r := t.rel
	r.Site = site
	if r.Record != nil {
		rec := *r.Record
		rec.Agreement.Site = site
		r.Record = &rec
	}
	if err := tx.PutRelationship(r); err != nil {
		return err
	}
	if t.key != nil {
		if err := tx.PutKey(site, *t.key); err != nil {
			return err
		}
	}
	for _, e := range t.events {
		if _, err := tx.AppendEvent(site, e); err != nil {
			return err
		}
	}
	return nil
}

func templateSite() (*siteData, error) {
	if fixture.template != nil {
		return fixture.template, nil
	}
	t, err := syntheticSite("http://127.0.0.1:8441")
	if err != nil {
		return nil, err
	}
	fixture.template = t
	return t, nil
}

// syntheticSite builds what the host would store after agreeing with a
// shop like the demo one: a three-offer terms document, the default user
// terms, a record signed by both sides, the key and a negotiated event.
func syntheticSite(site string) (*siteData, error) {
	user, ok := policy.Preset(policy.DefaultPreset)
	if !ok {
		return nil, fmt.Errorf("no preset %q", policy.DefaultPreset)
	}
	sitePub, sitePriv, err := policy.NewPairwiseKey()
	if err != nil {
		return nil, err
	}
	userPub, userPriv, err := policy.NewPairwiseKey()
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	var offers []policy.Offer
	for _, p := range policy.Presets[:3] {
		offers = append(offers, policy.Offer{ID: p.Name, Preset: p.Name, Summary: p.Description,
			Terms: p.Terms.Terms, Obligations: p.Terms.Obligations})
	}
	doc := &policy.TermsDocument{
		V:          1,
		Controller: policy.Controller{Name: "Demo Shop Ltd", Contact: "privacy@shop.example"},
		Policy:     site + "/privacy",
		PublicKey:  policy.EncodeKey(sitePub),
		LastUpdate: now,
		Endpoints:  policy.Endpoints{Agreement: "/dnt-d/agreement", DataReturn: "/dnt-d/data", End: "/dnt-d/end"},
		Offers:     offers,
	}
	match := policy.Match(user, doc)
	if match.Offer == nil {
		return nil, fmt.Errorf("synthetic site: default terms match no offer")
	}
	a := policy.Agreement{V: 1, Site: site, TermsDigest: policy.Digest([]byte("synthetic terms")), Offer: match.Offer.ID,
		Terms: match.Offer.Terms, Obligations: match.Offer.Obligations, UserKey: policy.EncodeKey(userPub),
		SiteKey: doc.PublicKey, Nonce: policy.NewNonce(), Created: now}
	us, err := policy.SignAgreement(a, userPriv)
	if err != nil {
		return nil, err
	}
	ss, err := policy.SignAgreement(a, sitePriv)
	if err != nil {
		return nil, err
	}
	rec, err := policy.NewRecord(a, us, ss)
	if err != nil {
		return nil, err
	}
	offer := *match.Offer
	return &siteData{
		rel: store.Relationship{Site: site, State: store.StateAgreed, Since: now, Updated: now, TermsDigest: a.TermsDigest,
			AgreedDigest: policy.AgreedDigest(a.Terms, a.Obligations), SiteTerms: doc, MyTerms: &user, Record: &rec,
			Verified: true, Offer: &offer, Conflicts: []policy.Conflict{}},
		key:       &store.Key{Public: userPub, Private: userPriv, Created: now},
		events:    []policy.Event{{Type: policy.EventNegotiated, Time: now, Agreement: rec.ID, Detail: "agreed offer " + offer.ID}},
		synthetic: true,
	}, nil
}
