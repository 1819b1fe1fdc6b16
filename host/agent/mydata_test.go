package agent

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
)

// Misbehaviours a vendor's details endpoint can be switched to.
const (
	vendorOK      = iota
	vendorGarbage // answers 200 with something that is not a details answer
	vendorSilent  // never answers
	vendorDown    // connection closed
)

// realVendor is the site library's Vendor on a loopback server, with a CRM
// hook that remembers the details it took, and a switch that makes its
// details endpoint misbehave.
type realVendor struct {
	v      *site.Vendor
	origin string
	mode   atomic.Int32
	mu     sync.Mutex
	crm    map[string]policy.Details // by relationship
	refuse error
}

func newRealVendor(t *testing.T, offers ...policy.Offer) *realVendor {
	t.Helper()
	rv := &realVendor{crm: map[string]policy.Details{}}
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	rv.origin = srv.URL
	rv.v, err = site.New(site.Config{
		Origin: rv.origin, Controller: policy.Controller{Name: "Real Shop", Contact: "privacy@real.test"},
		PolicyURL: "https://real.test/privacy", Offers: offers, PrivateKey: priv,
		RateLimit: site.RateLimit{Every: -1},
		Details: func(u site.DetailsUpdate) error {
			rv.mu.Lock()
			defer rv.mu.Unlock()
			if rv.refuse != nil {
				return rv.refuse
			}
			cur := rv.crm[u.Relationship]
			rv.crm[u.Relationship] = cur.Apply(u.Details)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := rv.v.Handler()
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == site.DefaultDetailsPath {
			switch rv.mode.Load() {
			case vendorGarbage:
				w.Header().Set("Content-Type", policy.MediaType)
				w.Write([]byte(`{"v":1,"status":"maybe"}`))
				return
			case vendorSilent:
				select {
				case <-release:
				case <-r.Context().Done():
				}
				return
			case vendorDown:
				hj, _ := w.(http.Hijacker)
				c, _, _ := hj.Hijack()
				c.Close()
				return
			}
		}
		h.ServeHTTP(w, r)
	})
	t.Cleanup(func() { close(release); srv.Close() })
	return rv
}

func (rv *realVendor) held() []policy.Details {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	var out []policy.Details
	for _, d := range rv.crm {
		out = append(out, d)
	}
	return out
}

// changeTerms publishes new terms (same offer, new summary), so the next
// negotiation makes a new record.
func (rv *realVendor) changeTerms(t *testing.T) {
	t.Helper()
	doc, _, _ := rv.v.Terms()
	offers := append([]policy.Offer(nil), doc.Offers...)
	offers[0].Summary += " (revised)"
	if err := rv.v.SetOffers(offers); err != nil {
		t.Fatal(err)
	}
}

func (rv *realVendor) negotiate(t *testing.T, a *Agent) store.Relationship {
	t.Helper()
	_, _, digest := rv.v.Terms()
	rel := mustCall[store.Relationship](t, a, proto.TypeNegotiate, map[string]any{"site": rv.origin, "advertisement": policy.ResponseHeaderValue(digest), "force": true})
	if rel.State != store.StateAgreed {
		t.Fatalf("negotiate: state %s, conflicts %+v", rel.State, rel.Conflicts)
	}
	return rel
}

func TestDataReturnsKeptWithChanges(t *testing.T) {
	a := newAgent(t)
	rv := newRealVendor(t, basicOffer)
	rel := rv.negotiate(t, a)
	if err := rv.v.RecordFor(rel.Record.ID, policy.DataItem{Type: "purchase", Data: map[string]string{"item": "teapot"}}); err != nil {
		t.Fatal(err)
	}
	mustCall[policy.DataReturn](t, a, proto.TypeDataFetch, map[string]string{"site": rv.origin})
	if err := rv.v.RecordFor(rel.Record.ID, policy.DataItem{Type: "purchase", Data: map[string]string{"item": "cups"}}); err != nil {
		t.Fatal(err)
	}
	mustCall[policy.DataReturn](t, a, proto.TypeDataFetch, map[string]string{"site": rv.origin})

	kd := mustCall[KeptData](t, a, proto.TypeDataGet, map[string]any{"site": rv.origin})
	if kd.Total != 2 || len(kd.Returns) != 2 {
		t.Fatalf("kept %d returns, want 2: %+v", kd.Total, kd)
	}
	first, second := kd.Returns[0], kd.Returns[1]
	if first.Changes != nil || first.Record != rel.Record.ID || first.Via != ViaHost {
		t.Errorf("first return: %+v", first)
	}
	if second.Changes == nil || len(second.Changes.Added) != 1 || second.Changes.Added[0].Data["item"] != "cups" || len(second.Changes.Removed) != 0 || second.Changes.Unchanged != len(first.Items) {
		t.Errorf("second return's changes: %+v (first had %d items)", second.Changes, len(first.Items))
	}
	last := mustCall[KeptData](t, a, proto.TypeDataGet, map[string]any{"site": rv.origin, "last": 1})
	if last.Total != 2 || len(last.Returns) != 1 || last.Returns[0].Seq != 1 {
		t.Errorf("last 1: %+v", last)
	}
	h := history(t, a, rv.origin)
	if h[len(h)-1] != policy.EventDataReturned {
		t.Errorf("history %v", h)
	}

	// A renegotiation keeps the replaced record: both can be shown and checked.
	rv.changeTerms(t)
	rv.negotiate(t, a)
	recs := mustCall[RecordsResult](t, a, proto.TypeRecordsGet, map[string]string{"site": rv.origin})
	if len(recs.Records) != 2 || recs.Records[0].InForce || !recs.Records[1].InForce || !recs.Records[0].Verified || !recs.Records[1].Verified {
		t.Fatalf("records: %+v", recs.Records)
	}
	checks, err := Verify(a.DB, "")
	if err != nil || len(checks) != 1 || !checks[0].OK() || len(checks[0].Records) != 2 || len(checks[0].Notes) != 0 {
		t.Fatalf("verify: %+v %v", checks, err)
	}

	// Forget removes the kept returns and records too.
	if err := a.DB.Update(func(tx *store.Tx) error { _, err := tx.Forget(rv.origin); return err }); err != nil {
		t.Fatal(err)
	}
	kd = mustCall[KeptData](t, a, proto.TypeDataGet, map[string]any{"site": rv.origin})
	recs = mustCall[RecordsResult](t, a, proto.TypeRecordsGet, map[string]string{"site": rv.origin})
	if kd.Total != 0 || len(recs.Records) != 0 {
		t.Errorf("after forget: %d returns, %d records", kd.Total, len(recs.Records))
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	a := newAgent(t)
	rv := newRealVendor(t, basicOffer)
	rv.negotiate(t, a)
	tamper := func(fn func(r *policy.Record)) {
		t.Helper()
		err := a.DB.Update(func(tx *store.Tx) error {
			rel, err := tx.Relationship(rv.origin)
			if err != nil {
				return err
			}
			r := *rel.Record
			fn(&r)
			return tx.PutRecord(rv.origin, r, time.Now())
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	tamper(func(r *policy.Record) { r.Agreement.Terms.Retention = "P10Y"; r.ID, _ = policy.RecordID(r.Agreement) })
	checks, err := Verify(a.DB, rv.origin)
	if err != nil || len(checks) != 1 || checks[0].OK() {
		t.Fatalf("a record with a changed agreement verifies: %+v %v", checks, err)
	}
	if p := strings.Join(checks[0].Problems, "; "); !strings.Contains(p, "signature") {
		t.Errorf("problem does not name the signature: %s", p)
	}
}

func TestDetailsShareAndUpdate(t *testing.T) {
	a := newAgent(t)
	rv := newRealVendor(t, basicOffer) // pseudonymous, transactional: email and preferences
	rv.negotiate(t, a)

	// Invalid details are refused naming the field; nothing is stored.
	for _, bad := range []struct{ details, field string }{
		{`{"email":"no-at-sign"}`, "email"},
		{`{"address":"` + strings.Repeat("x", 10<<20) + `"}`, ""},
		{`{"address":"` + strings.Repeat("x", 600) + `"}`, "address"},
		{`{"phone":"call me"}`, "phone"},
		{`{"nickname":"x"}`, "nickname"},
	} {
		_, perr := call(t, a, proto.TypeProfileSet, map[string]any{"details": jsonRaw(bad.details)})
		if perr == nil || perr.Code != proto.CodeInvalidDetails || !strings.Contains(perr.Message, bad.field) {
			t.Errorf("profile.set %.60s: %v, want invalid_details naming %q", bad.details, perr, bad.field)
		}
	}
	if v := mustCall[ProfileView](t, a, proto.TypeProfileGet, nil); v.Updated != nil {
		t.Fatalf("a refused profile was stored: %+v", v)
	}

	mustCall[ProfileView](t, a, proto.TypeProfileSet, map[string]any{"details": map[string]any{"name": "Ada Lovelace", "email": "ada@example.org"}})
	// The agreement does not allow the name: refused, naming it.
	if _, perr := call(t, a, proto.TypeProfileShare, map[string]any{"site": rv.origin, "fields": []string{"name"}}); perr == nil || perr.Code != proto.CodeNotAllowed || !strings.HasPrefix(perr.Message, "name:") {
		t.Fatalf("sharing the name: %v", perr)
	}
	// Without fields: what the agreement allows and the user has.
	sv := mustCall[ShareView](t, a, proto.TypeProfileShare, map[string]any{"site": rv.origin})
	if _, ok := sv.Holds["email"]; !ok || len(sv.Holds) != 1 {
		t.Fatalf("share: %+v", sv)
	}
	if held := rv.held(); len(held) != 1 || held[0].Email != "ada@example.org" || held[0].Name != "" {
		t.Fatalf("vendor holds %+v", held)
	}

	v := mustCall[ProfileView](t, a, proto.TypeProfileSet, map[string]any{"details": map[string]any{"name": "Ada King", "email": "ada@lovelace.example"}})
	if v.Pending != 1 {
		t.Fatalf("after changing the email, %d site(s) owed an update, want 1", v.Pending)
	}
	res := mustCall[PushResult](t, a, proto.TypeProfilePush, nil)
	if res.Delivered != 1 || res.Total != 1 {
		t.Fatalf("push: %+v", res)
	}
	if held := rv.held(); held[0].Email != "ada@lovelace.example" || held[0].Name != "" {
		t.Fatalf("vendor holds %+v after the update", held)
	}
	h := history(t, a, rv.origin)
	if got := strings.Join(h[len(h)-2:], " "); got != "details-shared details-updated" {
		t.Errorf("history ends %q", got)
	}
	// Changing only the name (which the site does not hold) owes nothing.
	if v := mustCall[ProfileView](t, a, proto.TypeProfileSet, map[string]any{"details": map[string]any{"name": "A. King", "email": "ada@lovelace.example"}}); v.Pending != 0 {
		t.Errorf("a detail the site does not hold made it owed an update")
	}
	// The site's own data return shows what it holds.
	dr := mustCall[policy.DataReturn](t, a, proto.TypeDataFetch, map[string]string{"site": rv.origin})
	found := false
	for _, it := range dr.Items {
		found = found || it.Type == "details" && it.Data["email"] == "ada@lovelace.example"
	}
	if !found {
		t.Errorf("data return does not show the details: %+v", dr.Items)
	}
}

func TestPushFailuresAreEachTheirOwn(t *testing.T) {
	a := newAgent(t)
	a.Client.Timeout = 500 * time.Millisecond
	vendors := []*realVendor{newRealVendor(t, basicOffer), newRealVendor(t, basicOffer), newRealVendor(t, basicOffer), newRealVendor(t, basicOffer), newRealVendor(t, basicOffer)}
	mustCall[ProfileView](t, a, proto.TypeProfileSet, map[string]any{"details": map[string]any{"email": "one@example.org"}})
	for _, rv := range vendors {
		rv.negotiate(t, a)
		mustCall[ShareView](t, a, proto.TypeProfileShare, map[string]any{"site": rv.origin, "fields": []string{"email"}})
	}
	vendors[1].mode.Store(vendorGarbage)
	vendors[2].mode.Store(vendorSilent)
	vendors[3].mode.Store(vendorDown)
	vendors[4].mu.Lock()
	vendors[4].refuse = errors.New("we no longer keep e-mail addresses")
	vendors[4].mu.Unlock()

	if v := mustCall[ProfileView](t, a, proto.TypeProfileSet, map[string]any{"details": map[string]any{"email": "two@example.org"}}); v.Pending != 5 {
		t.Fatalf("%d owed, want 5", v.Pending)
	}
	res := mustCall[PushResult](t, a, proto.TypeProfilePush, nil)
	want := map[string]string{
		vendors[0].origin: PushDelivered + " ",
		vendors[1].origin: PushRetrying + " " + proto.CodeSiteInvalidResponse,
		vendors[2].origin: PushRetrying + " " + proto.CodeSiteTimeout,
		vendors[3].origin: PushRetrying + " " + proto.CodeSiteUnreachable,
		vendors[4].origin: PushRefused + " " + proto.CodeSiteRefused,
	}
	for _, o := range res.Sites {
		got := o.Outcome + " "
		if o.Error != nil {
			got += o.Error.Code
		}
		if got != want[o.Site] {
			t.Errorf("%s: %q, want %q (%+v)", o.Site, got, want[o.Site], o.Error)
		}
	}
	if res.Delivered != 1 || res.Retrying != 3 || res.Refused != 1 || res.Summary() != "updated 1 of 5 site(s); 3 will be retried; 1 refused" {
		t.Errorf("push: %+v: %s", res, res.Summary())
	}
	h := history(t, a, vendors[2].origin)
	if h[len(h)-1] != policy.EventDetailsFailed {
		t.Errorf("silent site's history: %v", h)
	}
	// Not yet due: a second push waits; the failing sites stay owed.
	res = mustCall[PushResult](t, a, proto.TypeProfilePush, nil)
	if res.Waiting != 3 || res.Delivered != 0 {
		t.Errorf("second push: %+v", res)
	}
	// Once the sites recover, an immediate push delivers and the history says so.
	for _, rv := range vendors[1:4] {
		rv.mode.Store(vendorOK)
	}
	res = mustCall[PushResult](t, a, proto.TypeProfilePush, map[string]any{"all": true})
	if res.Delivered != 3 {
		t.Errorf("after recovery: %+v", res)
	}
	if h := history(t, a, vendors[3].origin); h[len(h)-1] != policy.EventDetailsUpdated || h[len(h)-2] != policy.EventDetailsFailed {
		t.Errorf("recovered site's history: %v", h)
	}
	v := mustCall[ProfileView](t, a, proto.TypeProfileGet, nil)
	if v.Pending != 0 {
		t.Errorf("%d still owed", v.Pending)
	}
}

func TestPushCancelled(t *testing.T) {
	a := newAgent(t)
	rv := newRealVendor(t, basicOffer)
	rv.negotiate(t, a)
	mustCall[ProfileView](t, a, proto.TypeProfileSet, map[string]any{"details": map[string]any{"email": "one@example.org"}})
	mustCall[ShareView](t, a, proto.TypeProfileShare, map[string]any{"site": rv.origin})
	mustCall[ProfileView](t, a, proto.TypeProfileSet, map[string]any{"details": map[string]any{"email": "two@example.org"}})
	rv.mode.Store(vendorSilent)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	res, err := a.Push(ctx, PushOptions{})
	if err != nil || res.Retrying != 1 {
		t.Fatalf("cancelled push: %+v %v", res, err)
	}
}

func jsonRaw(s string) any { return rawJSON(s) }
