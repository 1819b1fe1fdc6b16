package main

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"
	bolt "go.etcd.io/bbolt"

	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
	"github.com/rbutton/rbutton/site/sitetest"
)

// A real vendor (the site library) on loopback for the scripts: it takes
// details into a CRM the script can print, and remembers its records so the
// script can file items under them.
type crmVendor struct {
	v   *site.Vendor
	mu  sync.Mutex
	crm map[string]policy.Details
	rec *sitetest.Recording // the records it accepted
}

var crmVendors sync.Map // "<work dir>/<name>" → *crmVendor

var crmVendorOffer = policy.Offer{ID: "basic", Preset: "SD-BY-A", Summary: "service and first-party analytics",
	Terms: policy.Terms{Tracking: policy.TrackingFirstParty, Purposes: []policy.Purpose{policy.PurposeService, policy.PurposeAnalytics},
		Sharing: policy.SharingProcessors, Retention: "P30D", Identity: policy.IdentityPseudonymous, Contact: policy.ContactTransactional},
	Obligations: policy.Obligations{Access: policy.LevelOnRequest, Deletion: policy.LevelOnRequest, DataReturn: policy.LevelOnRequest}}

// crmvendor NAME starts a vendor and sets $NAME_ORIGIN and $NAME_ADVERT (its
// DNT-D response header value).
// crmvendor NAME item TYPE KEY=VALUE files an item under its newest record.
// crmvendor NAME crm prints what its CRM holds.
func cmdCRMVendor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: crmvendor NAME [item TYPE KEY=VALUE | crm]")
	}
	key := ts.Getenv("WORK") + "/" + args[0]
	if len(args) == 1 {
		sv := &crmVendor{crm: map[string]policy.Details{}, rec: sitetest.NewRecording(nil)}
		_, priv, err := ed25519.GenerateKey(nil)
		ts.Check(err)
		srv := httptest.NewUnstartedServer(nil)
		srv.Start()
		sv.v, err = site.New(site.Config{Origin: srv.URL, Controller: policy.Controller{Name: "Script Shop", Contact: "privacy@script.test"},
			PolicyURL: "https://script.test/privacy", Offers: []policy.Offer{crmVendorOffer}, PrivateKey: priv,
			Store: sv.rec, RateLimit: site.RateLimit{Every: -1},
			Details: func(u site.DetailsUpdate) error {
				sv.mu.Lock()
				defer sv.mu.Unlock()
				d := sv.crm[u.Relationship]
				if u.Details.Email != "" {
					d.Email = u.Details.Email
				}
				if u.Details.Preferences != nil {
					d.Preferences = u.Details.Preferences
				}
				sv.crm[u.Relationship] = d
				return nil
			}})
		ts.Check(err)
		srv.Config.Handler = sv.v.Handler()
		ts.Defer(srv.Close)
		crmVendors.Store(key, sv)
		_, _, digest := sv.v.Terms()
		name := strings.ToUpper(args[0])
		ts.Setenv(name+"_ORIGIN", srv.URL)
		ts.Setenv(name+"_ADVERT", policy.ResponseHeaderValue(digest))
		return
	}
	x, ok := crmVendors.Load(key)
	if !ok {
		ts.Fatalf("no vendor %s", args[0])
	}
	sv := x.(*crmVendor)
	switch args[1] {
	case "item":
		if len(args) != 4 {
			ts.Fatalf("usage: crmvendor NAME item TYPE KEY=VALUE")
		}
		k, v, _ := strings.Cut(args[3], "=")
		ids := sv.rec.IDs()
		if len(ids) == 0 {
			ts.Fatalf("vendor %s has no record yet", args[0])
		}
		id := ids[len(ids)-1]
		ts.Check(sv.v.RecordFor(id, policy.DataItem{Type: args[2], Data: map[string]string{k: v}}))
	case "crm":
		sv.mu.Lock()
		defer sv.mu.Unlock()
		for _, d := range sv.crm {
			fmt.Fprintf(ts.Stdout(), "email=%s\n", d.Email)
		}
	default:
		ts.Fatalf("unknown vendor subcommand %q", args[1])
	}
}

// tamper FILE BUCKET[/SUB] OLD NEW replaces OLD with NEW in every value of
// that bucket of a bbolt file, as someone editing the database would.
func cmdTamper(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: tamper FILE BUCKET[/SUB] OLD NEW")
	}
	db, err := bolt.Open(ts.MkAbs(args[0]), 0o600, nil)
	ts.Check(err)
	defer db.Close()
	n := 0
	ts.Check(db.Update(func(tx *bolt.Tx) error {
		top, sub, _ := strings.Cut(args[1], "/")
		b := tx.Bucket([]byte(top))
		if b != nil && sub != "" {
			b = b.Bucket([]byte(sub))
		}
		if b == nil {
			return fmt.Errorf("no bucket %s", args[1])
		}
		type kv struct{ k, v []byte }
		var edits []kv
		b.ForEach(func(k, v []byte) error {
			if v != nil && bytes.Contains(v, []byte(args[2])) {
				edits = append(edits, kv{append([]byte(nil), k...), bytes.ReplaceAll(v, []byte(args[2]), []byte(args[3]))})
			}
			return nil
		})
		for _, e := range edits {
			if err := b.Put(e.k, e.v); err != nil {
				return err
			}
			n++
		}
		return nil
	}))
	if n == 0 {
		ts.Fatalf("tamper: %q not found in %s", args[2], args[1])
	}
}

// truncate FILE N keeps the first N bytes of FILE.
func cmdTruncate(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: truncate FILE N")
	}
	var n int
	_, err := fmt.Sscan(args[1], &n)
	ts.Check(err)
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	if n > len(b) {
		n = len(b)
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b[:n], 0o644))
}
