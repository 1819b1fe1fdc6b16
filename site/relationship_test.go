package site_test

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
	"github.com/rbutton/rbutton/site/boltstore"
)

func (ts *testSite) dataReturn(t testing.TB, client *http.Client, body []byte) response {
	doc, _, _ := ts.Terms()
	return post(t, client, ts.URL+doc.Endpoints.DataReturn, body)
}

func (ts *testSite) endRequest(t testing.TB, body []byte) response {
	doc, _, _ := ts.Terms()
	return post(t, nil, ts.URL+doc.Endpoints.End, body)
}

func parseDataReturn(t testing.TB, r response) *policy.DataReturn {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("data return status %d: %s", r.Status, r.Body)
	}
	d, err := policy.ParseDataReturn(r.Body)
	if err != nil {
		t.Fatalf("data return does not parse: %v\n%s", err, r.Body)
	}
	return d
}

func itemTypes(d *policy.DataReturn) string {
	var s []string
	for _, it := range d.Items {
		s = append(s, it.Type)
	}
	return strings.Join(s, ",")
}

// TestDataReturnLinksSessions walks the linking design: page views are
// recorded under the vendor's first-party session; a data-return request
// carrying that cookie links the session to the relationship.
func TestDataReturnLinksSessions(t *testing.T) {
	t.Parallel()
	ts := startSite(t)
	u := newUser(t)
	rec := agree(t, ts, u, basicOffer)

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	// Before any agreement is signalled: no cookie, nothing recorded.
	if r := ts.page(t, browser, "/", "v=1"); r.Header.Get("Set-Cookie") != "" {
		t.Fatalf("cookie without an agreement: %q", r.Header.Get("Set-Cookie"))
	}
	for range 3 {
		ts.page(t, browser, "/", agreedHeader(basicOffer))
	}
	siteURL, _ := url.Parse(ts.URL)
	if len(jar.Cookies(siteURL)) != 1 {
		t.Fatalf("browser has cookies %v, want the session cookie", jar.Cookies(siteURL))
	}

	// The native agent's request carries no cookies: only what is filed
	// against the relationship itself (the agreement).
	d := parseDataReturn(t, ts.dataReturn(t, nil, u.request(t, ts, "data-return", rec.ID)))
	if d.Record != rec.ID || itemTypes(d) != "agreement" || d.Controller.Name != "Test Vendor" {
		t.Fatalf("cookieless data return %+v", d)
	}
	// From the browser, with the site's own cookie: the session is linked.
	d = parseDataReturn(t, ts.dataReturn(t, browser, u.request(t, ts, "data-return", rec.ID)))
	if itemTypes(d) != "agreement,page-view,page-view,page-view" {
		t.Fatalf("linked data return items %s", itemTypes(d))
	}
	// Later views in the session, and cookieless requests, keep returning them.
	ts.page(t, browser, "/", agreedHeader(basicOffer))
	if err := ts.RecordFor(rec.ID, policy.DataItem{Type: "purchase", Data: map[string]string{"item": "boots"}}); err != nil {
		t.Fatal(err)
	}
	d = parseDataReturn(t, ts.dataReturn(t, nil, u.request(t, ts, "data-return", rec.ID)))
	if n := strings.Count(itemTypes(d), "page-view"); n != 4 || !strings.Contains(itemTypes(d), "purchase") {
		t.Fatalf("items %s, want 4 page views and the purchase", itemTypes(d))
	}
	// Another visitor's session is never linked to this relationship.
	other := &http.Client{}
	ts.page(t, other, "/", agreedHeader(basicOffer))
	d2 := parseDataReturn(t, ts.dataReturn(t, nil, u.request(t, ts, "data-return", rec.ID)))
	if len(d2.Items) != len(d.Items) {
		t.Errorf("items grew from %d to %d after a stranger's visit", len(d.Items), len(d2.Items))
	}
	hist, _ := ts.History(rec.ID)
	if err := policy.VerifyChain(hist); err != nil || hist[len(hist)-1].Type != policy.EventDataReturned {
		t.Fatalf("history %+v: %v", hist, err)
	}
}

