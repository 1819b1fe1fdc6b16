package site_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
)

func TestAcceptOffer(t *testing.T) {
	t.Parallel()
	ts := startSite(t)
	u := newUser(t)
	body := u.proposal(t, u.agreement(ts, basicOffer))
	first := ts.propose(t, body)
	a := answerOf(t, first)
	if a.Status != policy.StatusAccepted {
		t.Fatalf("status %s, want accepted", a.Status)
	}
	rec := *a.Record
	if err := policy.VerifyRecord(rec); err != nil {
		t.Fatalf("record does not verify: %v", err)
	}
	if rec.Agreement.Offer != "basic" || rec.Agreement.SiteKey != ts.PublicKey() {
		t.Errorf("record agreement %+v", rec.Agreement)
	}
	stored, err := ts.Store().GetRecord(rec.ID)
	if err != nil || stored.Record.SiteSignature != rec.SiteSignature {
		t.Fatalf("stored record %+v, %v", stored, err)
	}
	hist, err := ts.History(rec.ID)
	if err != nil || len(hist) != 1 || hist[0].Type != policy.EventNegotiated || hist[0].Agreement != rec.ID {
		t.Fatalf("history %+v, %v", hist, err)
	}
	if err := policy.VerifyChain(hist); err != nil {
		t.Fatal(err)
	}
	if first.Header.Get("Set-Cookie") != "" {
		t.Error("agreement endpoint set a cookie")
	}

	// Idempotent: the same bytes get the same answer bytes and no new record.
	again := ts.propose(t, body)
	if again.Status != 200 || !bytes.Equal(again.Body, first.Body) {
		t.Fatalf("retry answered %d %s, want the first answer", again.Status, again.Body)
	}
	if hist, _ := ts.History(rec.ID); len(hist) != 1 {
		t.Errorf("retry appended history: %d events", len(hist))
	}
	if !contains(ts.logString(), "AgreementAccepted record=") {
		t.Errorf("log lacks the exchange:\n%s", ts.logString())
	}

	// A new proposal (fresh nonce) from the same key for the same terms is
	// the same relationship: the record in force again, never a second
	// agreement (PROTOCOL.md 10.5; an agent retrying after a lost answer).
	if same := agree(t, ts, u, basicOffer); same.ID != rec.ID || same.SiteSignature != rec.SiteSignature {
		t.Fatalf("a retry with a fresh nonce made a second agreement %s (first %s)", same.ID, rec.ID)
	}
	if hist, _ := ts.History(rec.ID); len(hist) != 1 {
		t.Errorf("retry with a fresh nonce appended history: %d events", len(hist))
	}

	// A second agreement with the same key, on other terms, is a
	// renegotiation in the same history, and supersedes the first.
	rec2 := agree(t, ts, u, adsOffer)
	hist, _ = ts.History(rec2.ID)
	if len(hist) != 3 || hist[1].Type != policy.EventEnded || hist[1].Agreement != rec.ID || hist[2].Type != policy.EventRenegotiated {
		t.Fatalf("history after renegotiation %+v", hist)
	}
	if err := policy.VerifyChain(hist); err != nil {
		t.Fatal(err)
	}
}

func (ts *testSite) logString() string {
	ts.logMu.Lock()
	defer ts.logMu.Unlock()
	return ts.log.String()
}

