package negotiate

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/policy"
)

func code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestInsecureOriginsRefused(t *testing.T) {
	t.Parallel()
	c := &Client{Timeout: time.Second}
	for _, origin := range []string{"http://example.com", "http://10.0.0.1", "ftp://example.com", "http://127.0.0.1.example.com"} {
		_, _, err := c.FetchTerms(context.Background(), origin, "")
		if code(err) != proto.CodeSiteInsecure {
			t.Errorf("%s: %v, want site_insecure", origin, err)
		}
	}
}

func TestAllowedAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ip       string
		loopback bool
		want     bool
	}{
		{"93.184.216.34", false, true},
		{"2606:2800:220:1::1", false, true},
		{"127.0.0.1", false, false},
		{"::1", false, false},
		{"::ffff:127.0.0.1", false, false},
		{"10.0.0.1", false, false},
		{"172.16.5.4", false, false},
		{"192.168.0.1", false, false},
		{"169.254.169.254", false, false},
		{"100.64.1.1", false, false},
		{"0.0.0.0", false, false},
		{"fe80::1", false, false},
		{"fc00::1", false, false},
		{"224.0.0.1", false, false},
		{"127.0.0.1", true, true},
		{"127.9.9.9", true, true},
		{"::1", true, true},
		{"10.0.0.1", true, false},
		{"93.184.216.34", true, false},
	}
	for _, tt := range tests {
		if got := allowedAddr(netip.MustParseAddr(tt.ip), tt.loopback); got != tt.want {
			t.Errorf("allowedAddr(%s, loopback origin %v) = %v", tt.ip, tt.loopback, got)
		}
	}
}

func TestEndpointURL(t *testing.T) {
	t.Parallel()
	origin, _ := url.Parse("https://shop.example")
	for path, want := range map[string]string{
		"/dnt-d/agree":           "https://shop.example/dnt-d/agree",
		"/a?b=c":                 "https://shop.example/a?b=c",
		"//evil.example/x":       "",
		"https://evil.example/x": "",
		"evil":                   "",
		"/\\evil.example":        "",
		"/x#frag":                "",
		"@evil.example/x":        "",
	} {
		got, err := endpointURL(origin, path)
		if want == "" {
			if code(err) != proto.CodeSiteCrossOriginEndpoint {
				t.Errorf("%q: %q %v, want site_cross_origin_endpoint", path, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", path, got, err, want)
		}
	}
}

// TestHTTPS: an https loopback origin with a certificate the client trusts
// works; without the trust, the certificate error is site_insecure.
func TestHTTPS(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"v":1}`)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", policy.MediaType)
		w.Write(doc)
	}))
	defer srv.Close()
	origin := srv.URL // https://127.0.0.1:port
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	c := &Client{Timeout: 2 * time.Second, RootCAs: pool}
	resp, err := c.do(context.Background(), origin, http.MethodGet, origin+policy.WellKnownPath, nil)
	if err != nil || string(resp.body) != string(doc) {
		t.Fatalf("trusted: %v", err)
	}
	_, err = (&Client{Timeout: 2 * time.Second}).do(context.Background(), origin, http.MethodGet, origin+policy.WellKnownPath, nil)
	if code(err) != proto.CodeSiteInsecure {
		t.Fatalf("untrusted certificate: %v, want site_insecure", err)
	}
}

func TestUnreachableAndTimeout(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	slow := srv.URL
	c := &Client{Timeout: 200 * time.Millisecond}
	if _, _, err := c.FetchTerms(context.Background(), slow, ""); code(err) != proto.CodeSiteTimeout {
		t.Errorf("slow headers: %v, want site_timeout", err)
	}
	srv.Close()
	if _, _, err := c.FetchTerms(context.Background(), slow, ""); code(err) != proto.CodeSiteUnreachable {
		t.Errorf("closed: %v, want site_unreachable", err)
	}
	if !strings.HasPrefix(slow, "http://127.0.0.1:") {
		t.Fatalf("unexpected test server URL %s", slow)
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "0", "-5", "99999999999", "Fri, 01 May 2026 12:20:00 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "soon", " 7 ", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		h := http.Header{}
		h.Set("Retry-After", v)
		d := retryAfter(h, now)
		if d < 0 || d > MaxRetryAfter {
			t.Fatalf("Retry-After %q gave %v, outside [0, %v]", v, d, MaxRetryAfter)
		}
	})
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"120": 2 * time.Minute, " 7 ": 7 * time.Second, "0": 0, "-5": 0, "soon": 0, "": 0,
		"99999999":                      MaxRetryAfter,
		"Fri, 01 May 2026 12:20:00 GMT": 20 * time.Minute,
		"Fri, 01 May 2026 11:00:00 GMT": 0, // in the past
	} {
		h := http.Header{}
		if v != "" {
			h.Set("Retry-After", v)
		}
		if got := retryAfter(h, now); got != want {
			t.Errorf("Retry-After %q: %v, want %v", v, got, want)
		}
	}
}
