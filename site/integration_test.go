package site_test

// Integration: the host's real negotiator (host/negotiate) against this
// library over loopback HTTP.

import (
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rbutton/rbutton/host/negotiate"
	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
)

func negotiateWith(t *testing.T, c *negotiate.Client, ts *testSite, preset string, u *user) (*negotiate.Outcome, error) {
	t.Helper()
	terms, ok := policy.Preset(preset)
	if !ok {
		t.Fatalf("no preset %q", preset)
	}
	_, _, digest := ts.Terms()
	return c.Negotiate(context.Background(), negotiate.Input{Origin: ts.Origin(), Digest: digest, User: terms, Public: u.pub, Private: u.priv})
}

func TestHostNegotiatorAgrees(t *testing.T) {
	t.Parallel()
	ts := startSite(t)
	u := newUser(t)
	c := &negotiate.Client{}
	out, err := negotiateWith(t, c, ts, policy.DefaultPreset, u)
	if err != nil {
		t.Fatal(err)
	}
	if out.Record == nil || out.Offer == nil || out.Offer.ID != "basic" {
		t.Fatalf("outcome %+v, want agreement on basic", out)
	}
	stored, err := ts.Store().GetRecord(out.Record.ID)
	if err != nil || stored.Record.SiteSignature != out.Record.SiteSignature {
		t.Fatalf("site's copy %+v: %v", stored, err)
	}
	if r := ts.page(t, nil, "/", agreedHeader(*out.Offer)); r.Header.Get("Tk") != "C" {
		t.Errorf("Tk %q with the negotiated digest", r.Header.Get("Tk"))
	}

	doc, _, _ := ts.Terms()
	if err := ts.RecordFor(out.Record.ID, policy.DataItem{Type: "preference", Data: map[string]string{"newsletter": "no"}}); err != nil {
		t.Fatal(err)
	}
	dr, err := c.DataReturn(context.Background(), ts.Origin(), doc, out.Record.ID, u.priv)
	if err != nil {
		t.Fatal(err)
	}
	if len(dr.Items) != 2 || dr.Items[1].Type != "preference" {
		t.Errorf("data return items %+v", dr.Items)
	}
	if err := c.End(context.Background(), ts.Origin(), doc, out.Record.ID, u.priv); err != nil {
		t.Fatal(err)
	}
	_, err = c.DataReturn(context.Background(), ts.Origin(), doc, out.Record.ID, u.priv)
	var ne *negotiate.Error
	if !errors.As(err, &ne) || ne.Code != proto.CodeSiteRefused || !strings.Contains(err.Error(), "410") {
		t.Errorf("data return after end: %v, want site_refused 410", err)
	}
	hist, _ := ts.History(out.Record.ID)
	var types []string
	for _, e := range hist {
		types = append(types, e.Type)
	}
	if got := strings.Join(types, ","); got != "negotiated,data-returned,ended" || policy.VerifyChain(hist) != nil {
		t.Errorf("site history %s", got)
	}
}

func TestHostNegotiatorConflict(t *testing.T) {
	t.Parallel()
	ts := startSite(t, func(c *site.Config) { c.Offers = []policy.Offer{adsOffer} })
	u := newUser(t)
	out, err := negotiateWith(t, &negotiate.Client{}, ts, policy.DefaultPreset, u)
	if err != nil {
		t.Fatal(err)
	}
	if out.Record != nil || len(out.Conflicts) != 1 || out.Conflicts[0].Dimension != policy.DimPurposes {
		t.Fatalf("outcome %+v, want one conflict on purposes", out)
	}
	if !strings.Contains(ts.logString(), "AgreementRefused") {
		t.Errorf("site log:\n%s", ts.logString())
	}
}

