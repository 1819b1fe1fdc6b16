package sidecar

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dunglas/httpsfv"
	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
)

// maxHookAnswer bounds what the items hook may answer: a data return holds
// at most 1000 items of at most 64 members of 1000 bytes.
const maxHookAnswer = 8 << 20

// Sidecar is a configured rbutton-vendor: a site.Vendor and the reverse
// proxy in front of the application.
type Sidecar struct {
	Vendor   *site.Vendor
	cfg      *Config
	header   string
	upstream *url.URL
	trusted  []netip.Prefix
	protocol map[string]bool // paths the sidecar answers itself
	hidden   map[string]bool // the hooks' paths, never proxied
	proxy    *httputil.ReverseProxy
	hooks    *http.Client
	log      func(string)
}

// Check validates cfg and its key file exactly as New will, without a
// store: the terms document is built and parsed as an agent parses it. The
// error names the configuration key at fault (a *FieldError).
func Check(cfg *Config) error {
	_, err := build(cfg, site.NewMemoryStore(), nil)
	return err
}

// New builds the sidecar over store (opened with OpenStore). log, if set,
// receives one line per protocol exchange and hook call.
func New(cfg *Config, store site.Store, log func(string)) (*Sidecar, error) {
	return build(cfg, store, log)
}

func build(cfg *Config, store site.Store, log func(string)) (*Sidecar, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	key, err := LoadKey(cfg.KeyFile)
	if err != nil {
		return nil, &FieldError{"keyFile", err}
	}
	s := &Sidecar{cfg: cfg, header: cfg.AgreementHeader, log: log, protocol: map[string]bool{}, hidden: map[string]bool{}}
	for _, h := range []string{cfg.Hooks.Items, cfg.Hooks.Ended, cfg.Hooks.Details} {
		if u, err := url.Parse(h); err == nil && h != "" {
			s.hidden[hiddenKey(u.Path)] = true
		}
	}
	if s.header == "" {
		s.header = DefaultAgreementHeader
	}
	s.upstream, _ = url.Parse(cfg.Upstream) // checked
	for _, p := range cfg.ClientAddress.TrustedProxies {
		pfx, _ := parsePrefix(p) // checked
		s.trusted = append(s.trusted, pfx)
	}
	timeout := cfg.Hooks.Timeout.Duration
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	s.hooks = &http.Client{Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	sc := cfg.siteConfig(key)
	sc.Store = store
	sc.Log = log
	sc.RateLimit.ClientAddress = s.clientAddress
	if cfg.Hooks.Items != "" {
		sc.Items = s.itemsHook
	}
	if cfg.Hooks.Ended != "" {
		sc.Ended = s.endedHook
	}
	if cfg.Hooks.Details != "" {
		sc.Details = s.detailsHook
	}
	v, err := site.New(sc)
	if err != nil {
		var ce *site.ConfigError
		if errors.As(err, &ce) {
			return nil, &FieldError{siteField(ce.Field), ce.Err}
		}
		return nil, err
	}
	s.Vendor = v
	doc, _, _ := v.Terms()
	for _, p := range []string{policy.WellKnownPath, doc.Endpoints.Agreement, doc.Endpoints.DataReturn, doc.Endpoints.End, doc.Endpoints.Details} {
		if p != "" {
			s.protocol[p] = true
		}
	}
	s.proxy = &httputil.ReverseProxy{Rewrite: s.rewrite, ErrorHandler: s.upstreamFailed}
	return s, nil
}

// Handler serves the protocol endpoints itself and proxies everything else
// through the vendor's middleware (signals, DNT-D, Tk, Vary, the session
// cookie) to the upstream, except the hooks' paths (404). The agreement
// header is removed from every request first: only the sidecar sets it.
func (s *Sidecar) Handler() http.Handler {
	protocol := s.Vendor.Handler()
	pages := s.Vendor.Middleware(s.proxy)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del(s.header)
		if s.protocol[r.URL.Path] {
			protocol.ServeHTTP(w, r)
			return
		}
		// The hooks answer what the application holds about anyone: a
		// visitor must not reach them through the proxy.
		if s.hidden[hiddenKey(r.URL.Path)] {
			http.NotFound(w, r)
			return
		}
		pages.ServeHTTP(w, r)
	})
}

// hiddenKey is the form hook paths are compared in: decoded, cleaned, no
// trailing slash, lower case, so no spelling of a hook path gets through.
func hiddenKey(p string) string {
	return strings.ToLower(strings.TrimSuffix(path.Clean("/"+p), "/"))
}

