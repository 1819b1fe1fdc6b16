package site_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/dunglas/httpsfv"
	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
)

func TestMiddlewareHeaders(t *testing.T) {
	t.Parallel()
	ts := startSite(t)
	_, raw, digest := ts.Terms()
	if digest != policy.Digest(raw) {
		t.Fatal("digest is not of the exact bytes")
	}
	basicAgreed := policy.AgreedDigest(basicOffer.Terms, basicOffer.Obligations)
	unknown := policy.Digest([]byte("someone else's terms"))
	tests := []struct {
		name      string
		headers   map[string]string
		wantDNTD  bool
		wantTk    string
		wantVary  bool
		wantAgree string
	}{
		{"html by Accept", map[string]string{"Accept": "text/html,*/*"}, true, "N", true, ""},
		{"document by Sec-Fetch-Dest", map[string]string{"Sec-Fetch-Dest": "document"}, true, "N", true, ""},
		{"with DNT-D", map[string]string{"Sec-Fetch-Dest": "document", "Sec-DNT-D": "v=1"}, true, "N", true, ""},
		{"agreed offer", map[string]string{"Sec-Fetch-Dest": "document", "Sec-DNT-D": "v=1, agreed=:" + basicAgreed + ":"}, true, "C", true, basicAgreed},
		{"agreed unknown", map[string]string{"Sec-Fetch-Dest": "document", "Sec-DNT-D": "v=1, agreed=:" + unknown + ":"}, true, "N", true, unknown},
		{"malformed Sec-DNT-D", map[string]string{"Sec-Fetch-Dest": "document", "Sec-DNT-D": "v=1, agreed=" + basicAgreed}, true, "N", true, ""},
		{"image", map[string]string{"Sec-Fetch-Dest": "image", "Accept": "image/*", "Sec-DNT-D": "v=1, agreed=:" + basicAgreed + ":"}, false, "", false, ""},
		{"fetch for JSON", map[string]string{"Accept": "application/json"}, false, "", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", ts.URL+"/", nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			r := do(t, nil, req)
			got := r.Header.Get("DNT-D")
			if tc.wantDNTD {
				d, err := httpsfv.UnmarshalDictionary([]string{got})
				if err != nil {
					t.Fatalf("DNT-D %q: %v", got, err)
				}
				v, _ := d.Get("v")
				terms, _ := d.Get("terms")
				if v.(httpsfv.Item).Value != int64(1) || string(terms.(httpsfv.Item).Value.([]byte)) != string(sha(raw)) {
					t.Errorf("DNT-D %q does not carry v=1 and the terms digest", got)
				}
			} else if got != "" {
				t.Errorf("DNT-D %q on a non-document response", got)
			}
			if tk := r.Header.Get("Tk"); tk != tc.wantTk {
				t.Errorf("Tk %q, want %q", tk, tc.wantTk)
			}
			if vary := strings.Join(r.Header.Values("Vary"), ", "); tc.wantVary != (vary == "DNT, Sec-GPC, Sec-DNT-D") {
				t.Errorf("Vary %q", vary)
			}
		})
	}
}

func sha(b []byte) []byte {
	d, _ := httpsfv.UnmarshalItem([]string{":" + policy.Digest(b) + ":"})
	return d.Value.([]byte)
}

// TestMiddlewareKeepsHandlerHeaders: Vary is appended to, never clobbered.
func TestMiddlewareKeepsHandlerHeaders(t *testing.T) {
	t.Parallel()
	ts := startSite(t)
	tests := []struct {
		name string
		set  []string
		want string
	}{
		{"own Vary kept", []string{"Accept-Encoding"}, "Accept-Encoding|DNT, Sec-GPC, Sec-DNT-D"},
		{"no duplicates", []string{"dnt, Cookie"}, "dnt, Cookie|Sec-GPC, Sec-DNT-D"},
		{"star", []string{"*"}, "*"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := ts.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for _, v := range tc.set {
					w.Header().Add("Vary", v)
				}
				io.WriteString(w, "<!doctype html><p>x")
			}))
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Sec-Fetch-Dest", "document")
			h.ServeHTTP(rec, req)
			if got := strings.Join(rec.Header().Values("Vary"), "|"); got != tc.want {
				t.Errorf("Vary %q, want %q", got, tc.want)
			}
			if rec.Header().Get("Tk") != "N" {
				t.Error("no Tk")
			}
		})
	}
	t.Run("JSON response from a document request gets no DNT-D", func(t *testing.T) {
		h := ts.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, "{}")
		}))
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Sec-Fetch-Dest", "document")
		h.ServeHTTP(rec, req)
		if rec.Header().Get("DNT-D") != "" || rec.Header().Get("Tk") != "" {
			t.Errorf("headers %v", rec.Header())
		}
	})
}

