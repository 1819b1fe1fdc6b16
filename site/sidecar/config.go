// Package sidecar is rbutton-vendor: a reverse proxy that speaks DNT-D
// (PROTOCOL.md) in front of a site written in anything. It serves the terms
// document and the protocol endpoints itself with the site package, adds
// the DNT-D, Tk and Vary headers to the upstream's pages, and tells the
// upstream on every request what the visitor agreed to in one request
// header (AgreementHeader), an RFC 9651 Dictionary any language can read.
// HTTP hooks let the application hand back the data it holds about a
// relationship, hear when one ends, and take the details a user gives it.
//
// It is configured by one TOML file (Load); site/README.md documents every
// key with a complete example.
package sidecar

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
)

// DefaultAgreementHeader is the request header that tells the upstream what
// the visitor agreed to.
const DefaultAgreementHeader = "DNT-D-Agreement"

// Config is the configuration file, decoded. Keys are those of the TOML
// file; where a value is part of the terms document (controller, policy,
// endpoints, offers) it has the terms document's name and form.
type Config struct {
	// Listen is the address to serve on, like "127.0.0.1:8080".
	Listen string `toml:"listen"`
	// Origin is the site's public origin, as visitors' browsers see it.
	Origin string `toml:"origin"`
	// Upstream is the base URL of the application, like "http://127.0.0.1:3000".
	Upstream string `toml:"upstream"`
	// KeyFile holds the vendor's Ed25519 private key (a relative path is
	// from the configuration file's directory, as is store.path), PEM "PRIVATE KEY"
	// (PKCS #8), as `rbutton-vendor -genkey` or `openssl genpkey -algorithm
	// ed25519` writes it.
	KeyFile string `toml:"keyFile"`

	Controller policy.Controller `toml:"controller"`
	Policy     string            `toml:"policy"`
	// LastUpdate is the terms document's lastUpdate, a TOML date-time;
	// unset means the configuration file's modification time. Every
	// process serving the site must publish the same document, so set it
	// where several run.
	LastUpdate time.Time        `toml:"lastUpdate"`
	Endpoints  policy.Endpoints `toml:"endpoints"`
	Offers     []policy.Offer   `toml:"offers"`

	Store StoreConfig `toml:"store"`
	Hooks HooksConfig `toml:"hooks"`

	// AgreementHeader names the header sent to the upstream;
	// "" means DefaultAgreementHeader.
	AgreementHeader string `toml:"agreementHeader"`
	// SessionCookie is site.Config.SessionCookie.
	SessionCookie string `toml:"sessionCookie"`
	// ClientAddress says where a request's client address comes from.
	ClientAddress ClientAddressConfig `toml:"clientAddress"`
	// RateLimit is site.Config.RateLimit.
	RateLimit RateLimitConfig `toml:"rateLimit"`
}

// StoreConfig picks where the vendor keeps its side of its relationships.
type StoreConfig struct {
	// Kind is "memory" (lost on exit: for trials), "bolt" (Path: one file)
	// or "postgres" (DSN: shared by many rbutton-vendor processes).
	Kind string `toml:"kind"`
	Path string `toml:"path"`
	DSN  string `toml:"dsn"`
}

// HooksConfig names the application's hook URLs (site/README.md
// documents what is sent and what is expected back).
type HooksConfig struct {
	// Items is POSTed to during every data return; it answers the items the
	// application holds about the relationship. "" means none.
	Items string `toml:"items"`
	// Ended is POSTed to after a relationship ends. "" means none.
	Ended string `toml:"ended"`
	// Details is POSTed to when a user gives or updates their details
	// (PROTOCOL.md 13.3): the application's system (its CRM) takes them.
	// Setting it advertises the details endpoint. "" means none.
	Details string `toml:"details"`
	// Timeout bounds each hook call; "" means 5s.
	Timeout Duration `toml:"timeout"`
}

