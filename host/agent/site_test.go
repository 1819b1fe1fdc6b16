package agent

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rbutton/rbutton/host/negotiate"
	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
)

// testSite is a small, well-behaved DNT-D site built directly on policy.
// Tests override parts of it to make it hostile.
type testSite struct {
	t       *testing.T
	srv     *httptest.Server
	origin  string
	pub     ed25519.PublicKey
	priv    ed25519.PrivateKey
	mu      sync.Mutex
	doc     []byte
	hits    atomic.Int64
	onOwn   string // answer to a proposal of the user's own terms: "refuse", "accept", "counter:<id>"
	records map[string]policy.Record
	// override, when set, handles a request instead (return true if handled).
	override func(w http.ResponseWriter, r *http.Request) bool
}

var basicOffer = policy.Offer{
	ID: "basic", Summary: "service and first-party analytics",
	Terms: policy.Terms{Tracking: policy.TrackingFirstParty, Purposes: []policy.Purpose{policy.PurposeService, policy.PurposeAnalytics},
		Sharing: policy.SharingProcessors, Retention: "P30D", Identity: policy.IdentityPseudonymous, Contact: policy.ContactTransactional},
	Obligations: policy.Obligations{Access: policy.LevelOnRequest, Deletion: policy.LevelOnRequest, DataReturn: policy.LevelOnRequest},
}

var adsOffer = policy.Offer{
	ID: "ads", Summary: "personalised advertising",
	Terms: policy.Terms{Tracking: policy.TrackingCrossSite, Purposes: []policy.Purpose{policy.PurposeService, policy.PurposePersonalisedAds},
		Sharing: policy.SharingThirdParties, Retention: "P2Y", Identity: policy.IdentityIdentified, Contact: policy.ContactMarketing},
	Obligations: policy.Obligations{Access: policy.LevelOnRequest, Deletion: policy.LevelOnRequest, DataReturn: policy.LevelNone},
}

func newTestSite(t *testing.T, offers ...policy.Offer) *testSite {
	t.Helper()
	s := &testSite{t: t, onOwn: "refuse", records: map[string]policy.Record{}}
	var err error
	s.pub, s.priv, err = ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	s.origin = s.srv.URL
	s.setOffers(offers...)
	return s
}

func (s *testSite) docFor(offers ...policy.Offer) policy.TermsDocument {
	return policy.TermsDocument{
		V: 1, Controller: policy.Controller{Name: "Test Shop", Contact: "privacy@shop.test"},
		Policy: "https://shop.test/privacy", PublicKey: policy.EncodeKey(s.pub),
		LastUpdate: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Endpoints:  policy.Endpoints{Agreement: "/dnt-d/agree", DataReturn: "/dnt-d/data", End: "/dnt-d/end"},
		Offers:     offers,
	}
}

func (s *testSite) setOffers(offers ...policy.Offer) {
	b, err := json.Marshal(s.docFor(offers...))
	if err != nil {
		s.t.Fatal(err)
	}
	s.setDoc(b)
}

func (s *testSite) setDoc(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.doc = b
}

func (s *testSite) terms() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.doc
}

func (s *testSite) advertisement() string {
	return policy.ResponseHeaderValue(policy.Digest(s.terms()))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", policy.MediaType)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *testSite) serve(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	if r.Header.Get("Cookie") != "" || r.Header.Get("Authorization") != "" {
		s.t.Errorf("agent sent credentials: %v", r.Header)
	}
	if s.override != nil && s.override(w, r) {
		return
	}
	s.handle(w, r)
}

