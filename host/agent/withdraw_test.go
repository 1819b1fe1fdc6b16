package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
	"github.com/rbutton/rbutton/site/sitetest"
)

// vendor is a real DNT-D site (the site library) on a loopback port.
type vendor struct {
	*site.Vendor
	srv    *httptest.Server
	origin string
}

func newVendor(t *testing.T, offers ...policy.Offer) *vendor {
	t.Helper()
	return newVendorWith(t, nil, nil, offers...)
}

// newVendorWith starts a vendor keeping its decisions in st (the memory
// store when nil) whose handler is wrapped by wrap (when not nil): a test
// holds, drops or inspects exchanges there.
func newVendorWith(t *testing.T, st site.Store, wrap func(http.Handler) http.Handler, offers ...policy.Offer) *vendor {
	t.Helper()
	v, srv := sitetest.Serve(t, site.Config{Controller: policy.Controller{Name: "Vendor", Contact: "privacy@vendor.test"},
		PolicyURL: "https://vendor.test/privacy", Offers: offers, Store: st}, wrap)
	return &vendor{Vendor: v, srv: srv, origin: v.Origin()}
}

// heldProposals holds the first POST to path (the agreement endpoint: the
// first proposal) until release is closed, and keeps the vendor's answers.
type heldProposals struct {
	held    atomic.Int32
	path    string
	arrived chan struct{}
	release chan struct{}
	mu      sync.Mutex
	answers []policy.Answer
}

func newHeldProposals() *heldProposals { return newHeld(site.DefaultAgreementPath) }

func newHeld(path string) *heldProposals {
	return &heldProposals{path: path, arrived: make(chan struct{}, 8), release: make(chan struct{})}
}