// TestHostileProposals feeds the agreement endpoint one bad proposal each.
func TestHostileProposals(t *testing.T) {
	t.Parallel()
	ts := startSite(t)
	u := newUser(t)
	other := newUser(t)
	signWith := func(a policy.Agreement, by *user) []byte { return by.proposal(t, a) }
	mutate := func(f func(*policy.Agreement)) []byte {
		a := u.agreement(ts, basicOffer)
		f(&a)
		return u.proposal(t, a)
	}
	valid := u.proposal(t, u.agreement(ts, basicOffer))
	_, _, digest := ts.Terms()

	tests := []struct {
		name        string
		body        []byte
		contentType string
		status      int
		code        string
	}{
		{"oversized", append(append([]byte(`{"v":1,"type":"proposal","x":"`), bytes.Repeat([]byte("a"), policy.MaxMessage)...), `"}`...), "", 413, policy.CodeTooLarge},
		{"not JSON", []byte(`{"v":1,`), "", 400, policy.CodeMalformed},
		{"empty", nil, "", 400, policy.CodeMalformed},
		{"trailing data", append(append([]byte{}, valid...), []byte(` {}`)...), "", 400, policy.CodeMalformed},
		{"unknown field", bytes.Replace(valid, []byte(`{"v":1,`), []byte(`{"v":1,"extra":true,`), 1), "", 400, policy.CodeMalformed},
		{"unknown agreement field", bytes.Replace(valid, []byte(`"agreement":{`), []byte(`"agreement":{"targets":[],`), 1), "", 400, policy.CodeMalformed},
		{"wrong type", bytes.Replace(valid, []byte(`"type":"proposal"`), []byte(`"type":"offer"`), 1), "", 400, policy.CodeInvalid},
		{"wrong signature", signWith(u.agreement(ts, basicOffer), other), "", 400, policy.CodeBadSignature},
		{"signature of other bytes", func() []byte {
			var p policy.Proposal
			json.Unmarshal(valid, &p)
			p.Agreement.Nonce = policy.NewNonce()
			b, _ := json.Marshal(p)
			return b
		}(), "", 400, policy.CodeBadSignature},
		{"unknown offer", mutate(func(a *policy.Agreement) { a.Offer = "gold" }), "", 400, policy.CodeUnknownOffer},
		{"tampered terms", mutate(func(a *policy.Agreement) { a.Terms.Retention = "P1Y" }), "", 400, policy.CodeUnknownOffer},
		{"tampered purposes", mutate(func(a *policy.Agreement) {
			a.Terms.Purposes = []policy.Purpose{policy.PurposeService, policy.PurposeAnalytics, policy.PurposeSale}
		}), "", 400, policy.CodeUnknownOffer},
		{"tampered obligations", mutate(func(a *policy.Agreement) { a.Obligations.DataReturn = policy.LevelNone }), "", 400, policy.CodeUnknownOffer},
		{"stale terms digest", mutate(func(a *policy.Agreement) { a.TermsDigest = policy.Digest([]byte("old terms")) }), "", 409, policy.CodeTermsChanged},
		{"created too old", mutate(func(a *policy.Agreement) { a.Created = a.Created.Add(-6 * time.Minute) }), "", 400, policy.CodeStale},
		{"created in the future", mutate(func(a *policy.Agreement) { a.Created = a.Created.Add(6 * time.Minute) }), "", 400, policy.CodeStale},
		{"other site", mutate(func(a *policy.Agreement) { a.Site = "https://elsewhere.example" }), "", 400, policy.CodeInvalid},
		{"other site key", mutate(func(a *policy.Agreement) { a.SiteKey = policy.EncodeKey(other.pub) }), "", 400, policy.CodeInvalid},
		{"wrong content type", valid, "application/json", 415, policy.CodeMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, _, _ := ts.Terms()
			req, _ := http.NewRequest("POST", ts.URL+doc.Endpoints.Agreement, bytes.NewReader(tc.body))
			ct := tc.contentType
			if ct == "" {
				ct = policy.MediaType
			}
			req.Header.Set("Content-Type", ct)
			e := errorOf(t, do(t, nil, req), tc.status, tc.code)
			if tc.code == policy.CodeTermsChanged && e.TermsDigest != digest {
				t.Errorf("termsDigest %q, want current %q", e.TermsDigest, digest)
			}
		})
	}
	t.Run("GET", func(t *testing.T) {
		doc, _, _ := ts.Terms()
		r := do(t, nil, mustRequest("GET", ts.URL+doc.Endpoints.Agreement))
		errorOf(t, r, http.StatusMethodNotAllowed, policy.CodeMethodNotAllowed)
		if r.Header.Get("Allow") != "POST" {
			t.Errorf("Allow %q", r.Header.Get("Allow"))
		}
	})
	t.Run("another host name", func(t *testing.T) {
		// A page whose name was rebound to the vendor's address reaches it
		// under its own name: 421 before anything else is looked at.
		doc, _, _ := ts.Terms()
		for _, method := range []string{"POST", "GET"} {
			req, _ := http.NewRequest(method, ts.URL+doc.Endpoints.Agreement, bytes.NewReader(valid))
			req.Header.Set("Content-Type", "text/plain")
			req.Host = "rebound.example"
			errorOf(t, do(t, nil, req), http.StatusMisdirectedRequest, policy.CodeWrongHost)
		}
	})
	t.Run("replayed nonce with other body", func(t *testing.T) {
		a := u.agreement(ts, basicOffer)
		answerOf(t, ts.propose(t, u.proposal(t, a)))
		a.Offer, a.Terms, a.Obligations = "", basicOffer.Terms, basicOffer.Obligations
		errorOf(t, ts.propose(t, u.proposal(t, a)), 400, policy.CodeReplay)
	})
	// Nothing bad was stored: the only history is from the replay subtest.
	hist, _ := ts.Store().History(policy.EncodeKey(u.pub))
	if len(hist) != 1 {
		t.Errorf("hostile proposals left %d history events, want 1", len(hist))
	}
	if hist, _ := ts.Store().History(policy.EncodeKey(other.pub)); len(hist) != 0 {
		t.Errorf("other key has history %+v", hist)
	}
}