// TestSessionOnlyAgreementNeverLinks: tracking "session" means no linking.
func TestSessionOnlyAgreementNeverLinks(t *testing.T) {
	t.Parallel()
	sessionOffer := basicOffer
	sessionOffer.ID = "session"
	sessionOffer.Terms.Tracking = policy.TrackingSession
	ts := startSite(t, func(c *site.Config) { c.Offers = []policy.Offer{sessionOffer} })
	u := newUser(t)
	rec := agree(t, ts, u, sessionOffer)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	r := ts.page(t, browser, "/", agreedHeader(sessionOffer))
	if c := r.Header.Get("Set-Cookie"); c == "" || strings.Contains(c, "Max-Age") {
		t.Fatalf("cookie %q, want a browser-session cookie", c)
	}
	d := parseDataReturn(t, ts.dataReturn(t, browser, u.request(t, ts, "data-return", rec.ID)))
	if itemTypes(d) != "agreement" {
		t.Errorf("session-only agreement linked the session: %s", itemTypes(d))
	}
}

func TestSignedRequestsRefused(t *testing.T) {
	t.Parallel()
	ts := startSite(t)
	u := newUser(t)
	stranger := newUser(t)
	rec := agree(t, ts, u, basicOffer)
	sign := func(f func(*policy.SignedRequest), by *user) []byte {
		r := policy.SignedRequest{V: 1, Type: "data-return", Record: rec.ID, Nonce: policy.NewNonce(), Created: ts.Clock.Now()}
		f(&r)
		policy.SignRequest(&r, by.priv)
		b, _ := jsonMarshal(r)
		return b
	}
	replayed := u.request(t, ts, "data-return", rec.ID)
	first := ts.dataReturn(t, nil, replayed)
	parseDataReturn(t, first)
	// The same body again (a retry after a lost answer) gets the same answer,
	// byte for byte (PROTOCOL.md 10.5, 13).
	if again := ts.dataReturn(t, nil, replayed); again.Status != 200 || string(again.Body) != string(first.Body) {
		t.Errorf("retried request: %d %s, want the first answer", again.Status, again.Body)
	}
	var sameNonce policy.SignedRequest
	jsonUnmarshal(replayed, &sameNonce)
	tests := []struct {
		name   string
		body   []byte
		status int
		code   string
	}{
		{"malformed", []byte(`{"v":1,"type":`), 400, policy.CodeMalformed},
		{"unknown field", []byte(`{"v":1,"type":"data-return","record":"` + rec.ID + `","nonce":"AAAAAAAAAAAAAAAAAAAAAA==","created":"2026-01-01T00:00:00Z","signature":"` + strings.Repeat("A", 86) + `==","cookie":"x"}`), 400, policy.CodeMalformed},
		{"signed by a stranger", sign(func(*policy.SignedRequest) {}, stranger), 400, policy.CodeBadSignature},
		{"unknown record", sign(func(r *policy.SignedRequest) { r.Record = policy.Digest([]byte("nope")) }, u), 404, policy.CodeNotFound},
		{"wrong type for endpoint", sign(func(r *policy.SignedRequest) { r.Type = "end" }, u), 400, policy.CodeInvalid},
		{"expired", sign(func(r *policy.SignedRequest) { r.Created = r.Created.Add(-time.Hour) }, u), 400, policy.CodeStale},
		{"replayed nonce with another body", sign(func(r *policy.SignedRequest) {
			r.Nonce, r.Created = sameNonce.Nonce, r.Created.Add(-time.Second)
		}, u), 400, policy.CodeReplay},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errorOf(t, ts.dataReturn(t, nil, tc.body), tc.status, tc.code)
		})
	}
	if _, err := ts.Store().GetRecord(rec.ID); err != nil {
		t.Fatal(err)
	}
	if sr, _ := ts.Store().GetRecord(rec.ID); !sr.Ended.IsZero() {
		t.Error("a refused request ended the record")
	}
}

