package site

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"

	"github.com/dunglas/httpsfv"
	"github.com/rbutton/rbutton/policy"
)

// Signals are the privacy signals a request carried, and what the vendor
// made of them.
type Signals struct {
	DNT bool // DNT: 1
	GPC bool // Sec-GPC: 1
	// DNTD is true when Sec-DNT-D parsed as an RFC 9651 Dictionary with v=1:
	// the visitor does not want to be tracked but is open to dialog.
	DNTD bool
	// Agreed is the agreed digest the request carried ("" if none).
	Agreed string
	// Recognised is true when the vendor knows Agreed: one of its current
	// offers (Offer is its id) or user terms it accepted (Offer is "").
	Recognised  bool
	Offer       string
	Terms       policy.Terms
	Obligations policy.Obligations
	// Session is the vendor's first-party session id, only when the agreement
	// permits tracking (see Vendor.Middleware).
	Session string
}

type signalsKey struct{}

// SignalsFrom returns the signals Middleware stored in ctx (zero if none).
func SignalsFrom(ctx context.Context) Signals {
	s, _ := ctx.Value(signalsKey{}).(Signals)
	return s
}

// ReadSignals parses a request's DNT, Sec-GPC and Sec-DNT-D headers. A site
// without DNT-D terms can use it to see what visitors ask for.
func ReadSignals(r *http.Request) Signals {
	var s Signals
	s.DNT = strings.TrimSpace(r.Header.Get("DNT")) == "1"
	s.GPC = strings.TrimSpace(r.Header.Get("Sec-GPC")) == "1"
	s.DNTD, s.Agreed = parseRequestHeader(r.Header.Values(policy.RequestHeader))
	return s
}

// parseRequestHeader parses Sec-DNT-D: v=1 and the optional agreed digest.
// Anything else (bad syntax, other versions, wrong types) counts as absent.
func parseRequestHeader(values []string) (ok bool, agreed string) {
	if len(values) == 0 {
		return false, ""
	}
	dict, err := httpsfv.UnmarshalDictionary(values)
	if err != nil {
		return false, ""
	}
	m, found := dict.Get("v")
	if !found {
		return false, ""
	}
	if it, isItem := m.(httpsfv.Item); !isItem || it.Value != int64(1) {
		return false, ""
	}
	if m, found := dict.Get("agreed"); found {
		if it, isItem := m.(httpsfv.Item); isItem {
			if b, isBytes := it.Value.([]byte); isBytes && len(b) == 32 {
				agreed = base64.StdEncoding.EncodeToString(b)
			}
		}
	}
	return true, agreed
}

// ResponseHeaderValue returns the DNT-D response header for a terms digest:
// `v=1, terms=:<digest>:`.
func ResponseHeaderValue(digest string) string {
	raw, err := base64.StdEncoding.DecodeString(digest)
	if err != nil {
		return "v=1"
	}
	d := httpsfv.NewDictionary()
	d.Add("v", httpsfv.NewItem(int64(1)))
	d.Add("terms", httpsfv.NewItem(raw))
	s, err := httpsfv.Marshal(d)
	if err != nil {
		return "v=1"
	}
	return s
}

// varyHeaders are the request headers DNT-D responses depend on.
var varyHeaders = []string{"DNT", "Sec-GPC", "Sec-DNT-D"}

// isTopLevelDocument: a GET (or HEAD) for a page the browser will show.
func isTopLevelDocument(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if dest := r.Header.Get("Sec-Fetch-Dest"); dest != "" {
		return dest == "document"
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// Middleware reads every request's signals into its context (SignalsFrom)
// and, on top-level HTML documents, answers with the DNT-D, Tk and Vary
// headers. Tk is "C" when the request carried an agreed digest the vendor
// recognises, else "N".
//
// When the recognised agreement permits tracking, the middleware gives the
// visitor a first-party session cookie (Config.SessionCookie): a browser
// session cookie if it permits session tracking, a persistent one (for at
// most the agreed retention) if first-party or more. Visitors without such
// an agreement get no cookie from it. The DNT-D endpoints pass through
// untouched.
func (v *Vendor) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v.isProtocolPath(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		s := ReadSignals(r)
		if offer, t := v.recognise(s.Agreed); t != nil {
			s.Recognised, s.Offer, s.Terms, s.Obligations = true, offer, t.Terms, t.Obligations
		}
		var newCookie *http.Cookie
		if s.Recognised && v.sessionCookie != "-" && trackRank(s.Terms.Tracking) >= trackRank(policy.TrackingSession) {
			if c, err := r.Cookie(v.sessionCookie); err == nil && v.issuedSession(c.Value) {
				s.Session = c.Value
			} else if isTopLevelDocument(r) {
				s.Session = v.newSessionID()
				newCookie = &http.Cookie{Name: v.sessionCookie, Value: s.Session, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
					Secure: strings.HasPrefix(v.origin, "https:")}
				if trackRank(s.Terms.Tracking) >= trackRank(policy.TrackingFirstParty) {
					newCookie.MaxAge = cookieMaxAge(s.Terms.Retention)
				}
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), signalsKey{}, s))
		if !isTopLevelDocument(r) {
			next.ServeHTTP(w, r)
			return
		}
		_, _, digest := v.Terms()
		tk := "N"
		if s.Recognised {
			tk = "C"
		}
		if v.log != nil {
			v.logf("← page %s (%s) → Tk: %s%s", r.URL.Path, describeSignals(s), tk, map[bool]string{true: ", new session cookie"}[newCookie != nil])
		}
		hw := &headerWriter{ResponseWriter: w, apply: func(h http.Header) {
			addVary(h)
			if ct := h.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "text/html") {
				return
			}
			h.Set(policy.ResponseHeader, ResponseHeaderValue(digest))
			h.Set("Tk", tk)
			if newCookie != nil {
				h.Add("Set-Cookie", newCookie.String())
			}
		}}
		next.ServeHTTP(hw, r)
		hw.flushHeaders()
	})
}