func (hp *heldProposals) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != hp.path {
			h.ServeHTTP(w, r)
			return
		}
		if hp.held.Add(1) == 1 {
			hp.arrived <- struct{}{}
			<-hp.release
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var ans policy.Answer
		if json.Unmarshal(rec.Body.Bytes(), &ans) == nil {
			hp.mu.Lock()
			hp.answers = append(hp.answers, ans)
			hp.mu.Unlock()
		}
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

func (hp *heldProposals) acceptedRecords() []string {
	hp.mu.Lock()
	defer hp.mu.Unlock()
	var ids []string
	for _, a := range hp.answers {
		if a.Record != nil {
			ids = append(ids, a.Record.ID)
		}
	}
	return ids
}

// negotiateAsync starts a negotiate call and returns where its outcome
// arrives.
func negotiateAsync(a *Agent, params map[string]string) <-chan negotiated {
	done := make(chan negotiated, 1)
	raw, _ := json.Marshal(params)
	go func() {
		res, perr := a.Handle(context.Background(), proto.Request{ID: "n", Type: proto.TypeNegotiate, Params: raw})
		rel, _ := res.(store.Relationship)
		done <- negotiated{rel, perr}
	}()
	return done
}

type negotiated struct {
	rel store.Relationship
	err *proto.Error
}

// TestTermsChangeDuringNegotiation: the user tightens their terms while the
// site is deciding on a proposal made under the old ones. The terms change
// found nothing in force to withdraw; the negotiation, finishing after it,
// must not leave an agreement in force that the terms now in force refuse:
// it is stored withdrawn and ended with the site.
func TestTermsChangeDuringNegotiation(t *testing.T) {
	t.Parallel()
	held := newHeldProposals()
	shop := newVendorWith(t, nil, held.wrap, basicOffer) // fits analytics, not service-only
	a := newAgent(t)
	done := negotiateAsync(a, shop.negotiateParams())
	<-held.arrived
	res := mustCall[TermsSetResult](t, a, proto.TypeTermsSet, map[string]any{"terms": mustPreset(t, "service-only")})
	if len(res.Withdrawn) != 0 {
		t.Fatalf("withdrawn %+v before any agreement existed", res.Withdrawn)
	}
	close(held.release)
	out := <-done
	if out.err != nil {
		t.Fatalf("negotiate: %v", out.err)
	}
	got := relationship(t, a, shop.origin)
	for _, r := range []store.Relationship{out.rel, got} {
		if r.State != store.StateEnded || r.AgreedDigest != "" || r.EndedBy != store.EndedByWithdrawal {
			t.Errorf("relationship after the terms changed: state %s, agreedDigest %q, endedBy %q; want ended, withdrawn", r.State, r.AgreedDigest, r.EndedBy)
		}
	}
	if h := history(t, a, shop.origin); fmt.Sprint(h) != "[negotiated withdrawn ended]" {
		t.Errorf("history = %v", h)
	}
	ids := held.acceptedRecords()
	if len(ids) != 1 {
		t.Fatalf("vendor accepted %v", ids)
	}
	if sr := shop.record(t, ids[0]); sr.Ended.IsZero() || sr.EndedBy != "user" {
		t.Errorf("the site still holds the agreement in force: %+v", sr)
	}
}

// TestForgetWhileEnding: the user forgets a site while its withdrawn
// agreement's end request is on its way. The site's answer, recorded
// afterwards, must not bring the forgotten site's history back.
func TestForgetWhileEnding(t *testing.T) {
	t.Parallel()
	held := newHeld(site.DefaultEndPath)
	shop := newVendorWith(t, nil, held.wrap, basicOffer)
	a := newAgent(t)
	rel := mustCall[store.Relationship](t, a, proto.TypeNegotiate, shop.negotiateParams())
	type setResult struct {
		res TermsSetResult
		err *proto.Error
	}
	done := make(chan setResult, 1)
	raw, _ := json.Marshal(map[string]any{"terms": mustPreset(t, "service-only")})
	go func() {
		res, perr := a.Handle(context.Background(), proto.Request{ID: "s", Type: proto.TypeTermsSet, Params: raw})
		r, _ := res.(TermsSetResult)
		done <- setResult{r, perr}
	}()
	<-held.arrived // stopped locally; the end request is at the site
	if _, found, err := a.Forget(context.Background(), shop.origin); err != nil || !found {
		t.Fatalf("forget: found %v, %v", found, err)
	}
	close(held.release)
	out := <-done
	if out.err != nil || len(out.res.Withdrawn) != 1 || !out.res.Withdrawn[0].Ended {
		t.Fatalf("terms.set: %+v %v", out.res, out.err)
	}
	assertNothingStored(t, a, shop.origin)
	if sr := shop.record(t, rel.Record.ID); sr.Ended.IsZero() {
		t.Errorf("the site was not told")
	}
}

// TestForgetDuringNegotiation: the user forgets the site while it decides
// on a proposal. The negotiation stores nothing (no relationship without
// its key, no history brought back) and ends what the site accepted.
func TestForgetDuringNegotiation(t *testing.T) {
	t.Parallel()
	held := newHeldProposals()
	shop := newVendorWith(t, nil, held.wrap, basicOffer)
	a := newAgent(t)
	done := negotiateAsync(a, shop.negotiateParams())
	<-held.arrived
	if _, found, err := a.Forget(context.Background(), shop.origin); err != nil || !found {
		t.Fatalf("forget: found %v, %v (the key stored before proposing)", found, err)
	}
	close(held.release)
	out := <-done
	if out.err == nil || out.err.Code != proto.CodeNotFound {
		t.Fatalf("negotiate after forget: %+v %v, want not_found", out.rel, out.err)
	}
	assertNothingStored(t, a, shop.origin)
	assertNoKey(t, a, shop.origin)
	ids := held.acceptedRecords()
	if len(ids) != 1 {
		t.Fatalf("vendor accepted %v", ids)
	}
	if sr := shop.record(t, ids[0]); sr.Ended.IsZero() || sr.EndedBy != "user" {
		t.Errorf("the site still holds an agreement nobody can end: %+v", sr)
	}
}

func (v *vendor) negotiateParams() map[string]string {
	_, _, digest := v.Terms()
	return map[string]string{"site": v.origin, "advertisement": policy.ResponseHeaderValue(digest)}
}

// record returns the vendor's copy of the record.
func (v *vendor) record(t *testing.T, id string) site.StoredRecord {
	t.Helper()
	sr, err := v.Store().GetRecord(id)
	if err != nil {
		t.Fatalf("vendor has no record %s: %v", id, err)
	}
	return sr
}

var serviceOffer = policy.Offer{
	ID: "service", Summary: "service only",
	Terms: policy.Terms{Tracking: policy.TrackingSession, Purposes: []policy.Purpose{policy.PurposeService},
		Sharing: policy.SharingProcessors, Retention: "P7D", Identity: policy.IdentityPseudonymous, Contact: policy.ContactTransactional},
	Obligations: policy.Obligations{Access: policy.LevelOnRequest, Deletion: policy.LevelOnRequest, DataReturn: policy.LevelOnRequest},
}

func generation(t *testing.T, a *Agent) uint64 {
	t.Helper()
	return mustCall[ChangesResult](t, a, proto.TypeChanges, map[string]any{"since": 0}).Generation
}

func relationship(t *testing.T, a *Agent, site string) store.Relationship {
	t.Helper()
	return mustCall[store.Relationship](t, a, proto.TypeRelationshipGet, map[string]string{"site": site})
}

// TestTermsSetWithdraws: stricter default terms stop, at once and in the
// same call, every agreement that no longer fits (and only those), end it
// with the site by a signed end request, and move the generation.
func TestTermsSetWithdraws(t *testing.T) {
	t.Parallel()
	shop := newVendor(t, basicOffer)    // fits analytics, not service-only
	plain := newVendor(t, serviceOffer) // fits both
	a := newAgent(t)
	rec := mustCall[store.Relationship](t, a, proto.TypeNegotiate, shop.negotiateParams())
	kept := mustCall[store.Relationship](t, a, proto.TypeNegotiate, plain.negotiateParams())
	if rec.State != store.StateAgreed || kept.State != store.StateAgreed {
		t.Fatalf("setup: %s %s", rec.State, kept.State)
	}
	before := generation(t, a)

	res := mustCall[TermsSetResult](t, a, proto.TypeTermsSet, map[string]any{"terms": mustPreset(t, "service-only")})
	if len(res.Withdrawn) != 1 || res.Withdrawn[0].Site != shop.origin || !res.Withdrawn[0].Ended || res.Withdrawn[0].Error != nil {
		t.Fatalf("withdrawn = %+v, want only %s, ended", res.Withdrawn, shop.origin)
	}
	if res.Generation <= before {
		t.Errorf("generation %d → %d", before, res.Generation)
	}
	got := relationship(t, a, shop.origin)
	if got.State != store.StateEnded || got.AgreedDigest != "" || got.Error != nil {
		t.Errorf("withdrawn relationship: state %s, agreedDigest %q, error %v", got.State, got.AgreedDigest, got.Error)
	}
	if h := history(t, a, shop.origin); fmt.Sprint(h) != "[negotiated withdrawn ended]" {
		t.Errorf("history = %v", h)
	}
	if sr := shop.record(t, rec.Record.ID); sr.Ended.IsZero() || sr.EndedBy != "user" {
		t.Errorf("the site still holds the agreement in force: %+v", sr)
	}
	if still := relationship(t, a, plain.origin); still.State != store.StateAgreed || still.AgreedDigest == "" {
		t.Errorf("an agreement that still fits was stopped: %+v", still)
	}
	if sr := plain.record(t, kept.Record.ID); !sr.Ended.IsZero() {
		t.Errorf("an agreement that still fits was ended with its site")
	}
	// Every browser learns of it from changes.
	ch := mustCall[ChangesResult](t, a, proto.TypeChanges, map[string]any{"since": before})
	if ch.Relationships == nil || len(*ch.Relationships) != 2 {
		t.Fatalf("changes since %d = %+v", before, ch)
	}
	for _, s := range *ch.Relationships {
		if s.Site == shop.origin && (s.State != store.StateEnded || s.AgreedDigest != "" || s.EndedBy != store.EndedByWithdrawal) {
			t.Errorf("changes shows %+v; want ended, withdrawn", s)
		}
		if s.Site == plain.origin && s.EndedBy != "" {
			t.Errorf("an agreement in force has endedBy %q", s.EndedBy)
		}
	}
	// The same stricter terms again withdraw nothing more.
	again := mustCall[TermsSetResult](t, a, proto.TypeTermsSet, map[string]any{"terms": mustPreset(t, "service-only")})
	if len(again.Withdrawn) != 0 {
		t.Errorf("second terms.set withdrew %+v", again.Withdrawn)
	}
	if got.EndedBy != store.EndedByWithdrawal {
		t.Errorf("endedBy = %q", got.EndedBy)
	}
	// Terms changed back: the next visit negotiates again (a withdrawn
	// agreement is not one the user ended), and agrees anew.
	mustCall[TermsSetResult](t, a, proto.TypeTermsSet, map[string]any{"terms": mustPreset(t, "analytics")})
	re := mustCall[store.Relationship](t, a, proto.TypeNegotiate, shop.negotiateParams())
	if re.State != store.StateAgreed || re.Record.ID == rec.Record.ID {
		t.Errorf("after the terms changed back: state %s, record %s (old %s)", re.State, re.Record.ID, rec.Record.ID)
	}
}

// TestExceptionsWithdraw: a stricter exception for one site, and clearing a
// looser one, withdraw that site's agreement only.
func TestExceptionsWithdraw(t *testing.T) {
	t.Parallel()
	t.Run("set", func(t *testing.T) {
		t.Parallel()
		shop, other := newVendor(t, basicOffer), newVendor(t, basicOffer)
		a := newAgent(t)
		rec := mustCall[store.Relationship](t, a, proto.TypeNegotiate, shop.negotiateParams())
		mustCall[store.Relationship](t, a, proto.TypeNegotiate, other.negotiateParams())
		res := mustCall[ExceptionResult](t, a, proto.TypeExceptionSet, map[string]any{"site": shop.origin, "terms": mustPreset(t, "service-only")})
		if len(res.Withdrawn) != 1 || res.Withdrawn[0].Site != shop.origin || !res.Withdrawn[0].Ended {
			t.Fatalf("withdrawn = %+v", res.Withdrawn)
		}
		if shop.record(t, rec.Record.ID).Ended.IsZero() {
			t.Error("the site was not told")
		}
		if relationship(t, a, other.origin).State != store.StateAgreed {
			t.Error("another site's agreement was stopped")
		}
	})
	t.Run("clear", func(t *testing.T) {
		t.Parallel()
		yearLong := basicOffer
		yearLong.ID, yearLong.Terms.Retention = "year", "P1Y" // beyond the default preset's P90D
		ads := newVendor(t, yearLong)
		a := newAgent(t)
		mustCall[ExceptionResult](t, a, proto.TypeExceptionSet, map[string]any{"site": ads.origin, "terms": mustPreset(t, "first-party")})
		rec := mustCall[store.Relationship](t, a, proto.TypeNegotiate, ads.negotiateParams())
		if rec.State != store.StateAgreed {
			t.Fatalf("setup: %+v", rec)
		}
		res := mustCall[ExceptionResult](t, a, proto.TypeExceptionClear, map[string]any{"site": ads.origin})
		if !res.Cleared || len(res.Withdrawn) != 1 || !res.Withdrawn[0].Ended {
			t.Fatalf("result = %+v", res)
		}
		if ads.record(t, rec.Record.ID).Ended.IsZero() {
			t.Error("the site was not told")
		}
		if got := relationship(t, a, ads.origin); got.State != store.StateEnded {
			t.Errorf("state %s", got.State)
		}
	})
}

// TestWithdrawUnreachableAndSlowSites: a site that cannot be reached, or
// does not answer, does not keep the agreement in force: it ends locally,
// at once, and the reply comes within the withdrawal deadline.
func TestWithdrawUnreachableAndSlowSites(t *testing.T) {
	t.Parallel()
	gone := newVendor(t, basicOffer)
	slow := newVendor(t, basicOffer)
	a := newAgent(t)
	a.WithdrawTimeout = 300 * time.Millisecond
	mustCall[store.Relationship](t, a, proto.TypeNegotiate, gone.negotiateParams())
	mustCall[store.Relationship](t, a, proto.TypeNegotiate, slow.negotiateParams())
	a.Client.Timeout = time.Hour // only the withdrawal's deadline can end the hanging request
	gone.srv.Close()
	abandoned := make(chan struct{}, 1)
	slow.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // read it all, so that a closed connection cancels the context
		<-r.Context().Done()
		abandoned <- struct{}{}
	})
	res := mustCall[TermsSetResult](t, a, proto.TypeTermsSet, map[string]any{"terms": mustPreset(t, "service-only")})
	<-abandoned // the end request to the hanging site was given up
	want := map[string]string{gone.origin: proto.CodeSiteUnreachable, slow.origin: proto.CodeSiteTimeout}
	if len(res.Withdrawn) != 2 {
		t.Fatalf("withdrawn = %+v", res.Withdrawn)
	}
	for _, w := range res.Withdrawn {
		if w.Ended || w.Error == nil || w.Error.Code != want[w.Site] {
			t.Errorf("%s: %+v, want ended false with %s", w.Site, w, want[w.Site])
		}
		rel := relationship(t, a, w.Site)
		if rel.State != store.StateEnded || rel.AgreedDigest != "" || rel.Error == nil || rel.Error.Code != want[w.Site] {
			t.Errorf("%s: relationship %s %q %+v", w.Site, rel.State, rel.AgreedDigest, rel.Error)
		}
		if h := history(t, a, w.Site); fmt.Sprint(h) != "[negotiated withdrawn ended]" {
			t.Errorf("%s: history = %v", w.Site, h)
		}
	}
}