func TestEndByUser(t *testing.T) {
	t.Parallel()
	ts := startSite(t)
	u := newUser(t)
	rec := agree(t, ts, u, basicOffer)
	errorOf(t, ts.endRequest(t, newUser(t).request(t, ts, "end", rec.ID)), 400, policy.CodeBadSignature)
	endBody := u.request(t, ts, "end", rec.ID)
	r := ts.endRequest(t, endBody)
	if r.Status != 200 {
		t.Fatalf("end: %d %s", r.Status, r.Body)
	}
	// A retry of the same end request gets its 200 again, not 410.
	if again := ts.endRequest(t, endBody); again.Status != 200 || string(again.Body) != string(r.Body) {
		t.Errorf("retried end: %d %s", again.Status, again.Body)
	}
	if a, err := policy.ParseEndAnswer(r.Body); err != nil || a.Record != rec.ID {
		t.Fatalf("end answer %s: %v", r.Body, err)
	}
	errorOf(t, ts.dataReturn(t, nil, u.request(t, ts, "data-return", rec.ID)), 410, policy.CodeEnded)
	errorOf(t, ts.endRequest(t, u.request(t, ts, "end", rec.ID)), 410, policy.CodeEnded)
	hist, _ := ts.History(rec.ID)
	if err := policy.VerifyChain(hist); err != nil || hist[len(hist)-1].Type != policy.EventEnded || !strings.Contains(hist[len(hist)-1].Detail, "user") {
		t.Fatalf("history %+v: %v", hist, err)
	}
}

func TestEndBySite(t *testing.T) {
	t.Parallel()
	ts := startSite(t)
	u := newUser(t)
	rec := agree(t, ts, u, basicOffer)
	if err := ts.End(rec.ID, "closing the shop"); err != nil {
		t.Fatal(err)
	}
	if err := ts.End(rec.ID, "again"); !errors.Is(err, site.ErrEnded) {
		t.Errorf("second End: %v, want ErrEnded", err)
	}
	if err := ts.End(policy.Digest([]byte("none")), "x"); !errors.Is(err, site.ErrNotFound) {
		t.Errorf("End of unknown record: %v, want ErrNotFound", err)
	}
	e := errorOf(t, ts.dataReturn(t, nil, u.request(t, ts, "data-return", rec.ID)), 410, policy.CodeEnded)
	if !strings.Contains(e.Message, "site") {
		t.Errorf("message %q should say the site ended it", e.Message)
	}
	hist, _ := ts.History(rec.ID)
	if last := hist[len(hist)-1]; last.Type != policy.EventEnded || !strings.Contains(last.Detail, "closing the shop") {
		t.Errorf("last event %+v", last)
	}
}