func (s *Sidecar) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(s.upstream)
	pr.Out.Host = pr.In.Host // the application sees the public host, as behind nginx
	trusted := s.fromTrustedProxy(pr.In)
	if trusted {
		pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
	}
	pr.SetXForwarded()
	if trusted {
		for _, h := range []string{"X-Forwarded-Proto", "X-Forwarded-Host"} {
			if v := pr.In.Header.Get(h); v != "" {
				pr.Out.Header.Set(h, v)
			}
		}
	}
	pr.Out.Header.Del(s.header)
	if v := AgreementValue(site.SignalsFrom(pr.In.Context())); v != "" {
		pr.Out.Header.Set(s.header, v)
	}
}

func (s *Sidecar) upstreamFailed(w http.ResponseWriter, r *http.Request, err error) {
	s.logf("upstream %s: %v", s.cfg.Upstream, err)
	http.Error(w, "rbutton-vendor: the application did not answer", http.StatusBadGateway)
}

func peerAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

func (s *Sidecar) fromTrustedProxy(r *http.Request) bool {
	a, err := netip.ParseAddr(peerAddr(r))
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddress is the rate limit's client: the configured header's
// address when a trusted proxy sent it, else the peer.
func (s *Sidecar) clientAddress(r *http.Request) string {
	if h := s.cfg.ClientAddress.Header; h != "" && s.fromTrustedProxy(r) {
		v := r.Header.Get(h)
		if i := strings.LastIndexByte(v, ','); i >= 0 { // X-Forwarded-For: the proxy appended the last
			v = v[i+1:]
		}
		if a, err := netip.ParseAddr(strings.TrimSpace(v)); err == nil {
			return a.String()
		}
	}
	return peerAddr(r)
}

// AgreementValue is the agreement header's value for a request's signals:
// an RFC 9651 Dictionary of what the visitor agreed to, or "" when the
// request carries no agreement the vendor recognises. For example:
//
//	offer="basic", purposes=(service analytics), tracking=first-party,
//	sharing=processors, retention=P30D, identity=pseudonymous,
//	contact=transactional, access=on-request, deletion=on-request,
//	data-return=on-request, session="…"
//
// offer is absent for user terms the vendor accepted; session (the
// vendor's first-party session id, to file what the application records
// about the visitor under) only when the agreement permits tracking.
func AgreementValue(sig site.Signals) string {
	if !sig.Recognised {
		return ""
	}
	d := httpsfv.NewDictionary()
	if sig.Offer != "" {
		d.Add("offer", httpsfv.NewItem(sig.Offer))
	}
	purposes := httpsfv.InnerList{Params: httpsfv.NewParams()}
	for _, p := range sig.Terms.Purposes {
		purposes.Items = append(purposes.Items, httpsfv.NewItem(httpsfv.Token(p)))
	}
	d.Add("purposes", purposes)
	for _, m := range []struct{ key, value string }{
		{"tracking", string(sig.Terms.Tracking)}, {"sharing", string(sig.Terms.Sharing)},
		{"retention", string(sig.Terms.Retention)}, {"identity", string(sig.Terms.Identity)},
		{"contact", string(sig.Terms.Contact)}, {"access", string(sig.Obligations.Access)},
		{"deletion", string(sig.Obligations.Deletion)}, {"data-return", string(sig.Obligations.DataReturn)},
	} {
		d.Add(m.key, httpsfv.NewItem(httpsfv.Token(m.value)))
	}
	if sig.Session != "" {
		d.Add("session", httpsfv.NewItem(sig.Session))
	}
	v, err := httpsfv.Marshal(d)
	if err != nil {
		// Only vocabulary values go in, all valid tokens; TestAgreementValue
		// covers every one.
		return ""
	}
	return v
}

// HookRelationship is the JSON both hooks are sent.
type HookRelationship struct {
	V int `json:"v"`
	// Record is the agreement record's id; Relationship the user's pairwise
	// key, the same across renegotiations.
	Record       string `json:"record"`
	Relationship string `json:"relationship"`
	// Offer is the agreed offer ("" for user terms), Terms and Obligations
	// what was agreed.
	Offer       string             `json:"offer"`
	Terms       policy.Terms       `json:"terms"`
	Obligations policy.Obligations `json:"obligations"`
	// Sessions are the session ids (the agreement header's session) linked
	// to the relationship: what the application filed under them is the
	// relationship's.
	Sessions []string `json:"sessions"`
	// EndedBy ("user" or "site") and Ended are set for the ended hook.
	EndedBy string    `json:"endedBy,omitempty"`
	Ended   time.Time `json:"ended,omitzero"`
}

func hookRelationship(rel site.Relationship) HookRelationship {
	a := rel.Record.Record.Agreement
	sessions := rel.Sessions
	if sessions == nil {
		sessions = []string{}
	}
	return HookRelationship{V: 1, Record: rel.Record.Record.ID, Relationship: a.UserKey, Offer: a.Offer,
		Terms: a.Terms, Obligations: a.Obligations, Sessions: sessions}
}

// ItemsAnswer is what the items hook answers.
type ItemsAnswer struct {
	Items []policy.DataItem `json:"items"`
}

func (s *Sidecar) postHook(url string, body any) (*http.Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(context.Background(), "POST", url, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return s.hooks.Do(req)
}

func (s *Sidecar) itemsHook(rel site.Relationship) ([]policy.DataItem, error) {
	resp, err := s.postHook(s.cfg.Hooks.Items, hookRelationship(rel))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", s.cfg.Hooks.Items, resp.Status)
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxHookAnswer))
	dec.DisallowUnknownFields()
	var a ItemsAnswer
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("%s answered no {\"items\": […]}: %v", s.cfg.Hooks.Items, err)
	}
	for i := range a.Items {
		a.Items[i].Time = a.Items[i].Time.UTC().Truncate(time.Second)
	}
	// The items go into a data return: check them as the agent will.
	doc, _, _ := s.Vendor.Terms()
	check := policy.DataReturn{V: policy.Version, Record: rel.Record.Record.ID, Controller: doc.Controller,
		Generated: time.Now().UTC().Truncate(time.Second), Items: a.Items}
	if err := check.Validate(); err != nil {
		return nil, fmt.Errorf("%s answered items the protocol does not allow: %v", s.cfg.Hooks.Items, err)
	}
	s.logf("items hook: %d items for record %s", len(a.Items), shortID(rel.Record.Record.ID))
	return a.Items, nil
}