// TestSiteEndedIsWithdrawal: a 410 ended or 404 not_found from the
// data-return or end endpoint means the site holds no agreement: the
// relationship ends locally, browsers learn of it from the generation.
func TestSiteEndedIsWithdrawal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, msg string
		prepare   func(t *testing.T, v *vendor, record string)
	}{
		{"410 on data return", proto.TypeDataFetch, func(t *testing.T, v *vendor, record string) {
			if err := v.End(record, "closing the shop"); err != nil {
				t.Fatal(err)
			}
		}},
		{"404 on data return", proto.TypeDataFetch, nil},
		{"410 on end", proto.TypeRelationshipEnd, func(t *testing.T, v *vendor, record string) {
			if err := v.End(record, "closing the shop"); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := newVendor(t, basicOffer)
			a := newAgent(t)
			rel := mustCall[store.Relationship](t, a, proto.TypeNegotiate, v.negotiateParams())
			if tc.prepare != nil {
				tc.prepare(t, v, rel.Record.ID)
			} else {
				// A vendor that lost its records: a fresh one on the same origin and key is not possible
				// with the library, so the record is made unknown by a vendor with another store.
				v2, err := site.New(site.Config{Origin: v.origin, Controller: policy.Controller{Name: "V", Contact: "c@v.test"},
					PolicyURL: "https://v.test", Offers: []policy.Offer{basicOffer}, PrivateKey: ed25519.NewKeyFromSeed(make([]byte, 32))})
				if err != nil {
					t.Fatal(err)
				}
				v.srv.Config.Handler = v2.Handler()
			}
			before := generation(t, a)
			_, perr := call(t, a, tc.msg, map[string]string{"site": v.origin})
			if tc.msg == proto.TypeDataFetch && (perr == nil || perr.Code != proto.CodeSiteRefused) {
				t.Fatalf("%s: %v, want site_refused", tc.msg, perr)
			}
			got := relationship(t, a, v.origin)
			if got.State != store.StateEnded || got.AgreedDigest != "" {
				t.Errorf("relationship still %s (%q)", got.State, got.AgreedDigest)
			}
			if g := generation(t, a); g <= before {
				t.Errorf("generation did not move: %d → %d", before, g)
			}
			if h := history(t, a, v.origin); fmt.Sprint(h) != "[negotiated ended]" {
				t.Errorf("history = %v", h)
			}
		})
	}
}