func mustRequest(method, url string) *http.Request {
	r, err := http.NewRequest(method, url, nil)
	if err != nil {
		panic(err)
	}
	return r
}

func TestCounterProposals(t *testing.T) {
	t.Parallel()
	preset, _ := policy.Preset(policy.DefaultPreset)
	strict, _ := policy.Preset("service-only")
	userOffer := func(u policy.UserTerms) policy.Offer {
		return policy.Offer{Terms: u.Terms, Obligations: u.Obligations}
	}

	t.Run("an offer fits: counter-offer", func(t *testing.T) {
		ts := startSite(t)
		u := newUser(t)
		a := answerOf(t, ts.propose(t, u.proposal(t, u.agreement(ts, userOffer(preset)))))
		if a.Status != policy.StatusCounterOffer || a.CounterOffer != "basic" {
			t.Fatalf("answer %+v, want counter-offer basic", a)
		}
		// The agent then proposes the offer, which is accepted.
		agree(t, ts, u, basicOffer)
	})
	t.Run("nothing fits: refused with conflicts", func(t *testing.T) {
		ts := startSite(t)
		u := newUser(t)
		a := answerOf(t, ts.propose(t, u.proposal(t, u.agreement(ts, userOffer(strict)))))
		if a.Status != policy.StatusRefused || len(a.Conflicts) == 0 || a.Reason == "" {
			t.Fatalf("answer %+v, want refused with conflicts", a)
		}
		dims := map[string]bool{}
		for _, c := range a.Conflicts {
			dims[c.Offer+"/"+c.Dimension] = true
		}
		if !dims["basic/tracking"] || !dims["ads/purposes"] {
			t.Errorf("conflicts %+v lack basic/tracking or ads/purposes", a.Conflicts)
		}
		// A stranger's refusal is not history: nothing kept but the nonce.
		if hist, _ := ts.Store().History(policy.EncodeKey(u.pub)); len(hist) != 0 {
			t.Errorf("a stranger's refusal left history %+v", hist)
		}
		// In a relationship, a refused renegotiation is.
		agree(t, ts, u, basicOffer)
		answerOf(t, ts.propose(t, u.proposal(t, u.agreement(ts, userOffer(strict)))))
		hist, _ := ts.Store().History(policy.EncodeKey(u.pub))
		if len(hist) != 2 || hist[1].Type != policy.EventConflict {
			t.Errorf("history %+v, want negotiated then conflict", hist)
		}
	})
	t.Run("vendor accepts the user's terms", func(t *testing.T) {
		var asked policy.Terms
		ts := startSite(t, func(c *site.Config) {
			c.AcceptUserTerms = func(tm policy.Terms, o policy.Obligations) bool {
				asked = tm
				return tm.Tracking == policy.TrackingSession
			}
		})
		u := newUser(t)
		a := answerOf(t, ts.propose(t, u.proposal(t, u.agreement(ts, userOffer(strict)))))
		if a.Status != policy.StatusAccepted || a.Record.Agreement.Offer != "" {
			t.Fatalf("answer %+v, want the user's terms accepted", a)
		}
		if asked.Tracking != strict.Terms.Tracking {
			t.Errorf("AcceptUserTerms got %+v", asked)
		}
		// Pages now recognise the user's agreed digest.
		r := ts.page(t, nil, "/", agreedHeader(userOffer(strict)))
		if r.Header.Get("Tk") != "C" {
			t.Errorf("Tk %q for accepted user terms, want C", r.Header.Get("Tk"))
		}
	})
}

