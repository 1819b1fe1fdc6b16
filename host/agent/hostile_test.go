package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rbutton/rbutton/host/negotiate"
	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
)

// TestHostileSites runs the negotiator against sites that misbehave in one
// way each. Every case must fail with its own code and store nothing.
func TestHostileSites(t *testing.T) {
	t.Parallel()
	otherOrigin := newTestSite(t, basicOffer) // somewhere a redirect could lead
	tests := []struct {
		name string
		code string
		// setup makes s hostile; it may return a different advertisement.
		setup func(s *testSite) string
	}{
		{"huge terms body", proto.CodeSiteTooLarge, func(s *testSite) string {
			big := []byte(`{"v":1,"pad":"` + strings.Repeat("x", 70<<10) + `"}`)
			s.setDoc(big)
			s.override = func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Type", policy.MediaType)
				// Chunked, no Content-Length: the cap must hold while reading.
				for i := 0; i < len(big); i += 4096 {
					w.Write(big[i:min(i+4096, len(big))])
					w.(http.Flusher).Flush()
				}
				return true
			}
			return ""
		}},
		{"huge declared length", proto.CodeSiteTooLarge, func(s *testSite) string {
			s.override = func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Length", fmt.Sprint(1<<30))
				w.Header().Set("Content-Type", policy.MediaType)
				w.WriteHeader(200)
				w.Write([]byte("{"))
				return true
			}
			return ""
		}},
		{"endless slow body", proto.CodeSiteTimeout, func(s *testSite) string {
			s.override = func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Type", policy.MediaType)
				for {
					if _, err := w.Write([]byte(" ")); err != nil {
						return true
					}
					w.(http.Flusher).Flush()
					select {
					case <-r.Context().Done():
						return true
					case <-time.After(20 * time.Millisecond):
					}
				}
			}
			return ""
		}},
		{"redirect to another origin", proto.CodeSiteRedirect, func(s *testSite) string {
			s.override = func(w http.ResponseWriter, r *http.Request) bool {
				http.Redirect(w, r, otherOrigin.origin+policy.WellKnownPath, http.StatusFound)
				return true
			}
			return otherOrigin.advertisement()
		}},
		{"redirect from the agreement endpoint", proto.CodeSiteRedirect, func(s *testSite) string {
			s.override = func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path == "/dnt-d/agree" {
					http.Redirect(w, r, otherOrigin.origin+"/dnt-d/agree", http.StatusTemporaryRedirect)
					return true
				}
				return false
			}
			return ""
		}},
		{"invalid JSON terms", proto.CodeSiteInvalidTerms, func(s *testSite) string {
			s.setDoc([]byte(`{"v":1,`))
			return ""
		}},
		{"terms failing validation", proto.CodeSiteInvalidTerms, func(s *testSite) string {
			bad := basicOffer
			bad.Terms.Retention = "forever"
			b, _ := json.Marshal(s.docFor(bad))
			s.setDoc(b)
			return ""
		}},
		{"terms with an unknown field", proto.CodeSiteInvalidTerms, func(s *testSite) string {
			b, _ := json.Marshal(s.docFor(basicOffer))
			s.setDoc([]byte(strings.Replace(string(b), `{"v":1,`, `{"v":1,"tracker":"x",`, 1)))
			return ""
		}},
		{"terms differ from the advertised digest", proto.CodeSiteTermsMismatch, func(s *testSite) string {
			return policy.ResponseHeaderValue(policy.Digest([]byte("something else")))
		}},
		{"endpoint on another origin", proto.CodeSiteCrossOriginEndpoint, func(s *testSite) string {
			d := s.docFor(basicOffer)
			d.Endpoints.Agreement = otherOrigin.origin + "/dnt-d/agree"
			b, _ := json.Marshal(d)
			s.setDoc(b)
			return ""
		}},
		{"scheme-relative endpoint", proto.CodeSiteCrossOriginEndpoint, func(s *testSite) string {
			d := s.docFor(basicOffer)
			d.Endpoints.Agreement = "//evil.example/agree"
			b, _ := json.Marshal(d)
			s.setDoc(b)
			return ""
		}},
		{"record with a bad site signature", proto.CodeSiteBadSignature, func(s *testSite) string {
			s.override = func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/dnt-d/agree" {
					return false
				}
				p := readProposal(s, r)
				rec, _ := policy.NewRecord(p.Agreement, p.UserSignature, p.UserSignature) // not the site's signature
				writeJSON(w, 200, policy.Answer{V: 1, Status: policy.StatusAccepted, Record: &rec})
				return true
			}
			return ""
		}},
		{"record altered by the site", proto.CodeSiteBadSignature, func(s *testSite) string {
			s.override = func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/dnt-d/agree" {
					return false
				}
				p := readProposal(s, r)
				a := p.Agreement
				a.Terms.Retention = "indefinite" // the site changes what was agreed
				siteSig, _ := policy.SignAgreement(a, s.priv)
				rec, _ := policy.NewRecord(a, p.UserSignature, siteSig)
				writeJSON(w, 200, policy.Answer{V: 1, Status: policy.StatusAccepted, Record: &rec})
				return true
			}
			return ""
		}},
		{"invalid JSON answer", proto.CodeSiteInvalidResponse, func(s *testSite) string {
			s.override = func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/dnt-d/agree" {
					return false
				}
				w.Header().Set("Content-Type", policy.MediaType)
				w.Write([]byte(`{"v":1,"status":`))
				return true
			}
			return ""
		}},
		{"error status without an error document", proto.CodeSiteProtocolError, func(s *testSite) string {
			s.override = func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/dnt-d/agree" {
					return false
				}
				http.Error(w, "oops", 500)
				return true
			}
			return ""
		}},
		{"site refuses the proposal", proto.CodeSiteRefused, func(s *testSite) string {
			s.override = func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/dnt-d/agree" {
					return false
				}
				writeJSON(w, 400, policy.ErrorDocument{V: 1, Error: "stale", Message: "clock skew"})
				return true
			}
			return ""
		}},
		{"terms_changed forever", proto.CodeSiteProtocolError, func(s *testSite) string {
			s.override = func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/dnt-d/agree" {
					return false
				}
				writeJSON(w, 409, policy.ErrorDocument{V: 1, Error: "terms_changed", Message: "again", TermsDigest: policy.Digest(s.terms())})
				return true
			}
			return ""
		}},
		{"accepted answer served as application/json", proto.CodeSiteProtocolError, func(s *testSite) string {
			s.override = func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/dnt-d/agree" {
					return false
				}
				s.handle(retyped{w, "application/json"}, r)
				return true
			}
			return ""
		}},
		{"error document served as text/plain", proto.CodeSiteProtocolError, func(s *testSite) string {
			s.override = func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/dnt-d/agree" {
					return false
				}
				writeJSON(retyped{w, "text/plain"}, 400, policy.ErrorDocument{V: 1, Error: "stale", Message: "clock skew"})
				return true
			}
			return ""
		}},
		{"terms_changed without termsDigest", proto.CodeSiteProtocolError, func(s *testSite) string {
			// Without the digest, the re-fetched terms would be terms
			// nobody advertised: the agent must not agree to them.
			var changed atomic.Bool
			s.override = func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/dnt-d/agree" || changed.Swap(true) {
					return false
				}
				s.setOffers(basicOffer, adsOffer)
				writeJSON(w, 409, policy.ErrorDocument{V: 1, Error: "terms_changed", Message: "changed"})
				return true
			}
			return ""
		}},
		{"terms_changed naming terms it does not serve", proto.CodeSiteTermsMismatch, func(s *testSite) string {
			s.override = func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/dnt-d/agree" {
					return false
				}
				writeJSON(w, 409, policy.ErrorDocument{V: 1, Error: "terms_changed", Message: "changed", TermsDigest: policy.Digest([]byte("other terms"))})
				return true
			}
			return ""
		}},
		{"unknown_offer for an offer it serves", proto.CodeSiteProtocolError, func(s *testSite) string {
			s.override = func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/dnt-d/agree" {
					return false
				}
				writeJSON(w, 400, policy.ErrorDocument{V: 1, Error: "unknown_offer", Message: "no such offer"})
				return true
			}
			return ""
		}},
		{"counter-offer, then terms_changed: a third proposal", proto.CodeSiteProtocolError, func(s *testSite) string {
			s.setOffers(adsOffer, basicOffer)
			var proposals atomic.Int32
			s.override = func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/dnt-d/agree" {
					return false
				}
				switch proposals.Add(1) {
				case 1:
					writeJSON(w, 200, policy.Answer{V: 1, Status: policy.StatusCounterOffer, CounterOffer: "basic", Reason: "try this"})
				case 2:
					s.setOffers(basicOffer)
					writeJSON(w, 409, policy.ErrorDocument{V: 1, Error: "terms_changed", Message: "changed", TermsDigest: policy.Digest(s.terms())})
				default:
					return false // a third proposal would be accepted
				}
				return true
			}
			return ""
		}},
		{"counter-offer not in the terms", proto.CodeSiteProtocolError, func(s *testSite) string {
			s.setOffers(adsOffer)
			s.onOwn = "counter:nonexistent"
			return ""
		}},
		{"rate limited", proto.CodeSiteRateLimited, func(s *testSite) string {
			s.override = func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/dnt-d/agree" {
					return false
				}
				w.Header().Set("Retry-After", "120")
				writeJSON(w, 429, policy.ErrorDocument{V: 1, Error: "rate_limited", Message: "slow down"})
				return true
			}
			return ""
		}},
		{"terms not found", proto.CodeSiteProtocolError, func(s *testSite) string {
			s.override = func(w http.ResponseWriter, r *http.Request) bool { http.NotFound(w, r); return true }
			return ""
		}},
		{"terms served as HTML", proto.CodeSiteProtocolError, func(s *testSite) string {
			s.override = func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Type", "text/html")
				w.Write(s.terms())
				return true
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newTestSite(t, basicOffer)
			a := newAgent(t)
			a.Client.Timeout = 500 * time.Millisecond
			adv := tt.setup(s)
			if adv == "" {
				adv = s.advertisement()
			}
			_, perr := call(t, a, proto.TypeNegotiate, map[string]string{"site": s.origin, "advertisement": adv})
			if perr == nil || perr.Code != tt.code {
				t.Fatalf("got %v, want code %s", perr, tt.code)
			}
			t.Logf("%s: %s", perr.Code, perr.Message)
			assertNothingStored(t, a, s.origin)
			// The failure is remembered (in the store, for every host
			// process): an immediate retry does not contact the site.
			hits := s.hits.Load()
			_, perr = call(t, a, proto.TypeNegotiate, map[string]string{"site": s.origin, "advertisement": adv})
			if perr == nil || perr.Code != proto.CodeSiteBackoff {
				t.Fatalf("retry: got %v, want site_backoff", perr)
			}
			if s.hits.Load() != hits {
				t.Errorf("retry during backoff contacted the site")
			}
			// What the host remembers of the failure is the user's to see
			// (export) and to delete (forget).
			ex, err := ExportAll(a.DB, time.Now())
			if err != nil || ex.Backoff[s.origin].Failures == 0 || ex.Backoff[s.origin].LastError == "" {
				t.Fatalf("export does not show the failure: %+v %v", ex.Backoff, err)
			}
			if err := a.DB.Update(func(tx *store.Tx) error { _, err := tx.Forget(s.origin); return err }); err != nil {
				t.Fatal(err)
			}
			if ex, _ := ExportAll(a.DB, time.Now()); len(ex.Backoff) != 0 {
				t.Errorf("forget left the backoff record: %+v", ex.Backoff)
			}
		})
	}
}