// handle is the well-behaved site, for overrides that change one detail of
// its answers.
func (s *testSite) handle(w http.ResponseWriter, r *http.Request) {
	doc := s.terms()
	switch r.URL.Path {
	case policy.WellKnownPath:
		w.Header().Set("Content-Type", policy.MediaType)
		w.Write(doc)
	case "/dnt-d/agree":
		body, _ := io.ReadAll(r.Body)
		p, err := policy.ParseProposal(body)
		if err == nil {
			err = policy.VerifyProposal(*p)
		}
		if err != nil {
			writeJSON(w, 400, policy.ErrorDocument{V: 1, Error: "invalid", Message: err.Error()})
			return
		}
		if p.Agreement.TermsDigest != policy.Digest(doc) {
			writeJSON(w, 409, policy.ErrorDocument{V: 1, Error: "terms_changed", Message: "terms changed", TermsDigest: policy.Digest(doc)})
			return
		}
		if p.Agreement.Offer == "" {
			switch {
			case s.onOwn == "refuse":
				writeJSON(w, 200, policy.Answer{V: 1, Status: policy.StatusRefused, Reason: "we need our offers"})
				return
			case strings.HasPrefix(s.onOwn, "counter:"):
				writeJSON(w, 200, policy.Answer{V: 1, Status: policy.StatusCounterOffer, CounterOffer: strings.TrimPrefix(s.onOwn, "counter:"), Reason: "try this"})
				return
			}
		}
		siteSig, err := policy.SignAgreement(p.Agreement, s.priv)
		if err != nil {
			s.t.Error(err)
			return
		}
		rec, err := policy.NewRecord(p.Agreement, p.UserSignature, siteSig)
		if err != nil {
			s.t.Error(err)
			return
		}
		s.mu.Lock()
		s.records[rec.ID] = rec
		s.mu.Unlock()
		writeJSON(w, 200, policy.Answer{V: 1, Status: policy.StatusAccepted, Record: &rec})
	case "/dnt-d/data", "/dnt-d/end":
		body, _ := io.ReadAll(r.Body)
		req, err := policy.ParseSignedRequest(body)
		if err != nil {
			writeJSON(w, 400, policy.ErrorDocument{V: 1, Error: "malformed", Message: err.Error()})
			return
		}
		s.mu.Lock()
		rec, ok := s.records[req.Record]
		s.mu.Unlock()
		if !ok {
			writeJSON(w, 404, policy.ErrorDocument{V: 1, Error: "not_found", Message: "no such record"})
			return
		}
		key, _ := policy.DecodeKey(rec.Agreement.UserKey)
		if err := policy.VerifyRequest(*req, key); err != nil {
			writeJSON(w, 400, policy.ErrorDocument{V: 1, Error: "bad_signature", Message: err.Error()})
			return
		}
		if r.URL.Path == "/dnt-d/end" {
			writeJSON(w, 200, policy.EndAnswer{V: 1, Status: "ended", Record: rec.ID})
			return
		}
		writeJSON(w, 200, policy.DataReturn{V: 1, Record: rec.ID, Controller: policy.Controller{Name: "Test Shop", Contact: "privacy@shop.test"},
			Generated: time.Now().UTC().Truncate(time.Second),
			Items:     []policy.DataItem{{Type: "page-view", Time: time.Now().UTC().Truncate(time.Second), Data: map[string]string{"path": "/"}}}})
	default:
		http.NotFound(w, r)
	}
}

func newAgent(t *testing.T) *Agent {
	t.Helper()
	return &Agent{
		DB:     store.New(filepath.Join(t.TempDir(), "rbutton.db")),
		Client: &negotiate.Client{ConnectTimeout: time.Second, Timeout: 2 * time.Second},
		Log:    zerolog.Nop(),
	}
}