// TestConcurrentProposals: many goroutines, the same and different nonces.
func TestConcurrentProposals(t *testing.T) {
	t.Parallel()
	ts := startSite(t)
	u := newUser(t)
	shared := u.proposal(t, u.agreement(ts, basicOffer))
	const n = 24
	bodies := make([][]byte, n)
	for i := range bodies {
		if i%2 == 0 {
			bodies[i] = shared
		} else {
			other := newUser(t)
			bodies[i] = other.proposal(t, other.agreement(ts, basicOffer))
		}
	}
	results := make([]response, n)
	var wg sync.WaitGroup
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = ts.propose(t, bodies[i])
		}()
	}
	wg.Wait()
	ids := map[string]bool{}
	for i, r := range results {
		a := answerOf(t, r)
		if a.Status != policy.StatusAccepted {
			t.Fatalf("proposal %d: %+v", i, a)
		}
		ids[a.Record.ID] = true
		if i%2 == 0 && !bytes.Equal(r.Body, results[0].Body) {
			t.Errorf("proposal %d with the shared nonce got a different answer", i)
		}
	}
	if want := 1 + n/2; len(ids) != want {
		t.Errorf("%d distinct records, want %d", len(ids), want)
	}
	hist, _ := ts.Store().History(policy.EncodeKey(u.pub))
	if len(hist) != 1 {
		t.Errorf("shared nonce made %d history events, want 1", len(hist))
	}
}

func TestTermsChangeMeansRenegotiation(t *testing.T) {
	t.Parallel()
	ts := startSite(t)
	u := newUser(t)
	before := u.agreement(ts, basicOffer)
	agree(t, ts, u, basicOffer)
	if r := ts.page(t, nil, "/", agreedHeader(basicOffer)); r.Header.Get("Tk") != "C" {
		t.Fatalf("Tk %q before the change", r.Header.Get("Tk"))
	}
	changed := basicOffer
	changed.Terms.Retention = "P14D"
	if err := ts.SetOffers([]policy.Offer{changed}); err != nil {
		t.Fatal(err)
	}
	_, _, digest := ts.Terms()
	// The old agreement is honoured for the grace period (PROTOCOL.md 14)
	// while the agent renegotiates; the page advertises the new terms.
	r := ts.page(t, nil, "/", agreedHeader(basicOffer))
	if r.Header.Get("Tk") != "C" || !strings.Contains(r.Header.Get("DNT-D"), digest) {
		t.Errorf("within the grace period: Tk %q, DNT-D %q (want C and %s)", r.Header.Get("Tk"), r.Header.Get("DNT-D"), digest)
	}
	ts.Clock.Add(site.DefaultTermsGrace - time.Second)
	if r := ts.page(t, nil, "/", agreedHeader(basicOffer)); r.Header.Get("Tk") != "C" {
		t.Errorf("a second before the grace period ends: Tk %q", r.Header.Get("Tk"))
	}
	ts.Clock.Add(time.Second)
	if r := ts.page(t, nil, "/", agreedHeader(basicOffer)); r.Header.Get("Tk") != "N" {
		t.Errorf("after the grace period: Tk %q, want N", r.Header.Get("Tk"))
	}
	before.Nonce, before.Created = policy.NewNonce(), ts.Clock.Now()
	e := errorOf(t, ts.propose(t, u.proposal(t, before)), 409, policy.CodeTermsChanged)
	if e.TermsDigest != digest {
		t.Errorf("409 names %s, want %s", e.TermsDigest, digest)
	}
	agree(t, ts, u, changed)
	if r := ts.page(t, nil, "/", agreedHeader(changed)); r.Header.Get("Tk") != "C" {
		t.Errorf("Tk %q after renegotiation", r.Header.Get("Tk"))
	}
	// An invalid change leaves the current terms in place.
	bad := changed
	bad.Terms.Retention = "forever"
	if err := ts.SetOffers([]policy.Offer{bad}); err == nil {
		t.Fatal("SetOffers accepted an invalid retention")
	}
	if _, _, d := ts.Terms(); d != digest {
		t.Error("an invalid change replaced the terms")
	}
}