func readProposal(s *testSite, r *http.Request) *policy.Proposal {
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := r.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	p, err := policy.ParseProposal([]byte(b.String()))
	if err != nil {
		s.t.Errorf("agent sent an invalid proposal: %v", err)
		return &policy.Proposal{}
	}
	return p
}

// TestPrivateAddressRefused: a public name resolving to a loopback address
// is refused at dial time, before any byte is sent.
func TestPrivateAddressRefused(t *testing.T) {
	t.Parallel()
	s := newTestSite(t, basicOffer)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.origin, "http://"))
	for _, ip := range []string{"127.0.0.1", "10.1.2.3", "192.168.1.1", "169.254.169.254", "::1", "fd00::1", "100.64.0.1"} {
		t.Run(ip, func(t *testing.T) {
			a := newAgent(t)
			a.Client.LookupIP = func(context.Context, string) ([]netip.Addr, error) {
				return []netip.Addr{netip.MustParseAddr(ip)}, nil
			}
			site := "https://shop.example:" + port
			hits := s.hits.Load()
			_, perr := call(t, a, proto.TypeNegotiate, map[string]string{"site": site, "advertisement": s.advertisement()})
			if perr == nil || perr.Code != proto.CodeSitePrivateAddress {
				t.Fatalf("got %v, want site_private_address", perr)
			}
			if s.hits.Load() != hits {
				t.Errorf("the site was contacted")
			}
			assertNothingStored(t, a, site)
		})
	}
}

