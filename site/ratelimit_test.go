package site_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/rbutton/rbutton/host/negotiate"
	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
)

// A flood of proposals from one address: the first Burst are decided, the
// rest answered 429 rate_limited with Retry-After, until the bucket refills.
// Other addresses and the terms document are unaffected.
func TestRateLimitPerClientAddress(t *testing.T) {
	t.Parallel()
	ts := startSite(t, func(c *site.Config) {
		c.RateLimit = site.RateLimit{Every: 10 * time.Second, Burst: 3,
			ClientAddress: func(r *http.Request) string { return r.Header.Get("X-Test-Client") }}
	})
	doc, _, _ := ts.Terms()
	u := newUser(t)
	body := u.proposal(t, u.agreement(ts, basicOffer))
	send := func(client string) response {
		req, _ := http.NewRequest("POST", ts.URL+doc.Endpoints.Agreement, bytes.NewReader(body))
		req.Header.Set("Content-Type", policy.MediaType)
		req.Header.Set("X-Test-Client", client)
		return do(t, nil, req)
	}
	for i := range 3 {
		if r := send("a"); r.Status != 200 {
			t.Fatalf("request %d within the burst: %d %s", i+1, r.Status, r.Body)
		}
	}
	r := send("a")
	errorOf(t, r, http.StatusTooManyRequests, policy.CodeRateLimited)
	if got := r.Header.Get("Retry-After"); got != "10" {
		t.Errorf("Retry-After %q, want 10 (one request per 10 s)", got)
	}
	if ct := r.Header.Get("Content-Type"); ct != policy.MediaType {
		t.Errorf("Content-Type %q", ct)
	}
	if r := send("b"); r.Status != 200 {
		t.Errorf("another address was limited: %d %s", r.Status, r.Body)
	}
	if r := ts.page(t, nil, "/.well-known/dnt-d", ""); r.Status != 200 {
		t.Errorf("the terms document was limited: %d", r.Status)
	}
	ts.Clock.Add(4 * time.Second)
	if r := send("a"); r.Status != 429 || r.Header.Get("Retry-After") != "6" {
		t.Errorf("after 4 s: %d, Retry-After %q; want 429 and 6", r.Status, r.Header.Get("Retry-After"))
	}
	ts.Clock.Add(6 * time.Second)
	if r := send("a"); r.Status != 200 {
		t.Errorf("after 10 s a token is back: %d %s", r.Status, r.Body)
	}
	if r := send("a"); r.Status != 429 {
		t.Errorf("and only one: %d", r.Status)
	}
}

// Data-return and end requests count against the same bucket, and a
// negative Every turns the limit off.
func TestRateLimitCoversEveryPost(t *testing.T) {
	t.Parallel()
	limited := startSite(t, func(c *site.Config) { c.RateLimit = site.RateLimit{Every: time.Hour, Burst: 2} })
	u := newUser(t)
	c := &negotiate.Client{}
	out, err := negotiateWith(t, c, limited, policy.DefaultPreset, u) // 1 POST
	if err != nil {
		t.Fatal(err)
	}
	doc, _, _ := limited.Terms()
	if _, err := c.DataReturn(context.Background(), limited.Origin(), doc, out.Record.ID, u.priv); err != nil { // 2
		t.Fatal(err)
	}
	err = c.End(context.Background(), limited.Origin(), doc, out.Record.ID, u.priv) // 3: over
	var ne *negotiate.Error
	if !errors.As(err, &ne) || ne.Code != proto.CodeSiteRateLimited || ne.RetryAfter != time.Hour {
		t.Fatalf("end over the limit: %v (%+v), want site_rate_limited with a 1 h Retry-After", err, ne)
	}
	if rec, err := limited.Store().GetRecord(out.Record.ID); err != nil || !rec.Ended.IsZero() {
		t.Errorf("a refused end request ended the relationship: %+v %v", rec, err)
	}

	open := startSite(t, func(c *site.Config) { c.RateLimit = site.RateLimit{Every: -1} })
	for i := range 50 {
		if r := open.propose(t, u.proposal(t, u.agreement(open, basicOffer))); r.Status != 200 {
			t.Fatalf("proposal %d with the limit off: %d %s", i, r.Status, r.Body)
		}
	}
}
