package site_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
)

func (u *user) detailsRequest(t testing.TB, ts *testSite, record string, d policy.Details) []byte {
	t.Helper()
	r := policy.SignedRequest{V: 1, Type: policy.RequestDetails, Record: record, Nonce: policy.NewNonce(), Created: ts.Clock.Now(), Details: &d}
	if err := policy.SignRequest(&r, u.priv); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDetailsEndpoint(t *testing.T) {
	var mu sync.Mutex
	var got []site.DetailsUpdate
	var refuse error
	ts := startSite(t, func(c *site.Config) {
		c.Details = func(u site.DetailsUpdate) error {
			mu.Lock()
			defer mu.Unlock()
			if refuse != nil {
				return refuse
			}
			got = append(got, u)
			return nil
		}
	})
	doc, _, _ := ts.Terms()
	if doc.Endpoints.Details != site.DefaultDetailsPath {
		t.Fatalf("details endpoint not advertised: %+v", doc.Endpoints)
	}
	u := newUser(t)
	rec := agree(t, ts, u, basicOffer) // pseudonymous, transactional
	url := ts.URL + doc.Endpoints.Details

	r := post(t, nil, url, u.detailsRequest(t, ts, rec.ID, policy.Details{Email: "ada@example.org"}))
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	a, err := policy.ParseDetailsAnswer(r.Body)
	if err != nil || a.Record != rec.ID || strings.Join(a.Fields, ",") != "email" {
		t.Fatalf("answer %+v %v", a, err)
	}
	if len(got) != 1 || got[0].Details.Email != "ada@example.org" || got[0].Relationship != rec.Agreement.UserKey || got[0].Record != rec.ID {
		t.Fatalf("CRM got %+v", got)
	}

	// A detail the agreement does not allow is refused, naming it; the CRM sees nothing.
	e := errorOf(t, post(t, nil, url, u.detailsRequest(t, ts, rec.ID, policy.Details{Name: "Ada"})), 400, policy.CodeInvalid)
	if !strings.HasPrefix(e.Message, "details.name:") || len(got) != 1 {
		t.Errorf("refusal %q; CRM got %d updates", e.Message, len(got))
	}
	// A retried request gets its answer again without a second update;
	// another user's key and a data-return request sent here are refused.
	body := u.detailsRequest(t, ts, rec.ID, policy.Details{Email: "b@example.org"})
	first, again := post(t, nil, url, body), post(t, nil, url, body)
	if first.Status != 200 || string(again.Body) != string(first.Body) || len(got) != 2 {
		t.Errorf("retry: %d %s, then %d %s; CRM got %d updates", first.Status, first.Body, again.Status, again.Body, len(got))
	}
	errorOf(t, post(t, nil, url, newUser(t).detailsRequest(t, ts, rec.ID, policy.Details{Email: "c@example.org"})), 400, policy.CodeBadSignature)
	errorOf(t, post(t, nil, url, u.request(t, ts, policy.RequestDataReturn, rec.ID)), 400, policy.CodeInvalid)

	// The vendor's own system refusing is the vendor's answer.
	mu.Lock()
	refuse = errors.New("no e-mail for this account")
	mu.Unlock()
	e = errorOf(t, post(t, nil, url, u.detailsRequest(t, ts, rec.ID, policy.Details{Email: "d@example.org"})), 422, policy.CodeInvalid)
	if !strings.Contains(e.Message, "no e-mail for this account") {
		t.Errorf("refusal %q", e.Message)
	}
	// A system that cannot take it now is not a refusal: 503 unavailable.
	mu.Lock()
	refuse = fmt.Errorf("%w: the CRM is down", site.ErrTryLater)
	mu.Unlock()
	errorOf(t, post(t, nil, url, u.detailsRequest(t, ts, rec.ID, policy.Details{Email: "d@example.org"})), 503, policy.CodeUnavailable)

	// What the vendor holds shows in the data return; the history says it took them.
	dr := parseDataReturn(t, ts.dataReturn(t, nil, u.request(t, ts, policy.RequestDataReturn, rec.ID)))
	if !strings.Contains(itemTypes(dr), "details") {
		t.Errorf("data return items %s", itemTypes(dr))
	}
	h, err := ts.Store().History(rec.Agreement.UserKey)
	if err != nil || policy.VerifyChain(h) != nil {
		t.Fatalf("history %v", err)
	}
	n := 0
	for _, ev := range h {
		if ev.Type == policy.EventDetailsUpdated {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d details-updated events, want 2", n)
	}

	// Ended: 410.
	if r := ts.endRequest(t, u.request(t, ts, policy.RequestEnd, rec.ID)); r.Status != 200 {
		t.Fatal(r.Status)
	}
	errorOf(t, post(t, nil, url, u.detailsRequest(t, ts, rec.ID, policy.Details{Email: "e@example.org"})), 410, policy.CodeEnded)
}

func TestNoDetailsEndpointWithoutHook(t *testing.T) {
	ts := startSite(t)
	doc, _, _ := ts.Terms()
	if doc.Endpoints.Details != "" {
		t.Fatalf("details endpoint advertised without a hook: %q", doc.Endpoints.Details)
	}
	r := post(t, nil, ts.URL+site.DefaultDetailsPath, []byte(`{}`))
	if r.Status != 404 && r.Status != 405 {
		t.Errorf("status %d", r.Status)
	}
}
