package sidecar

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dunglas/httpsfv"
	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
)

// Every vocabulary value goes into the agreement header and comes back out
// of an RFC 9651 parser unchanged: the header is never silently dropped.
func TestAgreementValue(t *testing.T) {
	t.Parallel()
	if v := AgreementValue(site.Signals{DNTD: true, Agreed: policy.Digest(nil)}); v != "" {
		t.Errorf("an unrecognised agreement gave %q", v)
	}
	retentions := []policy.Retention{policy.RetentionNone, policy.RetentionSession, policy.RetentionIndefinite, "P30D", "P1Y2M3W4DT5H6M7S", "PT12H"}
	n := max(len(policy.TrackingLadder), len(policy.SharingLadder), len(retentions), len(policy.IdentityLadder), len(policy.ContactLadder), len(policy.LevelLadder))
	for i := range n {
		s := site.Signals{Recognised: true, Offer: fmt.Sprintf("offer-%d", i), Session: "c2Vzc2lvbg",
			Terms: policy.Terms{
				Tracking: policy.TrackingLadder[i%len(policy.TrackingLadder)], Purposes: policy.PurposeLadder[:1+i%len(policy.PurposeLadder)],
				Sharing: policy.SharingLadder[i%len(policy.SharingLadder)], Retention: retentions[i%len(retentions)],
				Identity: policy.IdentityLadder[i%len(policy.IdentityLadder)], Contact: policy.ContactLadder[i%len(policy.ContactLadder)]},
			Obligations: policy.Obligations{Access: policy.LevelLadder[i%3], Deletion: policy.LevelLadder[(i+1)%3], DataReturn: policy.LevelLadder[(i+2)%3]}}
		if i == n-1 {
			s.Offer, s.Session, s.Terms.Purposes = "", "", policy.PurposeLadder // user terms, no tracking session
		}
		v := AgreementValue(s)
		d, err := httpsfv.UnmarshalDictionary([]string{v})
		if err != nil {
			t.Fatalf("%q does not parse: %v", v, err)
		}
		str := func(key string) any {
			m, ok := d.Get(key)
			if !ok {
				return nil
			}
			return m.(httpsfv.Item).Value
		}
		tok := func(x string) httpsfv.Token { return httpsfv.Token(x) }
		for key, want := range map[string]any{
			"tracking": tok(string(s.Terms.Tracking)), "sharing": tok(string(s.Terms.Sharing)), "retention": tok(string(s.Terms.Retention)),
			"identity": tok(string(s.Terms.Identity)), "contact": tok(string(s.Terms.Contact)), "access": tok(string(s.Obligations.Access)),
			"deletion": tok(string(s.Obligations.Deletion)), "data-return": tok(string(s.Obligations.DataReturn)),
		} {
			if got := str(key); got != want {
				t.Errorf("%q: %s is %v, want %v", v, key, got, want)
			}
		}
		if s.Offer == "" {
			if str("offer") != nil || str("session") != nil {
				t.Errorf("%q: offer or session without one", v)
			}
		} else if str("offer") != s.Offer || str("session") != s.Session {
			t.Errorf("%q: offer or session wrong", v)
		}
		m, _ := d.Get("purposes")
		il, ok := m.(httpsfv.InnerList)
		if !ok || len(il.Items) != len(s.Terms.Purposes) {
			t.Fatalf("%q: purposes %v", v, m)
		}
		for j, p := range s.Terms.Purposes {
			if il.Items[j].Value != tok(string(p)) {
				t.Errorf("%q: purpose %d is %v", v, j, il.Items[j].Value)
			}
		}
	}
}

// Behind a trusted proxy the rate limit counts the forwarded address;
// anyone else's header is ignored.
func TestClientAddress(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := filepath.Join(dir, "k")
	if _, err := WriteNewKey(key); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "c.toml")
	os.WriteFile(cfgPath, []byte(`
listen = "127.0.0.1:0"
origin = "https://shop.example"
upstream = "http://127.0.0.1:3000"
keyFile = "`+key+`"
policy = "https://shop.example/privacy"
[controller]
name = "n"
contact = "c"
[[offers]]
id = "a"
[offers.terms]
tracking = "none"
purposes = ["service"]
sharing = "none"
retention = "none"
identity = "anonymous"
contact = "never"
[offers.obligations]
access = "none"
deletion = "none"
dataReturn = "none"
[store]
kind = "memory"
[clientAddress]
header = "X-Forwarded-For"
trustedProxies = ["127.0.0.1", "10.0.0.0/8"]
`), 0o600)
	cfg, err := Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, site.NewMemoryStore(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ peer, header, want string }{
		{"127.0.0.1:5000", "198.51.100.7", "198.51.100.7"},
		{"10.1.2.3:5000", "192.0.2.1, 198.51.100.7", "198.51.100.7"}, // the proxy appended the last
		{"192.0.2.50:5000", "198.51.100.7", "192.0.2.50"},            // not a trusted proxy
		{"127.0.0.1:5000", "", "127.0.0.1"},
		{"127.0.0.1:5000", "not an address", "127.0.0.1"},
		{"[2001:db8::1]:5000", "198.51.100.7", "2001:db8::1"},
	} {
		r := &http.Request{RemoteAddr: tc.peer, Header: http.Header{}}
		if tc.header != "" {
			r.Header.Set("X-Forwarded-For", tc.header)
		}
		if got := s.clientAddress(r); got != tc.want {
			t.Errorf("peer %s, header %q: %s, want %s", tc.peer, tc.header, got, tc.want)
		}
	}
}

// The example configuration (site/README.md walks through it) is valid.
func TestExampleConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join("example", "vendor.toml"))
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "vendor.toml")
	os.WriteFile(cfgPath, b, 0o600)
	if _, err := WriteNewKey(filepath.Join(dir, "vendor.key")); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.KeyFile != filepath.Join(dir, "vendor.key") || cfg.Store.Path != filepath.Join(dir, "vendor.db") {
		t.Errorf("paths not resolved next to the file: %q %q", cfg.KeyFile, cfg.Store.Path)
	}
	if err := Check(cfg); err != nil {
		t.Fatal(err)
	}
}

// FuzzConfig: any file is either a configuration or one error line that
// names the file or a key, never a panic.
func FuzzConfig(f *testing.F) {
	example, err := os.ReadFile(filepath.Join("example", "vendor.toml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte("listen = \"127.0.0.1:1\"\n[store]\nkind = \"bolt\"\n"))
	f.Add([]byte("[[offers]]\nid = 1\n"))
	f.Add([]byte("[hooks]\ntimeout = \"-1s\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decode(b, "f.toml")
		if err != nil {
			if c != nil || err.Error() == "" || strings.ContainsRune(err.Error(), '\n') {
				t.Fatalf("error %q (a stderr line) with config %v", err, c)
			}
			return
		}
		if c.Listen == "" || c.Origin == "" || c.Upstream == "" || c.KeyFile == "" || c.Store.Kind == "" {
			t.Fatalf("accepted without a required key: %+v", c)
		}
	})
}