// TestBackoffSurvivesRestart: a new agent (a new host process) on the same
// database honours the backoff, and after it expires the site is tried again.
func TestBackoffSurvivesRestart(t *testing.T) {
	t.Parallel()
	s := newTestSite(t, basicOffer)
	s.override = func(w http.ResponseWriter, r *http.Request) bool { http.Error(w, "down", 503); return true }
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	a := newAgent(t)
	a.Now = func() time.Time { return now }
	if _, perr := call(t, a, proto.TypeNegotiate, negotiateParams(s)); perr == nil || perr.Code != proto.CodeSiteProtocolError {
		t.Fatalf("first attempt: %v", perr)
	}
	b := &Agent{DB: store.New(a.DB.Path), Client: &negotiate.Client{}, Log: a.Log, Now: a.Now}
	if _, perr := call(t, b, proto.TypeNegotiate, negotiateParams(s)); perr == nil || perr.Code != proto.CodeSiteBackoff {
		t.Fatalf("second process: %v", perr)
	}
	s.override = nil
	now = now.Add(BackoffBase + time.Second)
	rel := mustCall[store.Relationship](t, b, proto.TypeNegotiate, negotiateParams(s))
	if rel.State != store.StateAgreed {
		t.Fatalf("after backoff: %+v", rel)
	}
	var bo *store.Backoff
	b.DB.View(func(tx *store.Tx) error { bo, _ = tx.Backoff(s.origin); return nil })
	if bo != nil {
		t.Errorf("backoff not cleared after success: %+v", bo)
	}
}