func TestSignalsAndPermissions(t *testing.T) {
	t.Parallel()
	ts := startSite(t)
	type verdict struct{ analytics, ads, service, firstParty, crossSite, processors, thirdParties bool }
	tests := []struct {
		name   string
		dntd   string
		want   verdict
		offer  string
		cookie string // Max-Age of the session cookie, "" for none
	}{
		{"no agreement: most private", "v=1", verdict{service: true}, "", ""},
		{"no header at all", "", verdict{service: true}, "", ""},
		{"basic", agreedHeader(basicOffer), verdict{analytics: true, service: true, firstParty: true, processors: true}, "basic", "Max-Age=2592000"},
		{"ads", agreedHeader(adsOffer), verdict{ads: true, service: true, firstParty: true, processors: true}, "ads", "Max-Age=7776000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got verdict
			var sig site.Signals
			h := ts.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sig = site.SignalsFrom(r.Context())
				got = verdict{
					analytics: site.Permits(r, policy.PurposeAnalytics), ads: site.Permits(r, policy.PurposePersonalisedAds),
					service: site.Permits(r, policy.PurposeService), firstParty: site.MayTrack(r, policy.TrackingFirstParty),
					crossSite: site.MayTrack(r, policy.TrackingCrossSite), processors: site.MayShare(r, policy.SharingProcessors),
					thirdParties: site.MayShare(r, policy.SharingThirdParties),
				}
				io.WriteString(w, "<p>")
			}))
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Sec-Fetch-Dest", "document")
			req.Header.Set("DNT", "1")
			req.Header.Set("Sec-GPC", "1")
			if tc.dntd != "" {
				req.Header.Set("Sec-DNT-D", tc.dntd)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if got != tc.want {
				t.Errorf("permissions %+v, want %+v", got, tc.want)
			}
			if !sig.DNT || !sig.GPC || sig.DNTD != (tc.dntd != "") || sig.Offer != tc.offer {
				t.Errorf("signals %+v", sig)
			}
			cookie := rec.Header().Get("Set-Cookie")
			if (tc.cookie != "") != strings.HasPrefix(cookie, site.DefaultSessionCookie+"=") {
				t.Errorf("Set-Cookie %q (want a session cookie: %v)", cookie, tc.cookie != "")
			}
			if tc.cookie != "" && (!strings.Contains(cookie, tc.cookie) || !strings.Contains(cookie, "HttpOnly")) {
				t.Errorf("cookie %q should have %s (the agreed retention) and be HttpOnly", cookie, tc.cookie)
			}
		})
	}
}

func TestReadSignals(t *testing.T) {
	t.Parallel()
	digest := policy.Digest([]byte("x"))
	tests := []struct {
		dnt, gpc, dntd string
		want           site.Signals
	}{
		{"1", "1", "v=1", site.Signals{DNT: true, GPC: true, DNTD: true}},
		{"0", "", "", site.Signals{}},
		{"", "", "v=2", site.Signals{}},
		{"", "", "v=1, agreed=:" + digest + ":", site.Signals{DNTD: true, Agreed: digest}},
		{"", "", "v=1, agreed=:AAAA:", site.Signals{DNTD: true}},
		{"", "", "v=1, agreed=\"" + digest + "\"", site.Signals{DNTD: true}},
		{"", "", "v=?1", site.Signals{}},
		{"", "", "agreed=:" + digest + ":", site.Signals{}},
		{"", "", "v=1;x, ,", site.Signals{}},
	}
	for _, tc := range tests {
		req := httptest.NewRequest("GET", "/", nil)
		for k, v := range map[string]string{"DNT": tc.dnt, "Sec-GPC": tc.gpc, "Sec-DNT-D": tc.dntd} {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		if got := site.ReadSignals(req); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DNT=%q GPC=%q DNT-D=%q: %+v, want %+v", tc.dnt, tc.gpc, tc.dntd, got, tc.want)
		}
	}
}

func TestTermsDocumentEndpoint(t *testing.T) {
	t.Parallel()
	ts := startSite(t)
	_, raw, digest := ts.Terms()
	r := do(t, nil, mustRequest("GET", ts.URL+policy.WellKnownPath))
	if r.Status != 200 || string(r.Body) != string(raw) {
		t.Fatalf("status %d, body differs from the cached bytes", r.Status)
	}
	if policy.Digest(r.Body) != digest {
		t.Error("served bytes do not hash to the advertised digest")
	}
	if ct := r.Header.Get("Content-Type"); ct != policy.MediaType {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := r.Header.Get("Cache-Control"); cc == "" {
		t.Error("no Cache-Control")
	}
	if r.Header.Get("Set-Cookie") != "" {
		t.Error("the terms document set a cookie")
	}
	doc, err := policy.ParseTermsDocument(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if doc.PublicKey != ts.PublicKey() || len(doc.Offers) != 2 {
		t.Errorf("document %+v", doc)
	}
	// Even a browser-like request for the document gets no cookie or Tk.
	req := mustRequest("GET", ts.URL+policy.WellKnownPath)
	req.Header.Set("Sec-Fetch-Dest", "document")
	req.Header.Set("Sec-DNT-D", agreedHeader(basicOffer))
	if r := do(t, nil, req); r.Header.Get("Set-Cookie") != "" || r.Header.Get("Tk") != "" {
		t.Errorf("terms document headers %v", r.Header)
	}
	req = mustRequest("GET", ts.URL+policy.WellKnownPath)
	req.Header.Set("If-None-Match", r.Header.Get("ETag"))
	if r := do(t, nil, req); r.Status != http.StatusNotModified {
		t.Errorf("conditional GET answered %d", r.Status)
	}
	// The standalone Handler answers wrong methods with an error document.
	rec := httptest.NewRecorder()
	ts.Handler().ServeHTTP(rec, httptest.NewRequest("DELETE", ts.URL+policy.WellKnownPath, nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE answered %d", rec.Code)
	}
	// So do the endpoints Mount registers beside a site's own routes, and a
	// request under another host name gets 421 wrong_host.
	r = do(t, nil, mustRequest("DELETE", ts.URL+policy.WellKnownPath))
	errorOf(t, r, http.StatusMethodNotAllowed, policy.CodeMethodNotAllowed)
	if got := r.Header.Get("Allow"); got != "GET, HEAD" {
		t.Errorf("Allow %q, want GET, HEAD", got)
	}
	req = mustRequest("GET", ts.URL+policy.WellKnownPath)
	req.Host = "localhost"
	errorOf(t, do(t, nil, req), http.StatusMisdirectedRequest, policy.CodeWrongHost)
}