// ClientAddressConfig: behind a reverse proxy (nginx), every request comes
// from the proxy, so the rate limit must count the address it forwards.
type ClientAddressConfig struct {
	// Header names the request header carrying the client address, like
	// "X-Real-IP"; "" means the connection's peer address.
	Header string `toml:"header"`
	// TrustedProxies are the peers (addresses or CIDR prefixes) whose
	// Header is believed; from anyone else it is ignored.
	TrustedProxies []string `toml:"trustedProxies"`
}

// RateLimitConfig is site.RateLimit in the file.
type RateLimitConfig struct {
	Every Duration `toml:"every"` // "" means site.DefaultRateLimit's; "off" turns it off
	Burst int      `toml:"burst"`
}

// Duration is a time.Duration written as Go writes one ("5s", "1m30s").
type Duration struct {
	time.Duration
	Off bool // "off"
}

func (d *Duration) UnmarshalText(b []byte) error {
	if string(b) == "off" {
		d.Off = true
		return nil
	}
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration like \"5s\"", b)
	}
	if v <= 0 {
		return fmt.Errorf("%q is not positive", b)
	}
	d.Duration = v
	return nil
}

// FieldError is a configuration error, naming the key at fault.
type FieldError struct {
	Field string // TOML key path, like "offers[1].terms.retention"
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{field, fmt.Errorf(format, args...)}
}

// decodeErr is how the toml package reports a value that does not fit its key.
var decodeErr = regexp.MustCompile(`(?s)^toml: line (\d+) \(last key "([^"]+)"\): (.*)$`)

// Load reads and checks the configuration file at path. A syntax error
// names the line, an unknown key its path, a bad value its key.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := decode(b, path)
	if err != nil {
		return nil, err
	}
	if c.LastUpdate.IsZero() {
		if fi, err := os.Stat(path); err == nil {
			c.LastUpdate = fi.ModTime()
		}
	}
	// Files named in the configuration are found next to it.
	for _, p := range []*string{&c.KeyFile, &c.Store.Path} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(filepath.Dir(path), *p)
		}
	}
	return c, nil
}