// TestRetryAfterHonoured: a site that answers 429 is not contacted again
// before its Retry-After, even when the usual backoff is shorter, and a
// Retry-After beyond MaxRetryAfter is capped.
func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, header string
		wait         time.Duration
	}{
		{"seconds", "600", 600 * time.Second},
		{"HTTP date", "Fri, 01 May 2026 12:20:00 GMT", 20 * time.Minute},
		{"beyond the cap", "99999999", negotiate.MaxRetryAfter},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newTestSite(t, basicOffer)
			limited := true
			s.override = func(w http.ResponseWriter, r *http.Request) bool {
				if !limited {
					return false
				}
				w.Header().Set("Retry-After", tt.header)
				writeJSON(w, 429, policy.ErrorDocument{V: 1, Error: "rate_limited", Message: "slow down"})
				return true
			}
			now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			a := newAgent(t)
			a.Now = func() time.Time { return now }
			a.Client.Now = a.Now // an HTTP-date is read against the same clock
			if _, perr := call(t, a, proto.TypeNegotiate, negotiateParams(s)); perr == nil || perr.Code != proto.CodeSiteRateLimited {
				t.Fatalf("first attempt: %v, want site_rate_limited", perr)
			}
			hits := s.hits.Load()
			limited = false
			now = now.Add(tt.wait - time.Second) // well past the 5 s backoff, just short of Retry-After
			if _, perr := call(t, a, proto.TypeNegotiate, negotiateParams(s)); perr == nil || perr.Code != proto.CodeSiteBackoff {
				t.Fatalf("before Retry-After: %v, want site_backoff", perr)
			}
			if s.hits.Load() != hits {
				t.Fatal("the site was contacted before its Retry-After")
			}
			now = now.Add(2 * time.Second)
			if rel := mustCall[store.Relationship](t, a, proto.TypeNegotiate, negotiateParams(s)); rel.State != store.StateAgreed {
				t.Fatalf("after Retry-After: %+v", rel)
			}
		})
	}
}