func call(t *testing.T, a *Agent, typ string, params any) (json.RawMessage, *proto.Error) {
	t.Helper()
	raw, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	res, perr := a.Handle(context.Background(), proto.Request{ID: "t", Type: typ, Params: raw})
	if perr != nil {
		return nil, perr
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return b, nil
}

func mustCall[T any](t *testing.T, a *Agent, typ string, params any) T {
	t.Helper()
	b, perr := call(t, a, typ, params)
	if perr != nil {
		t.Fatalf("%s: %v", typ, perr)
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s result %s: %v", typ, b, err)
	}
	return v
}

func negotiateParams(s *testSite) map[string]string {
	return map[string]string{"site": s.origin, "advertisement": s.advertisement()}
}

// assertNothingStored checks that no relationship or history exists for
// site. (A failed negotiation keeps the pairwise key once it has proposed
// with it: a retry must be the same relationship at the site.)
func assertNothingStored(t *testing.T, a *Agent, site string) {
	t.Helper()
	err := a.DB.View(func(tx *store.Tx) error {
		if r, err := tx.Relationship(site); err != nil || r != nil {
			t.Errorf("relationship stored: %+v %v", r, err)
		}
		if h, err := tx.History(site); err != nil || len(h) != 0 {
			t.Errorf("history stored: %+v %v", h, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func history(t *testing.T, a *Agent, site string) []string {
	t.Helper()
	h := mustCall[HistoryResult](t, a, proto.TypeHistoryGet, map[string]string{"site": site})
	if !h.Verified {
		t.Fatalf("history does not verify: %s", h.Problem)
	}
	var types []string
	for _, e := range h.Events {
		types = append(types, e.Type)
	}
	return types
}

func TestNegotiateAgreesAndCaches(t *testing.T) {
	t.Parallel()
	s := newTestSite(t, adsOffer, basicOffer)
	a := newAgent(t)
	rel := mustCall[store.Relationship](t, a, proto.TypeNegotiate, negotiateParams(s))
	if rel.State != store.StateAgreed || rel.Record == nil || !rel.Verified || rel.Offer == nil || rel.Offer.ID != "basic" {
		t.Fatalf("relationship = %+v", rel)
	}
	if err := policy.VerifyRecord(*rel.Record); err != nil {
		t.Fatalf("stored record does not verify: %v", err)
	}
	if rel.AgreedDigest != policy.AgreedDigest(basicOffer.Terms, basicOffer.Obligations) {
		t.Errorf("agreedDigest = %q", rel.AgreedDigest)
	}
	if rel.TermsDigest != policy.Digest(s.terms()) || rel.Site != s.origin || rel.Exception {
		t.Errorf("relationship = %+v", rel)
	}
	if got := history(t, a, s.origin); fmt.Sprint(got) != "[negotiated]" {
		t.Errorf("history = %v", got)
	}
	// The same advertisement and unchanged terms: no request to the site.
	hits := s.hits.Load()
	again := mustCall[store.Relationship](t, a, proto.TypeNegotiate, negotiateParams(s))
	if s.hits.Load() != hits {
		t.Errorf("cached agreement still contacted the site")
	}
	if again.Record.ID != rel.Record.ID {
		t.Errorf("cached record %s, want %s", again.Record.ID, rel.Record.ID)
	}
	// The pairwise key is stored, matches the record, and is not exported.
	var key *store.Key
	a.DB.View(func(tx *store.Tx) error { key, _ = tx.Key(s.origin); return nil })
	if key == nil || policy.EncodeKey(key.Public) != rel.Record.Agreement.UserKey {
		t.Fatalf("stored key does not match the record's user key")
	}
	b, perr := call(t, a, proto.TypeExport, struct{}{})
	if perr != nil {
		t.Fatal(perr)
	}
	if strings.Contains(string(b), base64.StdEncoding.EncodeToString(key.Private)) || strings.Contains(string(b), "private") {
		t.Errorf("export contains the private key")
	}
	// Everything else the host keeps is shown: the key's public half.
	var ex Export
	if err := json.Unmarshal(b, &ex); err != nil {
		t.Fatal(err)
	}
	if ex.Keys[s.origin].Public != rel.Record.Agreement.UserKey {
		t.Errorf("export keys = %+v, want the public key for %s", ex.Keys, s.origin)
	}
	// Changing the user's terms for the site renegotiates.
	mustCall[ExceptionResult](t, a, proto.TypeExceptionSet, map[string]any{"site": s.origin, "terms": mustPreset(t, "personalised")})
	re := mustCall[store.Relationship](t, a, proto.TypeNegotiate, negotiateParams(s))
	if s.hits.Load() == hits || !re.Exception || re.State != store.StateAgreed || re.Offer.ID != "ads" && re.Offer.ID != "basic" {
		t.Errorf("renegotiation: %+v", re)
	}
	if got := history(t, a, s.origin); fmt.Sprint(got) != "[negotiated renegotiated]" {
		t.Errorf("history = %v", got)
	}
}

func mustPreset(t *testing.T, name string) policy.UserTerms {
	u, ok := policy.Preset(name)
	if !ok {
		t.Fatalf("no preset %s", name)
	}
	return u
}

func TestNegotiateConflict(t *testing.T) {
	t.Parallel()
	s := newTestSite(t, adsOffer)
	a := newAgent(t)
	rel := mustCall[store.Relationship](t, a, proto.TypeNegotiate, negotiateParams(s))
	if rel.State != store.StateConflict || rel.Record != nil || len(rel.Conflicts) == 0 || rel.AgreedDigest != "" {
		t.Fatalf("relationship = %+v", rel)
	}
	if got := history(t, a, s.origin); fmt.Sprint(got) != "[conflict]" {
		t.Errorf("history = %v", got)
	}
	hits := s.hits.Load()
	mustCall[store.Relationship](t, a, proto.TypeNegotiate, negotiateParams(s))
	if s.hits.Load() != hits {
		t.Errorf("unchanged conflict contacted the site again")
	}
}

func TestNegotiateOwnTermsAcceptedAndCounterOffer(t *testing.T) {
	t.Parallel()
	t.Run("own terms accepted", func(t *testing.T) {
		t.Parallel()
		s := newTestSite(t, adsOffer)
		s.onOwn = "accept"
		a := newAgent(t)
		rel := mustCall[store.Relationship](t, a, proto.TypeNegotiate, negotiateParams(s))
		if rel.State != store.StateAgreed || rel.Offer != nil || rel.Record.Agreement.Offer != "" {
			t.Fatalf("relationship = %+v", rel)
		}
		want := mustPreset(t, policy.DefaultPreset)
		if rel.AgreedDigest != policy.AgreedDigest(want.Terms, want.Obligations) {
			t.Errorf("agreed digest is not of the user's own terms")
		}
	})
	t.Run("counter-offer the user cannot accept", func(t *testing.T) {
		t.Parallel()
		// No offer fits, so the agent proposes the user's own terms; the
		// site counters with an offer, which is checked and refused
		// locally without a second proposal.
		s := newTestSite(t, adsOffer, basicOffer)
		a := newAgent(t)
		mustCall[TermsResult](t, a, proto.TypeTermsSet, map[string]any{"terms": mustPreset(t, "service-only")})
		s.onOwn = "counter:basic"
		_, perr := call(t, a, proto.TypeNegotiate, negotiateParams(s))
		if perr != nil {
			t.Fatal(perr)
		}
		rel := mustCall[store.Relationship](t, a, proto.TypeRelationshipGet, map[string]string{"site": s.origin})
		// service-only does not allow analytics, so the counter-offer is refused locally.
		if rel.State != store.StateConflict || len(rel.Conflicts) == 0 {
			t.Fatalf("relationship = %+v", rel)
		}
	})
}

func TestNegotiateTermsChanged(t *testing.T) {
	t.Parallel()
	s := newTestSite(t, basicOffer)
	a := newAgent(t)
	adv := s.advertisement()
	// The site's terms change between the terms fetch and the proposal.
	fetched := false
	s.override = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == policy.WellKnownPath && !fetched {
			fetched = true
			w.Header().Set("Content-Type", policy.MediaType)
			w.Write(s.terms())
			changed := basicOffer
			changed.Summary = "changed"
			s.setOffers(changed)
			return true
		}
		return false
	}
	rel := mustCall[store.Relationship](t, a, proto.TypeNegotiate, map[string]string{"site": s.origin, "advertisement": adv})
	if rel.State != store.StateAgreed || rel.TermsDigest != policy.Digest(s.terms()) {
		t.Fatalf("relationship = %+v", rel)
	}
	if got := history(t, a, s.origin); fmt.Sprint(got) != "[terms-changed negotiated]" {
		t.Errorf("history = %v", got)
	}
	// Later the advertisement changes again: terms-changed, renegotiated.
	s.setOffers(basicOffer, adsOffer)
	mustCall[store.Relationship](t, a, proto.TypeNegotiate, negotiateParams(s))
	if got := history(t, a, s.origin); fmt.Sprint(got) != "[terms-changed negotiated terms-changed renegotiated]" {
		t.Errorf("history = %v", got)
	}
}

// A site that changes its terms: the terms-changed event says what changed,
// per offer and dimension, as data and in words, and the chain verifies.
func TestTermsChangedSaysWhatChanged(t *testing.T) {
	t.Parallel()
	s := newTestSite(t, basicOffer, adsOffer)
	a := newAgent(t)
	mustCall[store.Relationship](t, a, proto.TypeNegotiate, negotiateParams(s))
	shorter := basicOffer
	shorter.Terms.Retention = "P14D"
	shorter.Terms.Purposes = []policy.Purpose{policy.PurposeService}
	shorter.Obligations.DataReturn = policy.LevelRequired
	s.setOffers(shorter)
	mustCall[store.Relationship](t, a, proto.TypeNegotiate, negotiateParams(s))
	h := mustCall[HistoryResult](t, a, proto.TypeHistoryGet, map[string]string{"site": s.origin})
	if !h.Verified {
		t.Fatalf("history does not verify: %s", h.Problem)
	}
	var ev *policy.Event
	for i := range h.Events {
		if h.Events[i].Type == policy.EventTermsChanged {
			ev = &h.Events[i]
		}
	}
	if ev == nil {
		t.Fatalf("no terms-changed event in %+v", h.Events)
	}
	want := []policy.TermChange{
		{Offer: "basic", Dimension: policy.DimPurposes, Before: "service, analytics", After: "service"},
		{Offer: "basic", Dimension: policy.DimRetention, Before: "P30D", After: "P14D"},
		{Offer: "basic", Dimension: policy.DimDataReturn, Before: "on-request", After: "required"},
		{Offer: "ads", Before: policy.OfferPresent},
	}
	if !reflect.DeepEqual(ev.Changes, want) {
		t.Errorf("changes = %+v, want %+v", ev.Changes, want)
	}
	const words = "offer basic: purposes service, analytics → service; offer basic: retention 30 days → 14 days; " +
		"offer basic: data return on request → always; offer ads withdrawn"
	if ev.Detail != words {
		t.Errorf("detail = %q, want %q", ev.Detail, words)
	}
}

func TestDataFetchAndEnd(t *testing.T) {
	t.Parallel()
	s := newTestSite(t, basicOffer)
	a := newAgent(t)
	site := map[string]string{"site": s.origin}
	if _, perr := call(t, a, proto.TypeDataFetch, site); perr == nil || perr.Code != proto.CodeNotFound {
		t.Fatalf("data.fetch before agreement: %v", perr)
	}
	rel := mustCall[store.Relationship](t, a, proto.TypeNegotiate, negotiateParams(s))
	dr := mustCall[policy.DataReturn](t, a, proto.TypeDataFetch, site)
	if dr.Record != rel.Record.ID || len(dr.Items) != 1 {
		t.Fatalf("data return = %+v", dr)
	}
	ended := mustCall[store.Relationship](t, a, proto.TypeRelationshipEnd, site)
	if ended.State != store.StateEnded || ended.Error != nil || ended.AgreedDigest != "" {
		t.Fatalf("ended = %+v", ended)
	}
	if got := history(t, a, s.origin); fmt.Sprint(got) != "[negotiated data-returned ended]" {
		t.Errorf("history = %v", got)
	}
	if _, perr := call(t, a, proto.TypeDataFetch, site); perr == nil || perr.Code != proto.CodeNoAgreement {
		t.Fatalf("data.fetch after end: %v", perr)
	}
	// Visiting again does not silently re-agree: the relationship stays
	// ended without contacting the site...
	hits := s.hits.Load()
	again := mustCall[store.Relationship](t, a, proto.TypeNegotiate, negotiateParams(s))
	if again.State != store.StateEnded || s.hits.Load() != hits {
		t.Fatalf("negotiate after end: %+v", again)
	}
	// Nor do new site terms revive it...
	s.setOffers(basicOffer, adsOffer)
	again = mustCall[store.Relationship](t, a, proto.TypeNegotiate, negotiateParams(s))
	if again.State != store.StateEnded || s.hits.Load() != hits {
		t.Fatalf("negotiate after end with new site terms: %+v", again)
	}
	// ...until the user asks to renegotiate.
	p := map[string]any{"site": s.origin, "advertisement": s.advertisement(), "force": true}
	re := mustCall[store.Relationship](t, a, proto.TypeNegotiate, p)
	if re.State != store.StateAgreed || re.Record.ID == rel.Record.ID {
		t.Fatalf("forced renegotiation: %+v", re)
	}
	if got := history(t, a, s.origin); fmt.Sprint(got) != "[negotiated data-returned ended terms-changed renegotiated]" {
		t.Errorf("history = %v", got)
	}
}

func TestEndWhenSiteUnreachable(t *testing.T) {
	t.Parallel()
	s := newTestSite(t, basicOffer)
	a := newAgent(t)
	mustCall[store.Relationship](t, a, proto.TypeNegotiate, negotiateParams(s))
	s.srv.Close()
	ended := mustCall[store.Relationship](t, a, proto.TypeRelationshipEnd, map[string]string{"site": s.origin})
	if ended.State != store.StateEnded || ended.Error == nil || ended.Error.Code != proto.CodeSiteUnreachable {
		t.Fatalf("ended = %+v", ended)
	}
	if got := history(t, a, s.origin); fmt.Sprint(got) != "[negotiated ended]" {
		t.Errorf("history = %v", got)
	}
}

func TestDataFetchFailures(t *testing.T) {
	t.Parallel()
	t.Run("no data-return endpoint", func(t *testing.T) {
		t.Parallel()
		noReturn := basicOffer
		noReturn.Obligations.DataReturn = policy.LevelNone
		s := newTestSite(t, noReturn)
		d := s.docFor(noReturn)
		d.Endpoints.DataReturn = ""
		b, _ := json.Marshal(d)
		s.setDoc(b)
		a := newAgent(t)
		mustCall[TermsResult](t, a, proto.TypeTermsSet, map[string]any{"terms": mustPreset(t, "generous")})
		mustCall[store.Relationship](t, a, proto.TypeNegotiate, negotiateParams(s))
		if _, perr := call(t, a, proto.TypeDataFetch, map[string]string{"site": s.origin}); perr == nil || perr.Code != proto.CodeNotSupported {
			t.Fatalf("got %v, want not_supported", perr)
		}
	})
	for name, tc := range map[string]struct {
		code    string
		handler func(s *testSite, w http.ResponseWriter, r *http.Request)
	}{
		"redirect": {proto.CodeSiteRedirect, func(s *testSite, w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.2:1/steal", http.StatusFound)
		}},
		"another record": {proto.CodeSiteInvalidResponse, func(s *testSite, w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, policy.DataReturn{V: 1, Record: policy.Digest([]byte("other")), Controller: policy.Controller{Name: "x", Contact: "y"},
				Generated: time.Now().UTC(), Items: []policy.DataItem{}})
		}},
		"huge": {proto.CodeSiteTooLarge, func(s *testSite, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", policy.MediaType)
			w.Write([]byte(strings.Repeat(" ", 65<<10)))
		}},
		"site refuses": {proto.CodeSiteRefused, func(s *testSite, w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 400, policy.ErrorDocument{V: 1, Error: "stale", Message: "your clock is off"})
		}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newTestSite(t, basicOffer)
			a := newAgent(t)
			mustCall[store.Relationship](t, a, proto.TypeNegotiate, negotiateParams(s))
			s.override = func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/dnt-d/data" {
					return false
				}
				tc.handler(s, w, r)
				return true
			}
			if _, perr := call(t, a, proto.TypeDataFetch, map[string]string{"site": s.origin}); perr == nil || perr.Code != tc.code {
				t.Fatalf("got %v, want %s", perr, tc.code)
			}
			if got := history(t, a, s.origin); fmt.Sprint(got) != "[negotiated]" {
				t.Errorf("failed data.fetch changed history: %v", got)
			}
		})
	}
}