func (s *Sidecar) endedHook(rel site.Relationship, by string) {
	n := hookRelationship(rel)
	n.EndedBy, n.Ended = by, rel.Record.Ended
	resp, err := s.postHook(s.cfg.Hooks.Ended, n)
	if err != nil {
		s.logf("ended hook: %v", err)
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		s.logf("ended hook: %s answered %s", s.cfg.Hooks.Ended, resp.Status)
		return
	}
	s.logf("ended hook: told of record %s (ended by the %s)", shortID(rel.Record.Record.ID), by)
}

// HookDetails is what the details hook is sent: details a user gave the
// site or updated.
type HookDetails struct {
	V int `json:"v"`
	// Record is the agreement the details were sent under; Relationship
	// the user's pairwise key, the same across renegotiations.
	Record       string `json:"record"`
	Relationship string `json:"relationship"`
	// Details holds the complete current value of each detail sent;
	// members absent were not sent, not cleared.
	Details policy.Details `json:"details"`
	// Sessions are the session ids linked to the relationship.
	Sessions []string  `json:"sessions"`
	Received time.Time `json:"received"`
}

// maxHookRefusal bounds how much of the application's refusal is passed on.
const maxHookRefusal = 500

// detailsHook hands a details update to the application. Any 2xx takes
// it; a 4xx refuses it, with the first line of the answer's body as the
// reason the user's agent records; an application that cannot be reached,
// times out or answers anything else cannot take it now (site.ErrTryLater):
// the agent is answered 503 unavailable and tries again later.
func (s *Sidecar) detailsHook(u site.DetailsUpdate) error {
	sessions := u.Sessions
	if sessions == nil {
		sessions = []string{}
	}
	resp, err := s.postHook(s.cfg.Hooks.Details, HookDetails{V: 1, Record: u.Record, Relationship: u.Relationship,
		Details: u.Details, Sessions: sessions, Received: u.Received})
	if err != nil {
		s.logf("details hook: %v", err)
		return fmt.Errorf("%w: %s could not be reached", site.ErrTryLater, s.cfg.Hooks.Details)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxHookRefusal))
	if resp.StatusCode/100 != 2 {
		s.logf("details hook: %s answered %s", s.cfg.Hooks.Details, resp.Status)
		if resp.StatusCode/100 != 4 {
			return fmt.Errorf("%w: %s answered %s", site.ErrTryLater, s.cfg.Hooks.Details, resp.Status)
		}
		reason, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
		if reason == "" || !utf8.ValidString(reason) {
			reason = "its system answered " + resp.Status
		}
		return errors.New(reason)
	}
	s.logf("details hook: took %s for record %s", strings.Join(u.Details.Fields(), ", "), shortID(u.Record))
	return nil
}

func (s *Sidecar) logf(format string, args ...any) {
	if s.log != nil {
		s.log(fmt.Sprintf(format, args...))
	}
}

func shortID(s string) string {
	if len(s) > 10 {
		return s[:10] + "…"
	}
	return s
}

// PublicKey returns the public half of key as the terms document shows it.
func PublicKey(key ed25519.PrivateKey) string {
	return policy.EncodeKey(key.Public().(ed25519.PublicKey))
}