// TestAgentActions: the agent actions of PROTOCOL.md 10.6 that end in an
// agreement: after unknown_offer or terms_changed the agent re-fetches the
// terms and proposes once more, and no more.
func TestAgentActions(t *testing.T) {
	t.Parallel()
	for _, code := range []string{policy.CodeUnknownOffer, policy.CodeTermsChanged} {
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			s := newTestSite(t, adsOffer, basicOffer)
			a := newAgent(t)
			adv := s.advertisement()
			var proposals atomic.Int32
			s.override = func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/dnt-d/agree" {
					return false
				}
				if proposals.Add(1) == 1 {
					// The site changed its offers just before the proposal.
					s.setOffers(basicOffer)
					if code == policy.CodeUnknownOffer {
						// A site that reports the change this way (a sloppy
						// one: terms_changed would be right) still agrees.
						writeJSON(w, 400, policy.ErrorDocument{V: 1, Error: code, Message: "no such offer"})
					} else {
						writeJSON(w, 409, policy.ErrorDocument{V: 1, Error: code, Message: "changed", TermsDigest: policy.Digest(s.terms())})
					}
					return true
				}
				return false
			}
			rel := mustCall[store.Relationship](t, a, proto.TypeNegotiate, map[string]string{"site": s.origin, "advertisement": adv})
			if rel.State != store.StateAgreed || rel.TermsDigest != policy.Digest(s.terms()) || proposals.Load() != 2 {
				t.Fatalf("state %s, digest %s, %d proposals", rel.State, rel.TermsDigest, proposals.Load())
			}
		})
	}
}

// TestNegotiateDeadline: a site that never answers a proposal, with no
// per-request limit to save the agent, cannot hold one negotiate beyond its
// overall deadline: the call fails with site_timeout and the request to the
// site is abandoned (the site sees its context cancelled).
func TestNegotiateDeadline(t *testing.T) {
	t.Parallel()
	s := newTestSite(t, adsOffer, basicOffer)
	a := newAgent(t)
	a.Client.Timeout = time.Hour // only the overall deadline can end it
	a.Client.NegotiateTimeout = 300 * time.Millisecond
	abandoned := make(chan struct{}, 1)
	s.override = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost {
			return false
		}
		io.Copy(io.Discard, r.Body) // read it all, so that a closed connection cancels the context
		<-r.Context().Done()
		abandoned <- struct{}{}
		return true
	}
	_, perr := call(t, a, proto.TypeNegotiate, negotiateParams(s))
	if perr == nil || perr.Code != proto.CodeSiteTimeout {
		t.Fatalf("got %v, want site_timeout", perr)
	}
	<-abandoned
	assertNothingStored(t, a, s.origin)
}

// TestMediaTypeAfterAgreement: data returns and end answers must carry the
// DNT-D media type too; an end answered wrongly still ends locally.
func TestMediaTypeAfterAgreement(t *testing.T) {
	t.Parallel()
	s := newTestSite(t, basicOffer)
	a := newAgent(t)
	mustCall[store.Relationship](t, a, proto.TypeNegotiate, negotiateParams(s))
	s.override = func(w http.ResponseWriter, r *http.Request) bool {
		s.handle(retyped{w, "application/json"}, r)
		return true
	}
	if _, perr := call(t, a, proto.TypeDataFetch, map[string]string{"site": s.origin}); perr == nil || perr.Code != proto.CodeSiteProtocolError {
		t.Fatalf("data.fetch: %v, want site_protocol_error", perr)
	}
	rel := mustCall[store.Relationship](t, a, proto.TypeRelationshipEnd, map[string]string{"site": s.origin})
	if rel.State != store.StateEnded || rel.Error == nil || rel.Error.Code != proto.CodeSiteProtocolError {
		t.Fatalf("end: state %s, error %+v", rel.State, rel.Error)
	}
}