// TestForgetEndsWithSite: forget tells the site before the key is gone.
func TestForgetEndsWithSite(t *testing.T) {
	t.Parallel()
	v := newVendor(t, basicOffer)
	a := newAgent(t)
	rel := mustCall[store.Relationship](t, a, proto.TypeNegotiate, v.negotiateParams())
	before := generation(t, a)
	w, found, err := a.Forget(context.Background(), v.origin)
	if err != nil || !found || w == nil || !w.Ended || w.Error != nil {
		t.Fatalf("Forget = %+v %v %v", w, found, err)
	}
	if sr := v.record(t, rel.Record.ID); sr.Ended.IsZero() || sr.EndedBy != "user" {
		t.Errorf("the site still holds the agreement: %+v", sr)
	}
	assertNothingStored(t, a, v.origin)
	assertNoKey(t, a, v.origin)
	if g := generation(t, a); g <= before {
		t.Errorf("generation did not move")
	}
	if _, found, err := a.Forget(context.Background(), v.origin); found || err != nil {
		t.Errorf("second forget: found %v, %v", found, err)
	}
}

// TestChangesAndSiteView: changes answers null when nothing changed;
// site.view has relationship, verified history and generation in one.
func TestChangesAndSiteView(t *testing.T) {
	t.Parallel()
	v := newVendor(t, basicOffer)
	a := newAgent(t)
	hello := mustCall[Hello](t, a, proto.TypeHello, struct{}{})
	if hello.StoreError != nil {
		t.Fatal(hello.StoreError)
	}
	none := mustCall[ChangesResult](t, a, proto.TypeChanges, map[string]any{"since": hello.Generation})
	if none.Relationships != nil || none.Generation != hello.Generation {
		t.Errorf("no change: %+v", none)
	}
	empty := mustCall[SiteView](t, a, proto.TypeSiteView, map[string]string{"site": v.origin})
	if empty.Relationship != nil || empty.History != nil {
		t.Errorf("site.view before any contact: %+v", empty)
	}
	rel := mustCall[store.Relationship](t, a, proto.TypeNegotiate, v.negotiateParams())
	view := mustCall[SiteView](t, a, proto.TypeSiteView, map[string]string{"site": v.origin})
	if view.Relationship == nil || view.Relationship.Record.ID != rel.Record.ID || view.History == nil || !view.History.Verified ||
		len(view.History.Events) != 1 || view.Generation != generation(t, a) || view.Generation == hello.Generation {
		t.Errorf("site.view = %+v", view)
	}
	ch := mustCall[ChangesResult](t, a, proto.TypeChanges, map[string]any{"since": hello.Generation})
	if ch.Relationships == nil || len(*ch.Relationships) != 1 || (*ch.Relationships)[0].AgreedDigest != rel.AgreedDigest {
		t.Errorf("changes = %+v", ch)
	}
	for _, bad := range []string{`{}`, `{"since":-1}`, `{"since":"1"}`} {
		if _, perr := call(t, a, proto.TypeChanges, rawJSON(bad)); perr == nil || perr.Code != proto.CodeInvalidParams {
			t.Errorf("changes %s: %v, want invalid_params", bad, perr)
		}
	}
}

