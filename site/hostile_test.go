package site_test

import (
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rbutton/rbutton/bench"
	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
)

// Every hostile body is refused before authentication with an error
// document, and leaves nothing in the store: 64 KiB ones unread (413), the
// 8 KiB ones at the first value that does not fit a proposal (400).
// BenchmarkPostBeforeAuth measures what each costs.
func TestHostileBodiesBeforeAuth(t *testing.T) {
	t.Parallel()
	ts := startSite(t, func(c *site.Config) { c.RateLimit = site.RateLimit{Every: -1} })
	u := newUser(t)
	doc, _, _ := ts.Terms()
	for _, b := range bench.HostileBodies(u.proposal(t, u.agreement(ts, basicOffer))) {
		r := post(t, nil, ts.URL+doc.Endpoints.Agreement, b.Body)
		switch {
		case strings.HasPrefix(b.Name, "well-formed"):
			errorOf(t, r, 400, policy.CodeBadSignature)
		case len(b.Body) > policy.MaxRequest:
			errorOf(t, r, 413, policy.CodeTooLarge)
		default:
			if r.Status != 400 {
				t.Errorf("%s: status %d, want 400: %s", b.Name, r.Status, r.Body)
			}
		}
	}
	// Without a Content-Length the body is read up to the limit, no further.
	chunked := &http.Request{Method: "POST", URL: mustURL(ts.URL + doc.Endpoints.Agreement), Header: http.Header{"Content-Type": {policy.MediaType}},
		Body: io.NopCloser(io.MultiReader(strings.NewReader("["), strings.NewReader(strings.Repeat("0,", policy.MaxRequest)+"0]")))}
	errorOf(t, do(t, nil, chunked), 413, policy.CodeTooLarge)
	if hist, _ := ts.Store().History(policy.EncodeKey(u.pub)); len(hist) != 0 {
		t.Errorf("hostile bodies left history %+v", hist)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// Strangers whose terms the vendor refuses make it keep nothing but their
// nonces, and those expire; user terms it accepts are bounded in number.
func TestStrangersLeaveNothingLasting(t *testing.T) {
	t.Parallel()
	strict := policy.Offer{Terms: policy.Terms{Tracking: policy.TrackingNone, Purposes: []policy.Purpose{policy.PurposeService},
		Sharing: policy.SharingNone, Retention: policy.RetentionNone, Identity: policy.IdentityAnonymous, Contact: policy.ContactNever},
		Obligations: policy.Obligations{Access: policy.LevelRequired, Deletion: policy.LevelRequired, DataReturn: policy.LevelRequired}}
	ts := startSite(t, func(c *site.Config) { c.RateLimit = site.RateLimit{Every: -1} })
	var nonces []string
	for range 20 {
		u := newUser(t)
		a := u.agreement(ts, strict)
		nonces = append(nonces, a.Nonce)
		if ans := answerOf(t, ts.propose(t, u.proposal(t, a))); ans.Status != policy.StatusRefused {
			t.Fatalf("answer %+v, want refused", ans)
		}
		if hist, _ := ts.Store().History(a.UserKey); len(hist) != 0 {
			t.Fatalf("a refused stranger left history %+v", hist)
		}
	}
	if _, kept, _ := ts.Store().GetNonce("proposal:" + nonces[0]); !kept {
		t.Fatal("a refused proposal's nonce is not kept against replay")
	}
	// Past the freshness window, the next exchange drops the nonces.
	ts.Clock.Add(2*policy.MaxClockSkew + 2*time.Minute)
	u := newUser(t)
	answerOf(t, ts.propose(t, u.proposal(t, u.agreement(ts, strict))))
	for _, n := range nonces {
		if _, kept, _ := ts.Store().GetNonce("proposal:" + n); kept {
			t.Fatalf("nonce %s outlived its window", n)
		}
	}

	t.Run("user terms are bounded", func(t *testing.T) {
		ts := startSite(t, func(c *site.Config) {
			c.RateLimit = site.RateLimit{Every: -1}
			c.MaxUserTerms = 2
			c.AcceptUserTerms = func(policy.Terms, policy.Obligations) bool { return true }
		})
		terms := func(days int) policy.Offer {
			o := strict
			o.Terms.Retention = policy.Retention("P" + strings.Repeat("1", days) + "D")
			return o
		}
		for i, want := range []string{policy.StatusAccepted, policy.StatusAccepted, policy.StatusRefused, policy.StatusAccepted} {
			o := terms(i + 1)
			if i == 3 {
				o = terms(1) // terms already held are still agreed to
			}
			u := newUser(t)
			if a := answerOf(t, ts.propose(t, u.proposal(t, u.agreement(ts, o)))); a.Status != want {
				t.Fatalf("user terms %d: %s (%s), want %s", i, a.Status, a.Reason, want)
			}
		}
		if n := len(must(ts.Store().AllAgreedTerms())); n != 2 {
			t.Errorf("%d sets of user terms kept, want 2", n)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Session fixation: a session cookie the vendor did not issue, however
// well-formed, is neither recorded under nor linked to a relationship; the
// visitor is given an issued one instead.
func TestForeignSessionCookiesAreNotLinked(t *testing.T) {
	t.Parallel()
	ts := startSite(t)
	siteURL := mustURL(ts.URL)
	for _, forged := range []string{forgedID(16), forgedID(32), "not-base64!"} {
		victim := newUser(t)
		rec := agree(t, ts, victim, basicOffer)
		jar, _ := cookiejar.New(nil)
		jar.SetCookies(siteURL, []*http.Cookie{{Name: site.DefaultSessionCookie, Value: forged}})
		browser := &http.Client{Jar: jar}
		r := ts.page(t, browser, "/", agreedHeader(basicOffer))
		issued := jar.Cookies(siteURL)
		if len(issued) != 1 || issued[0].Value == forged || !strings.HasPrefix(r.Header.Get("Set-Cookie"), site.DefaultSessionCookie+"=") {
			t.Fatalf("forged cookie %q: the vendor kept it (cookies now %v)", forged, issued)
		}
		// A data-return request carrying the forged id links nothing.
		attacker := &http.Client{Jar: must(cookiejar.New(nil))}
		attacker.Jar.SetCookies(siteURL, []*http.Cookie{{Name: site.DefaultSessionCookie, Value: forged}})
		parseDataReturn(t, ts.dataReturn(t, attacker, victim.request(t, ts, "data-return", rec.ID)))
		if sessions, _ := ts.Store().Sessions(policy.EncodeKey(victim.pub)); len(sessions) != 0 {
			t.Fatalf("forged session %q was linked: %v", forged, sessions)
		}
		if items, _ := ts.Store().Items("session:" + forged); len(items) != 0 {
			t.Fatalf("items were recorded under the forged session %q", forged)
		}
		// The issued one links, and its page view comes back.
		d := parseDataReturn(t, ts.dataReturn(t, browser, victim.request(t, ts, "data-return", rec.ID)))
		if !strings.Contains(itemTypes(d), "page-view") {
			t.Fatalf("the issued session was not linked: items %s", itemTypes(d))
		}
	}
}

func forgedID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