// decode parses and checks the file's bytes; path is for messages.
func decode(b []byte, path string) (*Config, error) {
	var c Config
	md, err := toml.Decode(string(b), &c)
	if err != nil {
		// Messages quote bits of the file: keep them to one line of stderr.
		var pe toml.ParseError
		if errors.As(err, &pe) {
			if pe.LastKey != "" && !strings.HasPrefix(pe.Message, "expected") {
				return nil, fmt.Errorf("%s:%d: %w", path, pe.Position.Line, fieldErr(oneLine(pe.LastKey), "%s", oneLine(pe.Message)))
			}
			return nil, fmt.Errorf("%s:%d: %s", path, pe.Position.Line, oneLine(pe.Message))
		}
		if m := decodeErr.FindStringSubmatch(err.Error()); m != nil {
			return nil, fmt.Errorf("%s:%s: %w", path, m[1], fieldErr(oneLine(m[2]), "%s", oneLine(m[3])))
		}
		return nil, fmt.Errorf("%s: %s", path, oneLine(err.Error()))
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fieldErr(oneLine(und[0].String()), "unknown key")
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return &c, nil
}

// oneLine escapes the line breaks a message may quote from the file.
func oneLine(s string) string {
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}

// check validates what the site package does not: the proxy's own keys.
// The terms themselves are validated by site.New, as an agent will.
func (c *Config) check() error {
	if c.Listen == "" {
		return fieldErr("listen", "is required, like \"127.0.0.1:8080\"")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fieldErr("listen", "%q is not host:port", c.Listen)
	}
	if c.Origin == "" {
		return fieldErr("origin", "is required: the site's public origin, like \"https://shop.example\"")
	}
	if c.Upstream == "" {
		return fieldErr("upstream", "is required: the application's URL, like \"http://127.0.0.1:3000\"")
	}
	u, err := url.Parse(c.Upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fieldErr("upstream", "%q is not an http(s) URL without query", c.Upstream)
	}
	if c.KeyFile == "" {
		return fieldErr("keyFile", "is required (rbutton-vendor -genkey FILE writes one)")
	}
	switch c.Store.Kind {
	case "memory":
	case "bolt":
		if c.Store.Path == "" {
			return fieldErr("store.path", "is required for kind \"bolt\"")
		}
	case "postgres":
		if c.Store.DSN == "" {
			return fieldErr("store.dsn", "is required for kind \"postgres\"")
		}
	case "":
		return fieldErr("store.kind", "is required: \"memory\", \"bolt\" or \"postgres\"")
	default:
		return fieldErr("store.kind", "%q is not \"memory\", \"bolt\" or \"postgres\"", c.Store.Kind)
	}
	for _, h := range []struct{ key, url string }{{"hooks.items", c.Hooks.Items}, {"hooks.ended", c.Hooks.Ended}, {"hooks.details", c.Hooks.Details}} {
		if h.url == "" {
			continue
		}
		if u, err := url.Parse(h.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fieldErr(h.key, "%q is not an http(s) URL", h.url)
		}
	}
	if c.Hooks.Timeout.Off {
		return fieldErr("hooks.timeout", "cannot be off")
	}
	if c.AgreementHeader != "" && !validHeaderName(c.AgreementHeader) {
		return fieldErr("agreementHeader", "%q is not a header name", c.AgreementHeader)
	}
	if c.ClientAddress.Header != "" && !validHeaderName(c.ClientAddress.Header) {
		return fieldErr("clientAddress.header", "%q is not a header name", c.ClientAddress.Header)
	}
	if c.ClientAddress.Header != "" && len(c.ClientAddress.TrustedProxies) == 0 {
		return fieldErr("clientAddress.trustedProxies", "is required with clientAddress.header: anyone could set the header otherwise")
	}
	for i, p := range c.ClientAddress.TrustedProxies {
		if _, err := parsePrefix(p); err != nil {
			return fieldErr(fmt.Sprintf("clientAddress.trustedProxies[%d]", i), "%q is not an address or CIDR prefix", p)
		}
	}
	if c.RateLimit.Burst < 0 {
		return fieldErr("rateLimit.burst", "must not be negative")
	}
	return nil
}

func validHeaderName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return s != ""
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return a.Prefix(a.BitLen())
}

// LoadKey reads an Ed25519 private key from a PEM "PRIVATE KEY" (PKCS #8) file.
func LoadKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s holds no PEM \"PRIVATE KEY\" block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s is not a PKCS #8 private key: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s holds a %T, not an Ed25519 key", path, k)
	}
	return priv, nil
}

// WriteNewKey creates path (mode 0600; never over an existing file) with a
// new Ed25519 private key and returns its public half as the terms document
// shows it.
func WriteNewKey(path string) (string, error) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return policy.EncodeKey(pub), nil
}

// siteConfig is the site.Config the file describes, without store and hooks.
func (c *Config) siteConfig(key ed25519.PrivateKey) site.Config {
	rl := site.RateLimit{Every: c.RateLimit.Every.Duration, Burst: c.RateLimit.Burst}
	if c.RateLimit.Every.Off {
		rl.Every = -1
	}
	return site.Config{
		Origin: c.Origin, Controller: c.Controller, PolicyURL: c.Policy, Offers: c.Offers, LastUpdate: c.LastUpdate,
		Endpoints: c.Endpoints, PrivateKey: key, SessionCookie: c.SessionCookie, RateLimit: rl,
	}
}

// siteField maps a site.ConfigError's field to the file's key: Go field
// names to TOML keys; terms-document paths are the file's own.
func siteField(field string) string {
	switch field {
	case "Origin":
		return "origin"
	case "PrivateKey":
		return "keyFile"
	case "Offers", "terms document":
		return "offers"
	case "policy":
		return "policy"
	}
	if rest, ok := strings.CutPrefix(field, "Endpoints."); ok {
		return "endpoints." + strings.ToLower(rest[:1]) + rest[1:]
	}
	return field
}