// TestConcurrentSameNonceDifferentBodies: of racing proposals that share a
// nonce but differ, exactly one is decided; the rest are replays.
func TestConcurrentSameNonceDifferentBodies(t *testing.T) {
	t.Parallel()
	ts := startSite(t)
	u := newUser(t)
	base := u.agreement(ts, basicOffer)
	const n = 16
	bodies := make([][]byte, n)
	for i := range bodies {
		a := base
		a.Created = base.Created.Add(time.Duration(i) * time.Second) // same nonce, different bytes
		bodies[i] = u.proposal(t, a)
	}
	results := make([]response, n)
	var wg sync.WaitGroup
	for i := range bodies {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = ts.propose(t, bodies[i]) }()
	}
	wg.Wait()
	accepted := 0
	for _, r := range results {
		if r.Status == 200 {
			accepted++
			continue
		}
		errorOf(t, r, 400, policy.CodeReplay)
	}
	if accepted != 1 {
		t.Errorf("%d proposals accepted, want exactly 1", accepted)
	}
}

// TestTermsGrace: without a grace period the old digest gets Tk: N at once;
// an offer that comes back is current again, not on grace.
func TestTermsGrace(t *testing.T) {
	t.Parallel()
	ts := startSite(t, func(c *site.Config) { c.TermsGrace = -1 })
	changed := basicOffer
	changed.Terms.Retention = "P14D"
	if err := ts.SetOffers([]policy.Offer{changed}); err != nil {
		t.Fatal(err)
	}
	if r := ts.page(t, nil, "/", agreedHeader(basicOffer)); r.Header.Get("Tk") != "N" {
		t.Errorf("no grace: Tk %q, want N", r.Header.Get("Tk"))
	}

	ts = startSite(t)
	for _, offers := range [][]policy.Offer{{changed}, {basicOffer}, {changed}} {
		if err := ts.SetOffers(offers); err != nil {
			t.Fatal(err)
		}
		ts.Clock.Add(time.Hour)
	}
	// basic left the document 1 h ago (the second time): 23 h of grace remain.
	ts.Clock.Add(site.DefaultTermsGrace - 2*time.Hour)
	if r := ts.page(t, nil, "/", agreedHeader(basicOffer)); r.Header.Get("Tk") != "C" {
		t.Errorf("Tk %q within the grace of basic's second removal", r.Header.Get("Tk"))
	}
	ts.Clock.Add(time.Hour)
	if r := ts.page(t, nil, "/", agreedHeader(basicOffer)); r.Header.Get("Tk") != "N" {
		t.Errorf("Tk %q after it", r.Header.Get("Tk"))
	}
}