type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// TestDataAcceptChecksTheBrowsersAnswer: the extension passes on the status
// and media type of the answer it got; the host checks them as its own, and
// a 410 from the site (sent from the browser) ends the relationship.
func TestDataAcceptChecksTheBrowsersAnswer(t *testing.T) {
	t.Parallel()
	v := newVendor(t, basicOffer)
	a := newAgent(t)
	rel := mustCall[store.Relationship](t, a, proto.TypeNegotiate, v.negotiateParams())
	accept := func(status int, ctype, body string) *proto.Error {
		_, perr := call(t, a, proto.TypeDataAccept, map[string]any{"site": v.origin, "status": status, "contentType": ctype, "body": body})
		return perr
	}
	dataReturn := fmt.Sprintf(`{"v":1,"record":%q,"controller":{"name":"V","contact":"c@v.test"},"generated":"2026-01-01T00:00:00Z","items":[]}`, rel.Record.ID)
	if perr := accept(200, "application/json", dataReturn); perr == nil || perr.Code != proto.CodeSiteProtocolError {
		t.Errorf("200 as application/json: %v, want site_protocol_error", perr)
	}
	if perr := accept(200, policy.MediaType+"; charset=utf-8", dataReturn); perr != nil {
		t.Errorf("a good answer: %v", perr)
	}
	if perr := accept(500, "text/html", "<h1>oops</h1>"); perr == nil || perr.Code != proto.CodeSiteProtocolError {
		t.Errorf("500 as HTML: %v, want site_protocol_error", perr)
	}
	if relationship(t, a, v.origin).State != store.StateAgreed {
		t.Fatal("a failed data return ended the relationship")
	}
	before := generation(t, a)
	perr := accept(410, policy.MediaType, `{"v":1,"error":"ended","message":"the relationship was ended by the site"}`)
	if perr == nil || perr.Code != proto.CodeSiteRefused {
		t.Errorf("410: %v, want site_refused", perr)
	}
	got := relationship(t, a, v.origin)
	if got.State != store.StateEnded || got.EndedBy != store.EndedBySite || got.AgreedDigest != "" || generation(t, a) <= before {
		t.Errorf("after a 410: %s by %q, digest %q", got.State, got.EndedBy, got.AgreedDigest)
	}
}