// TestBoltStorePersists runs an agreement, page views and a data return on
// a bbolt file, reopens it and checks everything is still there.
func TestBoltStorePersists(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "vendor.db")
	_, key, _ := ed25519.GenerateKey(nil)
	store, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	withStore := func(s site.Store) siteOpt {
		return func(c *site.Config) {
			c.Store = s
			c.PrivateKey = key
			c.AcceptUserTerms = func(policy.Terms, policy.Obligations) bool { return true }
		}
	}
	ts := startSite(t, withStore(store))
	u := newUser(t)
	strict, _ := policy.Preset("service-only")
	userTerms := policy.Offer{Terms: strict.Terms, Obligations: strict.Obligations}
	body := u.proposal(t, u.agreement(ts, userTerms))
	first := ts.propose(t, body)
	rec := *answerOf(t, first).Record
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	ts.page(t, browser, "/", agreedHeader(userTerms))
	d := parseDataReturn(t, ts.dataReturn(t, browser, u.request(t, ts, "data-return", rec.ID)))
	if len(d.Items) != 1 {
		// service-only terms allow no analytics: the page view is not recorded.
		t.Fatalf("items %s", itemTypes(d))
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	store, err = boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ts2 := startSite(t, withStore(store))
	ts2.Clock = ts.Clock
	got, err := store.GetRecord(rec.ID)
	if err != nil || got.Record.SiteSignature != rec.SiteSignature {
		t.Fatalf("record after reopen: %+v %v", got, err)
	}
	hist, err := store.History(policy.EncodeKey(u.pub))
	if err != nil || len(hist) != 2 || policy.VerifyChain(hist) != nil {
		t.Fatalf("history after reopen: %+v %v", hist, err)
	}
	// The accepted user terms are still recognised.
	if r := ts2.page(t, nil, "/", agreedHeader(userTerms)); r.Header.Get("Tk") != "C" {
		t.Errorf("Tk %q after reopen", r.Header.Get("Tk"))
	}
	if items, _ := store.Items("rel:" + policy.EncodeKey(u.pub)); len(items) != 1 {
		t.Errorf("items after reopen: %+v", items)
	}
	if sessions, _ := store.Sessions(policy.EncodeKey(u.pub)); len(sessions) != 0 {
		t.Errorf("session-tracking terms linked sessions: %v", sessions)
	}
	if n, found, _ := store.GetNonce("proposal:" + rec.Agreement.Nonce); !found || n.Status != 200 {
		t.Errorf("nonce after reopen: %+v %v", n, found)
	}
	if err := store.ForgetNonces(time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := store.GetNonce("proposal:" + rec.Agreement.Nonce); found {
		t.Error("ForgetNonces kept an expired nonce")
	}
}

// TestDataReturnKeepsTheAgreementItem: the agreement itself is an item of
// type "agreement" (PROTOCOL.md 13.1), there even when the relationship
// holds more than the 1000 items a data return can carry; an agreement on
// the user's own terms has no "offer" in it.
func TestDataReturnKeepsTheAgreementItem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		data map[string]string
		want int // items returned; 0: as many as fit in 64 KiB
	}{
		{"small items: the 1000 newest", nil, 1000},
		{"larger items: as many as fit", map[string]string{"note": strings.Repeat("x", 40)}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startSite(t)
			u := newUser(t)
			rec := agree(t, ts, u, basicOffer)
			ts.Clock.Add(time.Second)
			for i := range 1005 {
				data := map[string]string{"n": fmt.Sprint(i)}
				for k, v := range tc.data {
					data[k] = v
				}
				if err := ts.RecordFor(rec.ID, policy.DataItem{Type: "p", Data: data}); err != nil {
					t.Fatal(err)
				}
			}
			r := ts.dataReturn(t, nil, u.request(t, ts, "data-return", rec.ID))
			d := parseDataReturn(t, r) // parsing also checks the 64 KiB limit
			n := len(d.Items)
			if (tc.want != 0 && n != tc.want) || n > 1000 || (tc.want == 0 && len(r.Body) < policy.MaxMessage-200) {
				t.Fatalf("%d items in %d bytes", n, len(r.Body))
			}
			first := d.Items[0]
			_, _, digest := ts.Terms()
			if first.Type != "agreement" || first.Data["record"] != rec.ID || first.Data["offer"] != "basic" || first.Data["termsDigest"] != digest {
				t.Errorf("first item %+v, want the agreement", first)
			}
			for i, it := range d.Items[1:] {
				if want := fmt.Sprint(1005 - (n - 1) + i); it.Data["n"] != want {
					t.Fatalf("item %d is n=%s, want n=%s: the newest, in order", i+1, it.Data["n"], want)
				}
			}
		})
	}

	u := newUser(t)
	own := startSite(t, func(c *site.Config) { c.AcceptUserTerms = func(policy.Terms, policy.Obligations) bool { return true } })
	strict, _ := policy.Preset("service-only")
	rec2 := agree(t, own, u, policy.Offer{Terms: strict.Terms, Obligations: strict.Obligations})
	d := parseDataReturn(t, own.dataReturn(t, nil, u.request(t, own, "data-return", rec2.ID)))
	if len(d.Items) != 1 || d.Items[0].Type != "agreement" || d.Items[0].Data["record"] != rec2.ID {
		t.Fatalf("items %+v", d.Items)
	}
	if _, has := d.Items[0].Data["offer"]; has {
		t.Errorf("agreement on the user's terms names an offer: %v", d.Items[0].Data)
	}
}