func TestHostNegotiatorUserTermsAccepted(t *testing.T) {
	t.Parallel()
	ts := startSite(t, func(c *site.Config) {
		c.Offers = []policy.Offer{adsOffer}
		c.AcceptUserTerms = func(tm policy.Terms, o policy.Obligations) bool { return true }
	})
	u := newUser(t)
	out, err := negotiateWith(t, &negotiate.Client{}, ts, policy.DefaultPreset, u)
	if err != nil {
		t.Fatal(err)
	}
	if out.Record == nil || out.Record.Agreement.Offer != "" {
		t.Fatalf("outcome %+v, want the user's own terms agreed", out)
	}
	a := out.Record.Agreement
	if r := ts.page(t, nil, "/", "v=1, agreed=:"+policy.AgreedDigest(a.Terms, a.Obligations)+":"); r.Header.Get("Tk") != "C" {
		t.Errorf("Tk %q for the user's agreed terms", r.Header.Get("Tk"))
	}
}

// TestHostNegotiatorTermsChangeMidway: the terms change between the agent's
// fetch and its proposal; the site answers 409 and the agent follows.
func TestHostNegotiatorTermsChangeMidway(t *testing.T) {
	t.Parallel()
	ts := startSite(t)
	changed := basicOffer
	changed.Terms.Retention = "P14D"
	var once sync.Once
	c := &negotiate.Client{Now: func() time.Time {
		// Now is first read when the agent builds its proposal, after the fetch.
		once.Do(func() {
			if err := ts.SetOffers([]policy.Offer{changed, adsOffer}); err != nil {
				t.Error(err)
			}
		})
		return ts.Clock.Now()
	}}
	out, err := negotiateWith(t, c, ts, policy.DefaultPreset, newUser(t))
	if err != nil {
		t.Fatal(err)
	}
	if !out.TermsChanged || out.Record == nil || out.Record.Agreement.Terms.Retention != "P14D" {
		t.Fatalf("outcome %+v, want agreement on the changed terms after terms_changed", out)
	}
	if !strings.Contains(ts.logString(), "terms_changed") {
		t.Errorf("site log:\n%s", ts.logString())
	}
}

// TestHostDataRequestFromBrowser: the path the extension takes for "What
// they hold about me". The host signs the data-return request
// (data.request), the browser sends it with the site's own first-party
// cookie, and the host checks the answer (data.accept). Browsing the site
// recorded under that cookie comes back; a lying answer for another record
// is refused.
func TestHostDataRequestFromBrowser(t *testing.T) {
	t.Parallel()
	ts := startSite(t)
	u := newUser(t)
	c := &negotiate.Client{Now: ts.Clock.Now}
	out, err := negotiateWith(t, c, ts, policy.DefaultPreset, u)
	if err != nil || out.Record == nil {
		t.Fatalf("negotiate: %+v %v", out, err)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	for range 2 {
		ts.page(t, browser, "/", agreedHeader(*out.Offer))
	}
	doc, _, _ := ts.Terms()
	target, body, err := c.SignedRequest(ts.Origin(), doc.Endpoints.DataReturn, policy.RequestDataReturn, out.Record.ID, u.priv)
	if err != nil {
		t.Fatal(err)
	}
	if target != ts.URL+doc.Endpoints.DataReturn {
		t.Fatalf("target %s", target)
	}
	r := post(t, browser, target, body)
	dr, err := negotiate.CheckDataReturn(r.Body, out.Record.ID)
	if err != nil {
		t.Fatalf("answer %d %s: %v", r.Status, r.Body, err)
	}
	if got := itemTypes(dr); got != "agreement,page-view,page-view" {
		t.Errorf("items %s, want the agreement and both page views", got)
	}
	if _, err := negotiate.CheckDataReturn(r.Body, policy.Digest([]byte("another record"))); err == nil {
		t.Error("an answer for another record was accepted")
	}
	if _, err := negotiate.CheckDataReturn([]byte(`{"v":1}`), out.Record.ID); err == nil {
		t.Error("an invalid answer was accepted")
	}
}