// killedAfterWithdrawal leaves a's database as a host killed right after it
// committed a withdrawal leaves it: the agreement stopped here, its end
// request never sent.
func killedAfterWithdrawal(t *testing.T, a *Agent, terms policy.UserTerms) {
	t.Helper()
	err := a.DB.Update(func(tx *store.Tx) error {
		if err := tx.PutDefaults(terms); err != nil {
			return err
		}
		_, err := a.recheck(tx, "", "the user changed their default terms")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func endsOwed(t *testing.T, a *Agent) []store.PendingEnd {
	t.Helper()
	var list []store.PendingEnd
	if err := a.DB.View(func(tx *store.Tx) error {
		var err error
		list, err = tx.PendingEnds()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return list
}

// TestEndOwedAfterKilledHost: a host killed between saving a withdrawal
// and sending its end request leaves the end owed; the next host process
// that contacts sites (a negotiate, a terms change, forget) sends it, the
// site ends the agreement, and nothing stays owed.
func TestEndOwedAfterKilledHost(t *testing.T) {
	t.Parallel()
	for _, next := range []string{"negotiate", "terms.set", "forget"} {
		t.Run(next, func(t *testing.T) {
			t.Parallel()
			shop := newVendor(t, basicOffer)
			plain := newVendor(t, serviceOffer)
			a := newAgent(t)
			rec := mustCall[store.Relationship](t, a, proto.TypeNegotiate, shop.negotiateParams())
			killedAfterWithdrawal(t, a, mustPreset(t, "service-only"))
			if sr := shop.record(t, rec.Record.ID); !sr.Ended.IsZero() {
				t.Fatal("setup: the site heard of the end")
			}
			if got := relationship(t, a, shop.origin); got.State != store.StateEnded {
				t.Fatalf("setup: %s", got.State)
			}
			if list := endsOwed(t, a); len(list) != 1 || list[0].Record != rec.Record.ID {
				t.Fatalf("owed after the withdrawal was saved: %+v", list)
			}
			// What is owed is shown to the user like everything stored.
			if ex, err := ExportAll(a.DB, time.Now()); err != nil || len(ex.PendingEnds) != 1 || ex.PendingEnds[0].Site != shop.origin {
				t.Errorf("export's pendingEnds: %+v %v", ex, err)
			}

			// The next process, on the same file.
			b := &Agent{DB: store.New(a.DB.Path), Client: a.Client, Log: a.Log}
			switch next {
			case "negotiate":
				mustCall[store.Relationship](t, b, proto.TypeNegotiate, plain.negotiateParams())
			case "terms.set":
				res := mustCall[TermsSetResult](t, b, proto.TypeTermsSet, map[string]any{"terms": mustPreset(t, "service-only")})
				if len(res.Withdrawn) != 1 || res.Withdrawn[0].Site != shop.origin || !res.Withdrawn[0].Ended {
					t.Errorf("terms.set reports %+v, want the owed end to %s, confirmed", res.Withdrawn, shop.origin)
				}
			case "forget":
				if _, found, err := b.Forget(context.Background(), shop.origin); err != nil || !found {
					t.Fatalf("forget: %v %v", found, err)
				}
			}
			if sr := shop.record(t, rec.Record.ID); sr.Ended.IsZero() || sr.EndedBy != "user" {
				t.Errorf("after %s the site still holds the agreement: %+v", next, sr)
			}
			if list := endsOwed(t, b); len(list) != 0 {
				t.Errorf("still owed: %+v", list)
			}
			if next != "forget" {
				if h := history(t, b, shop.origin); fmt.Sprint(h) != "[negotiated withdrawn ended]" {
					t.Errorf("history = %v", h)
				}
			}
		})
	}
}

// TestEndOwedWhileUnreachable: an end the site never received stays owed
// (the relationship is ended here at once) and is given up after
// MaxEndTries.
func TestEndOwedWhileUnreachable(t *testing.T) {
	t.Parallel()
	shop := newVendor(t, basicOffer)
	a := newAgent(t)
	mustCall[store.Relationship](t, a, proto.TypeNegotiate, shop.negotiateParams())
	shop.srv.Close()
	res := mustCall[TermsSetResult](t, a, proto.TypeTermsSet, map[string]any{"terms": mustPreset(t, "service-only")})
	if len(res.Withdrawn) != 1 || res.Withdrawn[0].Ended {
		t.Fatalf("withdrawn = %+v", res.Withdrawn)
	}
	for try := 1; try < MaxEndTries; try++ {
		if list := endsOwed(t, a); len(list) != 1 || list[0].Tries != try {
			t.Fatalf("after %d tries owed: %+v", try, list)
		}
		if sent := a.ResendPendingEnds(context.Background()); len(sent) != 1 || sent[0].Ended {
			t.Fatalf("resend %d: %+v", try, sent)
		}
	}
	if list := endsOwed(t, a); len(list) != 0 {
		t.Errorf("still owed after %d tries: %+v", MaxEndTries, list)
	}
}

// TestWithdrawSiteAlreadyEnded: a site that answers the withdrawal's end
// request with 410 ended (it ended the agreement itself) holds none: the
// withdrawal counts it as ended, with no error to show.
func TestWithdrawSiteAlreadyEnded(t *testing.T) {
	t.Parallel()
	v := newVendor(t, basicOffer)
	a := newAgent(t)
	rel := mustCall[store.Relationship](t, a, proto.TypeNegotiate, v.negotiateParams())
	if err := v.End(rel.Record.ID, "closing down"); err != nil {
		t.Fatal(err)
	}
	res := mustCall[TermsSetResult](t, a, proto.TypeTermsSet, map[string]any{"terms": mustPreset(t, "service-only")})
	if len(res.Withdrawn) != 1 || !res.Withdrawn[0].Ended || res.Withdrawn[0].Error != nil {
		t.Fatalf("withdrawn = %+v, want ended without error", res.Withdrawn)
	}
	if got := relationship(t, a, v.origin); got.State != store.StateEnded || got.Error != nil {
		t.Errorf("relationship %s, error %+v", got.State, got.Error)
	}
}

// TestOwedEndSentTwiceIsRecordedOnce: a call that contacts sites resends
// owed ends beside its own work (agent.go), so the same owed end can be sent
// by the withdrawal and by a resend that read it just before. The site's
// answer is recorded once: the one that settles the owed end records it.
func TestOwedEndSentTwiceIsRecordedOnce(t *testing.T) {
	t.Parallel()
	v := newVendor(t, basicOffer)
	a := newAgent(t)
	rel := mustCall[store.Relationship](t, a, proto.TypeNegotiate, v.negotiateParams())
	var list []stopped
	if err := a.DB.Update(func(tx *store.Tx) error {
		cur, err := tx.Relationship(v.origin)
		if err != nil || cur == nil {
			return fmt.Errorf("relationship: %v %v", cur, err)
		}
		s, err := a.stop(tx, *cur, store.EndedByWithdrawal, policy.EventWithdrawn, "test", time.Now())
		list = []stopped{s}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// Both senders hold the owed end before either has settled it.
	first := a.endWithSites(context.Background(), list)
	second := a.endWithSites(context.Background(), list)
	if !first[0].Ended {
		t.Fatalf("first end: %+v", first[0])
	}
	_ = second // the site answers the repeat as it likes (ended already); it is not recorded
	if h := history(t, a, v.origin); fmt.Sprint(h) != "[negotiated withdrawn ended]" {
		t.Errorf("history = %v, want one ended event", h)
	}
	if sr := v.record(t, rel.Record.ID); sr.Ended.IsZero() {
		t.Errorf("the site still holds the agreement: %+v", sr)
	}
}

// TestForgetDamagedRelationship: forget is what the user is told to do
// about one damaged relationship (store.Advice), so it must work on one:
// the relationship and the site's key go, the site is not contacted.
func TestForgetDamagedRelationship(t *testing.T) {
	t.Parallel()
	v := newVendor(t, basicOffer)
	a := newAgent(t)
	rel := mustCall[store.Relationship](t, a, proto.TypeNegotiate, v.negotiateParams())
	db, err := bolt.Open(a.DB.Path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("relationships"))
		val := bytes.Clone(b.Get([]byte(v.origin)))
		i := bytes.Index(val, []byte(`"state":"agreed"`))
		copy(val[i:], `"state":"AGREED"`) // still JSON; the checksum no longer fits
		return b.Put([]byte(v.origin), val)
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, perr := call(t, a, proto.TypeRelationshipGet, map[string]string{"site": v.origin})
	if perr == nil || !strings.Contains(perr.Message, "checksum mismatch") || !strings.Contains(perr.Message, a.DB.Path) {
		t.Fatalf("relationship.get of the damaged relationship: %+v, want the file and the checksum named", perr)
	}
	if advice := store.Advice(a.DB.View(func(tx *store.Tx) error { _, err := tx.Relationship(v.origin); return err })); !strings.Contains(advice, "rbutton forget "+v.origin) {
		t.Errorf("advice %q does not name forget for the site", advice)
	}
	w, found, err := a.Forget(context.Background(), v.origin)
	if err != nil || !found || w != nil {
		t.Fatalf("Forget = %+v %v %v, want found and nothing sent", w, found, err)
	}
	if sr := v.record(t, rel.Record.ID); !sr.Ended.IsZero() {
		t.Errorf("the site was contacted: %+v", sr)
	}
	assertNothingStored(t, a, v.origin)
	assertNoKey(t, a, v.origin)
}