// TestDataRequestAndAccept: data.request signs a request the extension
// sends itself; data.accept checks the site's answer before recording it.
func TestDataRequestAndAccept(t *testing.T) {
	t.Parallel()
	s := newTestSite(t, basicOffer)
	a := newAgent(t)
	site := map[string]string{"site": s.origin}
	if _, perr := call(t, a, proto.TypeDataRequest, site); perr == nil || perr.Code != proto.CodeNotFound {
		t.Fatalf("data.request before agreement: %v", perr)
	}
	rel := mustCall[store.Relationship](t, a, proto.TypeNegotiate, negotiateParams(s))
	dreq := mustCall[proto.DataRequest](t, a, proto.TypeDataRequest, site)
	if !strings.HasPrefix(dreq.URL, s.origin+"/") || dreq.ContentType != policy.MediaType {
		t.Fatalf("data.request = %+v", dreq)
	}
	resp, err := http.Post(dreq.URL, dreq.ContentType, strings.NewReader(dreq.Body))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	forged := strings.Replace(string(answer), rel.Record.ID, policy.Digest([]byte("someone else")), 1)
	bad := map[string]string{"site": s.origin, "body": forged}
	if _, perr := call(t, a, proto.TypeDataAccept, bad); perr == nil || perr.Code != proto.CodeSiteInvalidResponse {
		t.Fatalf("data.accept of an answer for another record: %v", perr)
	}
	if _, perr := call(t, a, proto.TypeDataAccept, map[string]string{"site": s.origin}); perr == nil || perr.Code != proto.CodeInvalidParams {
		t.Fatalf("data.accept without a body: %v", perr)
	}
	dr := mustCall[policy.DataReturn](t, a, proto.TypeDataAccept, map[string]string{"site": s.origin, "body": string(answer)})
	if dr.Record != rel.Record.ID {
		t.Fatalf("data return = %+v", dr)
	}
	if got := history(t, a, s.origin); fmt.Sprint(got) != "[negotiated data-returned]" {
		t.Errorf("history = %v; only the accepted answer is recorded", got)
	}
}

// assertNoKey checks that no pairwise key is stored for site.
func assertNoKey(t *testing.T, a *Agent, site string) {
	t.Helper()
	a.DB.View(func(tx *store.Tx) error {
		if k, err := tx.Key(site); err != nil || k != nil {
			t.Errorf("key stored for %s: %v", site, err)
		}
		return nil
	})
}

// retyped serves answers with another Content-Type.
type retyped struct {
	http.ResponseWriter
	ctype string
}

func (r retyped) WriteHeader(status int) {
	r.Header().Set("Content-Type", r.ctype)
	r.ResponseWriter.WriteHeader(status)
}

func (r retyped) Write(b []byte) (int, error) {
	r.Header().Set("Content-Type", r.ctype)
	return r.ResponseWriter.Write(b)
}
