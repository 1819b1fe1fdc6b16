package site_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
)

var onRequest = policy.Obligations{Access: policy.LevelOnRequest, Deletion: policy.LevelOnRequest, DataReturn: policy.LevelOnRequest}

// basicOffer is acceptable to the default preset.
var basicOffer = policy.Offer{ID: "basic", Summary: "analytics, first party",
	Terms: policy.Terms{Tracking: policy.TrackingFirstParty, Purposes: []policy.Purpose{policy.PurposeService, policy.PurposeAnalytics},
		Sharing: policy.SharingProcessors, Retention: "P30D", Identity: policy.IdentityPseudonymous, Contact: policy.ContactTransactional},
	Obligations: onRequest}

// adsOffer conflicts with the default preset on purposes.
var adsOffer = policy.Offer{ID: "ads",
	Terms: policy.Terms{Tracking: policy.TrackingFirstParty, Purposes: []policy.Purpose{policy.PurposeService, policy.PurposePersonalisedAds},
		Sharing: policy.SharingProcessors, Retention: "P90D", Identity: policy.IdentityPseudonymous, Contact: policy.ContactTransactional},
	Obligations: onRequest}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testSite is a vendor served on a real loopback port.
type testSite struct {
	*site.Vendor
	URL   string
	Clock *clock
	srv   *httptest.Server
	log   *bytes.Buffer
	logMu sync.Mutex
}

type siteOpt func(*site.Config)

// startSite serves a vendor (offers basic and ads) with a small HTML site
// behind its middleware: "/" records a page view when analytics is allowed.
func startSite(t testing.TB, opts ...siteOpt) *testSite {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := "http://" + ln.Addr().String()
	_, key, _ := ed25519.GenerateKey(nil)
	ts := &testSite{Clock: &clock{t: time.Now().UTC().Truncate(time.Second)}, log: &bytes.Buffer{}}
	cfg := site.Config{
		Origin:     origin,
		Controller: policy.Controller{Name: "Test Vendor", Contact: "privacy@test.example"},
		PolicyURL:  origin + "/privacy",
		Offers:     []policy.Offer{basicOffer, adsOffer},
		PrivateKey: key,
		Store:      site.NewMemoryStore(),
		Now:        ts.Clock.Now,
		Log: func(line string) {
			ts.logMu.Lock()
			ts.log.WriteString(line + "\n")
			ts.logMu.Unlock()
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	v, err := site.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.Vendor = v
	mux := http.NewServeMux()
	v.Mount(mux)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if site.Permits(r, policy.PurposeAnalytics) {
			v.Record(r, policy.DataItem{Type: "page-view", Data: map[string]string{"path": r.URL.Path}})
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><title>t</title><p>hello")
	})
	ts.srv = httptest.NewUnstartedServer(v.Middleware(mux))
	ts.srv.Listener.Close()
	ts.srv.Listener = ln
	ts.srv.Start()
	t.Cleanup(ts.srv.Close)
	ts.URL = origin
	return ts
}

// user is an agent's side of one relationship: a pairwise key.
type user struct {
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newUser(t testing.TB) *user {
	pub, priv, err := policy.NewPairwiseKey()
	if err != nil {
		t.Fatal(err)
	}
	return &user{pub, priv}
}

// agreement builds an agreement for offer o (or, with o.ID "", user terms).
func (u *user) agreement(ts *testSite, o policy.Offer) policy.Agreement {
	_, _, digest := ts.Terms()
	return policy.Agreement{V: 1, Site: ts.Origin(), TermsDigest: digest, Offer: o.ID, Terms: o.Terms, Obligations: o.Obligations,
		UserKey: policy.EncodeKey(u.pub), SiteKey: ts.PublicKey(), Nonce: policy.NewNonce(), Created: ts.Clock.Now()}
}

// proposal signs a and returns the JSON body.
func (u *user) proposal(t testing.TB, a policy.Agreement) []byte {
	t.Helper()
	sig, err := policy.SignAgreement(a, u.priv)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(policy.Proposal{V: 1, Type: "proposal", Agreement: a, UserSignature: sig})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (u *user) request(t testing.TB, ts *testSite, typ, record string) []byte {
	t.Helper()
	r := policy.SignedRequest{V: 1, Type: typ, Record: record, Nonce: policy.NewNonce(), Created: ts.Clock.Now()}
	if err := policy.SignRequest(&r, u.priv); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func post(t testing.TB, client *http.Client, url string, body []byte) response {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", policy.MediaType)
	return do(t, client, req)
}

func do(t testing.TB, client *http.Client, req *http.Request) response {
	t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

func (ts *testSite) propose(t testing.TB, body []byte) response {
	t.Helper()
	doc, _, _ := ts.Terms()
	return post(t, nil, ts.URL+doc.Endpoints.Agreement, body)
}

// answer parses a 200 answer strictly.
func answerOf(t testing.TB, r response) *policy.Answer {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != policy.MediaType {
		t.Errorf("Content-Type %q", ct)
	}
	a, err := policy.ParseAnswer(r.Body)
	if err != nil {
		t.Fatalf("answer does not parse: %v\n%s", err, r.Body)
	}
	return a
}

// errorOf parses an error document and checks status and code.
func errorOf(t testing.TB, r response, status int, code string) *policy.ErrorDocument {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	e, err := policy.ParseErrorDocument(r.Body)
	if err != nil {
		t.Fatalf("error document does not parse: %v\n%s", err, r.Body)
	}
	if e.Error != code {
		t.Fatalf("error %q, want %q (%s)", e.Error, code, e.Message)
	}
	return e
}

// agree runs a successful proposal of o and returns the record.
func agree(t testing.TB, ts *testSite, u *user, o policy.Offer) policy.Record {
	t.Helper()
	a := answerOf(t, ts.propose(t, u.proposal(t, u.agreement(ts, o))))
	if a.Status != policy.StatusAccepted || a.Record == nil {
		t.Fatalf("answer %+v, want accepted", a)
	}
	return *a.Record
}

// page GETs a top-level document with the given Sec-DNT-D value.
func (ts *testSite) page(t testing.TB, client *http.Client, path, dntd string) response {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.URL+path, nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Dest", "document")
	req.Header.Set("DNT", "1")
	req.Header.Set("Sec-GPC", "1")
	if dntd != "" {
		req.Header.Set("Sec-DNT-D", dntd)
	}
	return do(t, client, req)
}

func agreedHeader(o policy.Offer) string {
	return "v=1, agreed=:" + policy.AgreedDigest(o.Terms, o.Obligations) + ":"
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