// describeSignals summarises signals for the exchange log.
func describeSignals(s Signals) string {
	var parts []string
	if s.DNT {
		parts = append(parts, "DNT: 1")
	}
	if s.GPC {
		parts = append(parts, "Sec-GPC: 1")
	}
	switch {
	case s.Recognised && s.Offer != "":
		parts = append(parts, "agreed offer="+s.Offer)
	case s.Recognised:
		parts = append(parts, "agreed user terms")
	case s.Agreed != "":
		parts = append(parts, "agreed="+short(s.Agreed)+" (not recognised)")
	case s.DNTD:
		parts = append(parts, "Sec-DNT-D v=1")
	}
	if len(parts) == 0 {
		return "no signals"
	}
	return strings.Join(parts, ", ")
}

func addVary(h http.Header) {
	have := map[string]bool{}
	for _, line := range h.Values("Vary") {
		for _, f := range strings.Split(line, ",") {
			have[strings.ToLower(strings.TrimSpace(f))] = true
		}
	}
	if have["*"] {
		return
	}
	var add []string
	for _, name := range varyHeaders {
		if !have[strings.ToLower(name)] {
			add = append(add, name)
		}
	}
	if len(add) > 0 {
		h.Add("Vary", strings.Join(add, ", "))
	}
}

// headerWriter applies the DNT-D headers just before the wrapped handler's
// headers go out, so the handler's own Vary values are kept.
type headerWriter struct {
	http.ResponseWriter
	apply func(http.Header)
	done  bool
}

func (w *headerWriter) flushHeaders() {
	if !w.done {
		w.done = true
		w.apply(w.ResponseWriter.Header())
	}
}

func (w *headerWriter) WriteHeader(code int) {
	w.flushHeaders()
	w.ResponseWriter.WriteHeader(code)
}

func (w *headerWriter) Write(b []byte) (int, error) {
	if !w.done {
		h := w.ResponseWriter.Header()
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", http.DetectContentType(b))
		}
		w.flushHeaders()
	}
	return w.ResponseWriter.Write(b)
}

func (w *headerWriter) Flush() {
	w.flushHeaders()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *headerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Session ids are 16 random bytes and a 16-byte HMAC-SHA256 tag over them,
// keyed from the vendor's private key: the vendor recognises (and links to
// a relationship) only sessions it issued, so a visitor cannot choose one,
// and every process holding the same key file recognises the same sessions.
const sessionRandom, sessionTag = 16, 16

// sessionMACKey derives the session-id key from the signing key's seed.
func sessionMACKey(priv ed25519.PrivateKey) []byte {
	m := hmac.New(sha256.New, priv.Seed())
	m.Write([]byte("DNT-D v1 session id"))
	return m.Sum(nil)
}

func (v *Vendor) sessionTag(random []byte) []byte {
	m := hmac.New(sha256.New, v.sessionKey)
	m.Write(random)
	return m.Sum(nil)[:sessionTag]
}

func (v *Vendor) newSessionID() string {
	b := make([]byte, sessionRandom, sessionRandom+sessionTag)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(append(b, v.sessionTag(b)...))
}

// issuedSession reports whether s is a session id this vendor issued.
func (v *Vendor) issuedSession(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != sessionRandom+sessionTag {
		return false
	}
	return hmac.Equal(b[sessionRandom:], v.sessionTag(b[:sessionRandom]))
}

// cookieMaxAge: the agreed retention, capped at 400 days (RFC 6265bis).
func cookieMaxAge(r policy.Retention) int {
	const maxAge = 400 * 24 * 60 * 60
	switch r {
	case policy.RetentionNone, policy.RetentionSession:
		return 0
	case policy.RetentionIndefinite:
		return maxAge
	}
	rv, err := policy.ParseRetention(string(r))
	if err != nil {
		return 0
	}
	return int(min(rv.Seconds, maxAge))
}

func trackRank(t policy.Tracking) int { return slices.Index(policy.TrackingLadder, t) }
func shareRank(s policy.Sharing) int  { return slices.Index(policy.SharingLadder, s) }

// Permits reports whether the request's recognised agreement allows the
// purpose. Without one, only policy.PurposeService is permitted: serving the
// page the visitor asked for.
func Permits(r *http.Request, p policy.Purpose) bool {
	s := SignalsFrom(r.Context())
	if !s.Recognised {
		return p == policy.PurposeService
	}
	return slices.Contains(s.Terms.Purposes, p)
}

// MayTrack reports whether the request's recognised agreement allows
// tracking at level t. Without one, only policy.TrackingNone.
func MayTrack(r *http.Request, t policy.Tracking) bool {
	s := SignalsFrom(r.Context())
	if !s.Recognised {
		return t == policy.TrackingNone
	}
	return trackRank(t) >= 0 && trackRank(t) <= trackRank(s.Terms.Tracking)
}

// MayShare reports whether the request's recognised agreement allows
// sharing at level sh. Without one, only policy.SharingNone.
func MayShare(r *http.Request, sh policy.Sharing) bool {
	s := SignalsFrom(r.Context())
	if !s.Recognised {
		return sh == policy.SharingNone
	}
	return shareRank(sh) >= 0 && shareRank(sh) <= shareRank(s.Terms.Sharing)
}
