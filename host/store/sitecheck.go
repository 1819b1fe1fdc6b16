package store

import (
	"time"

	"github.com/rbutton/rbutton/policy"
)

// bucketSiteChecks holds, per site, the last site.check: what the site's
// gpc.json and MyTerms file said. Created when first written (buckets added
// after schema 1 need no migration: reads treat a missing bucket as empty).
//
//	sitechecks/
//	  <site origin>               SiteCheck
var bucketSiteChecks = []byte("sitechecks")

// Statement is one fetched statement's outcome (negotiate.Fetched).
type Statement struct {
	State  string `json:"state"`
	Path   string `json:"path"`
	Detail string `json:"detail,omitempty"`
}

// SiteCheck is what the host last learnt from a site's own statements.
type SiteCheck struct {
	V            int                  `json:"v"`
	Site         string               `json:"site"`
	Checked      time.Time            `json:"checked"`
	Next         time.Time            `json:"next"`
	GPC          Statement            `json:"gpc"`
	GPCStatement *policy.GPCStatement `json:"gpcStatement"`
	MyTerms      Statement            `json:"myterms"`
	MyTermsFile  *policy.MyTermsFile  `json:"mytermsFile"`
}

// SiteCheck returns site's last check, or nil.
func (t *Tx) SiteCheck(site string) (*SiteCheck, error) {
	var c SiteCheck
	ok, err := t.get(bucketSiteChecks, site, &c)
	if !ok || err != nil {
		return nil, err
	}
	return &c, nil
}

// PutSiteCheck stores site's check.
func (t *Tx) PutSiteCheck(c SiteCheck) error {
	if _, err := t.tx.CreateBucketIfNotExists(bucketSiteChecks); err != nil {
		return err
	}
	c.V = 1
	return t.put(bucketSiteChecks, c.Site, c)
}

// SiteChecks returns every stored check, by site.
func (t *Tx) SiteChecks() (map[string]SiteCheck, error) { return all[SiteCheck](t, bucketSiteChecks) }

// bucketProffers holds the one-sided MyTerms proffers (PROTOCOL.md 9.2),
// per site, oldest first; the history's proffered events name them by id.
//
//	proffers/
//	  <site origin>               []policy.Proffer
var bucketProffers = []byte("proffers")

type storedProffers struct {
	V        int              `json:"v"`
	Proffers []policy.Proffer `json:"proffers"`
}

// Proffers returns site's proffers, oldest first.
func (t *Tx) Proffers(site string) ([]policy.Proffer, error) {
	var s storedProffers
	if _, err := t.get(bucketProffers, site, &s); err != nil {
		return nil, err
	}
	if s.Proffers == nil {
		s.Proffers = []policy.Proffer{}
	}
	return s.Proffers, nil
}

// AddProffer appends p to site's proffers.
func (t *Tx) AddProffer(site string, p policy.Proffer) error {
	ps, err := t.Proffers(site)
	if err != nil {
		return err
	}
	if _, err := t.tx.CreateBucketIfNotExists(bucketProffers); err != nil {
		return err
	}
	return t.put(bucketProffers, site, storedProffers{V: 1, Proffers: append(ps, p)})
}

// AllProffers returns every site's proffers.
func (t *Tx) AllProffers() (map[string][]policy.Proffer, error) {
	all, err := all[storedProffers](t, bucketProffers)
	out := make(map[string][]policy.Proffer, len(all))
	for site, s := range all {
		out[site] = s.Proffers
	}
	return out, err
}

// HistorySites lists every site with a history, relationship or not.
func (t *Tx) HistorySites() ([]string, error) {
	var out []string
	err := t.tx.Bucket(bucketHistory).ForEachBucket(func(k []byte) error {
		out = append(out, string(k))
		return nil
	})
	return out, err
}

// ReplaceProffers stores ps as site's proffers (import).
func (t *Tx) ReplaceProffers(site string, ps []policy.Proffer) error {
	if _, err := t.tx.CreateBucketIfNotExists(bucketProffers); err != nil {
		return err
	}
	return t.put(bucketProffers, site, storedProffers{V: 1, Proffers: ps})
}
