package site

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/rbutton/rbutton/policy"
)

// Default endpoint paths, used where Config.Endpoints leaves one empty.
const (
	DefaultAgreementPath  = "/.well-known/dnt-d/agreement"
	DefaultDataReturnPath = "/.well-known/dnt-d/data"
	DefaultEndPath        = "/.well-known/dnt-d/end"
	// DefaultMaxUserTerms is Config.MaxUserTerms's default.
	DefaultMaxUserTerms = 10_000
	// DefaultDetailsPath is the details endpoint, advertised only when
	// Config.Details is set.
	DefaultDetailsPath = "/.well-known/dnt-d/details"
	// DefaultSessionCookie is the first-party cookie the middleware sets for
	// visitors whose agreement permits tracking (Config.SessionCookie).
	DefaultSessionCookie = "dntd_session"
)

// DefaultTermsGrace is the grace period PROTOCOL.md 14 recommends.
const DefaultTermsGrace = 24 * time.Hour

// Config is a vendor's DNT-D configuration, in Go.
type Config struct {
	// Origin is the site's origin, like "https://shop.example" (policy.ParseOrigin
	// form). Proposals must name it as agreement.site.
	Origin string
	// Controller and PolicyURL name who is responsible and where the
	// human-readable privacy policy is.
	Controller policy.Controller
	PolicyURL  string
	// Offers are the terms the vendor proposes, most private first by custom.
	Offers []policy.Offer
	// LastUpdate is the terms document's lastUpdate; zero means when New
	// runs. Processes serving one site must agree on it (and on the rest of
	// the document), or each publishes a different terms digest.
	LastUpdate time.Time
	// Processors optionally names the origins of the processors the site's
	// pages contact (PROTOCOL.md 5.2): with offers that say sharing
	// "processors", a visitor's agent records a page contacting any other
	// third party as a compliance discrepancy (PROTOCOL.md 12.1).
	Processors []string
	// Endpoints default to DefaultAgreementPath, DefaultDataReturnPath and
	// DefaultEndPath.
	Endpoints policy.Endpoints
	// PrivateKey signs agreements; its public half is in the terms document.
	PrivateKey ed25519.PrivateKey
	// Store keeps records, history, data items and nonces; nil means a
	// fresh MemoryStore.
	Store Store
	// AcceptUserTerms decides whether to accept a user's counter-proposal
	// (their own terms) when none of the offers fits them. Nil refuses.
	AcceptUserTerms func(policy.Terms, policy.Obligations) bool
	// MaxUserTerms bounds how many distinct sets of user terms the vendor
	// agrees to (each is kept, and held in memory); past it, user terms it
	// does not already hold are refused. Zero means DefaultMaxUserTerms.
	MaxUserTerms int
	// Items, if set, is asked during every data return for the items the
	// site holds about the relationship outside the Store (an application
	// that files them in its own database); they are returned with the
	// Store's. An error fails the data return (500), rather than hand back
	// less than the site holds.
	Items func(Relationship) ([]policy.DataItem, error)
	// Ended, if set, is told after a relationship ended, by "user" (an end
	// request) or "site" (Vendor.End), so the application can stop using
	// and delete what it holds.
	Ended func(rel Relationship, by string)
	// SessionCookie names the first-party cookie set for visitors whose
	// agreement permits tracking; "" means DefaultSessionCookie, "-" none.
	SessionCookie string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log, if set, receives one readable line per protocol exchange.
	Log func(line string)
	// RateLimit bounds the POST requests per client address; the zero value
	// means DefaultRateLimit.
	RateLimit RateLimit
	// TermsGrace is how long after SetOffers removes or changes an offer its
	// agreed digest is still honoured: Tk: C, and tracking and recording as
	// it allows, while agents renegotiate (PROTOCOL.md 4, 14). Zero means
	// DefaultTermsGrace; negative means none.
	TermsGrace time.Duration
	// Details, if set, is where the vendor's own system (its CRM) takes the
	// details a user gives it or updates (PROTOCOL.md, "Details update").
	// Setting it advertises the details endpoint. An error refuses the
	// update; the user's agent records the refusal. An error wrapping
	// ErrTryLater answers 503 unavailable instead: the agent tries again.
	Details func(DetailsUpdate) error
}

// ConfigError says what is wrong with a Config.
type ConfigError struct {
	Field string // Go field or terms-document path, like "offers[1].terms.retention"
	Err   error
}

func (e *ConfigError) Error() string {
	return "site: invalid configuration: " + e.Field + ": " + e.Err.Error()
}

func (e *ConfigError) Unwrap() error { return e.Err }

// Vendor is a site speaking DNT-D. It is safe for concurrent use.
type Vendor struct {
	origin        string
	priv          ed25519.PrivateKey
	pubKey        string
	store         Store
	acceptUser    func(policy.Terms, policy.Obligations) bool
	maxUserTerms  int
	itemsHook     func(Relationship) ([]policy.DataItem, error)
	endedHook     func(Relationship, string)
	sessionCookie string
	sessionKey    []byte // keys the MAC of session ids (issuedSession)
	now           func() time.Time
	log           func(string)
	details       func(DetailsUpdate) error
	base          policy.TermsDocument // without offers and lastUpdate

	mu     sync.RWMutex // guards the terms below and agreed
	doc    *policy.TermsDocument
	raw    []byte
	digest string
	offers map[string]policy.Offer // by agreed digest
	// previous are offers of earlier documents, by agreed digest, honoured
	// until their grace period ends.
	previous map[string]graceOffer
	grace    time.Duration
	agreed   map[string]AgreedTerms // accepted user terms, by agreed digest (at most maxUserTerms)

	limit *limiter

	// The vendor holds no lock over its decisions: each is one store
	// exchange, which keeps nonce, record and history consistent
	// (Store.Exchange).

	forgetMu   sync.Mutex
	lastForget time.Time // when expired nonces were last dropped
}

// New validates cfg, builds the terms document and returns the Vendor.
func New(cfg Config) (*Vendor, error) {
	origin, err := policy.ParseOrigin(cfg.Origin)
	if err != nil {
		return nil, &ConfigError{"Origin", err}
	}
	if origin != cfg.Origin {
		return nil, &ConfigError{"Origin", fmt.Errorf("%q is not in canonical form (%q)", cfg.Origin, origin)}
	}
	if len(cfg.PrivateKey) != ed25519.PrivateKeySize {
		return nil, &ConfigError{"PrivateKey", fmt.Errorf("is %d bytes, want an ed25519 private key of %d", len(cfg.PrivateKey), ed25519.PrivateKeySize)}
	}
	ep := cfg.Endpoints
	if ep.Agreement == "" {
		ep.Agreement = DefaultAgreementPath
	}
	if ep.DataReturn == "" {
		ep.DataReturn = DefaultDataReturnPath
	}
	if ep.End == "" {
		ep.End = DefaultEndPath
	}
	if cfg.Details == nil {
		ep.Details = ""
	} else if ep.Details == "" {
		ep.Details = DefaultDetailsPath
	}
	seen := map[string]string{policy.WellKnownPath: "the terms document"}
	for _, p := range []struct{ name, path string }{{"Endpoints.Agreement", ep.Agreement}, {"Endpoints.DataReturn", ep.DataReturn}, {"Endpoints.End", ep.End}, {"Endpoints.Details", ep.Details}} {
		if p.path == "" {
			continue
		}
		if other, dup := seen[p.path]; dup {
			return nil, &ConfigError{p.name, fmt.Errorf("path %s is already used by %s", p.path, other)}
		}
		seen[p.path] = p.name
	}
	v := &Vendor{
		origin: origin, priv: cfg.PrivateKey, store: cfg.Store, acceptUser: cfg.AcceptUserTerms,
		sessionCookie: cfg.SessionCookie, now: cfg.Now, log: cfg.Log, grace: cfg.TermsGrace,
		itemsHook: cfg.Items, endedHook: cfg.Ended, details: cfg.Details,
	}
	if v.grace == 0 {
		v.grace = DefaultTermsGrace
	}
	if v.store == nil {
		v.store = NewMemoryStore()
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.sessionCookie == "" {
		v.sessionCookie = DefaultSessionCookie
	}
	v.maxUserTerms = cfg.MaxUserTerms
	if v.maxUserTerms <= 0 {
		v.maxUserTerms = DefaultMaxUserTerms
	}
	v.limit = newLimiter(cfg.RateLimit, v.now)
	v.sessionKey = sessionMACKey(cfg.PrivateKey)
	v.pubKey = policy.EncodeKey(cfg.PrivateKey.Public().(ed25519.PublicKey))
	v.base = policy.TermsDocument{V: policy.Version, Controller: cfg.Controller, Policy: cfg.PolicyURL, PublicKey: v.pubKey, Endpoints: ep,
		Processors: slices.Clone(cfg.Processors)}
	if err := v.setOffers(cfg.Offers, cfg.LastUpdate); err != nil {
		return nil, err
	}
	agreed, err := v.store.AllAgreedTerms()
	if err != nil {
		return nil, fmt.Errorf("site: load agreed terms: %w", err)
	}
	v.agreed = agreed
	return v, nil
}

// SetOffers replaces the vendor's offers, publishing a new terms document
// (new digest, lastUpdate now). Agents notice the new digest in the DNT-D
// header and renegotiate; proposals against the old digest get 409
// terms_changed. Invalid offers leave the current document in place.
func (v *Vendor) SetOffers(offers []policy.Offer) error { return v.setOffers(offers, time.Time{}) }

func (v *Vendor) setOffers(offers []policy.Offer, lastUpdate time.Time) error {
	if lastUpdate.IsZero() {
		lastUpdate = v.now()
	}
	doc := v.base
	doc.LastUpdate = lastUpdate.UTC().Truncate(time.Second)
	doc.Offers = offers
	raw, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return &ConfigError{"Offers", err}
	}
	raw = append(raw, '\n')
	parsed, err := policy.ParseTermsDocument(raw)
	if err != nil {
		field := "terms document"
		var pe *policy.ParseError
		if errors.As(err, &pe) && pe.Path != "" {
			field = pe.Path
			err = pe.Err
		}
		return &ConfigError{field, err}
	}
	byDigest := map[string]policy.Offer{}
	for _, o := range parsed.Offers {
		byDigest[policy.AgreedDigest(o.Terms, o.Obligations)] = o
	}
	v.mu.Lock()
	old := v.digest
	v.keepPrevious(v.offers, byDigest)
	v.doc, v.raw, v.digest, v.offers = parsed, raw, policy.Digest(raw), byDigest
	v.mu.Unlock()
	if old != "" {
		v.logf("terms changed %s → %s", short(old), short(v.digest))
	}
	return nil
}

// Terms returns the current terms document, its exact bytes and digest.
// They are shared: callers must not modify them.
func (v *Vendor) Terms() (doc *policy.TermsDocument, raw []byte, digest string) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.doc, v.raw, v.digest
}

// Origin returns the vendor's origin.
func (v *Vendor) Origin() string { return v.origin }

// PublicKey returns the vendor's public key as it appears in the terms document.
func (v *Vendor) PublicKey() string { return v.pubKey }

// Store returns the vendor's store.
func (v *Vendor) Store() Store { return v.store }

// graceOffer is an offer of an earlier terms document, honoured until.
type graceOffer struct {
	offer policy.Offer
	until time.Time
}

// keepPrevious puts the offers of the outgoing document (old) that the new
// one (cur) no longer has under the grace period, and forgets those whose
// grace has ended or that are current again. Callers hold v.mu.
func (v *Vendor) keepPrevious(old, cur map[string]policy.Offer) {
	now := v.now()
	if v.previous == nil {
		v.previous = map[string]graceOffer{}
	}
	for d, g := range v.previous {
		if _, current := cur[d]; current || !now.Before(g.until) {
			delete(v.previous, d)
		}
	}
	if v.grace <= 0 {
		return
	}
	for d, o := range old {
		if _, current := cur[d]; !current {
			v.previous[d] = graceOffer{o, now.Add(v.grace)}
		}
	}
}

// recognise returns the terms agreed under digest, if the vendor honours
// them (PROTOCOL.md 4): one of its current offers, user terms it (or another
// process sharing its store) accepted, or an offer of an earlier document
// within its grace period.
func (v *Vendor) recognise(digest string) (offer string, t *AgreedTerms) {
	if digest == "" {
		return "", nil
	}
	v.mu.RLock()
	o, isOffer := v.offers[digest]
	a, known := v.agreed[digest]
	g, inGrace := v.previous[digest]
	v.mu.RUnlock()
	if isOffer {
		return o.ID, &AgreedTerms{Terms: o.Terms, Obligations: o.Obligations}
	}
	if known {
		return "", &a
	}
	if inGrace && v.now().Before(g.until) {
		return g.offer.ID, &AgreedTerms{Terms: g.offer.Terms, Obligations: g.offer.Obligations}
	}
	a, found, err := v.store.AgreedTerms(digest)
	if err != nil {
		v.logf("cannot read agreed terms: %v", err)
		return "", nil
	}
	if !found {
		return "", nil
	}
	v.rememberAgreed(digest, a)
	return "", &a
}

// rememberAgreed holds user terms the store keeps as agreed in memory, up
// to Config.MaxUserTerms sets; past it, they are looked up each time.
func (v *Vendor) rememberAgreed(digest string, a AgreedTerms) {
	v.mu.Lock()
	if len(v.agreed) < v.maxUserTerms {
		v.agreed[digest] = a
	}
	v.mu.Unlock()
}

// Handler returns the handler of the DNT-D endpoints: the terms document and
// the agreement, data-return and end endpoints. Everything else is 404.
func (v *Vendor) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ep := v.base.Endpoints
		switch r.URL.Path {
		case policy.WellKnownPath:
			v.serveTerms(w, r)
		case ep.Agreement:
			v.serveAgreement(w, r)
		case ep.DataReturn:
			v.serveDataReturn(w, r)
		case ep.End:
			v.serveEnd(w, r)
		case ep.Details:
			if ep.Details == "" {
				writeError(w, http.StatusNotFound, policy.CodeNotFound, "no DNT-D endpoint here", "")
				return
			}
			v.serveDetails(w, r)
		default:
			writeError(w, http.StatusNotFound, policy.CodeNotFound, "no DNT-D endpoint here", "")
		}
	})
}

// Mount registers the DNT-D endpoints on mux with one pattern per method
// ("GET /.well-known/dnt-d", "POST <endpoint>", "DELETE <endpoint>", …), so
// they sit alongside a site's own routes, including a "GET /" or "/"
// catch-all, and still answer a wrong method themselves: 405 with an error
// document (PROTOCOL.md 10.7), not the mux's plain-text one.
func (v *Vendor) Mount(mux *http.ServeMux) {
	ep := v.base.Endpoints
	handlers := map[string]http.HandlerFunc{policy.WellKnownPath: v.serveTerms, ep.Agreement: v.serveAgreement,
		ep.DataReturn: v.serveDataReturn, ep.End: v.serveEnd}
	if ep.Details != "" {
		handlers[ep.Details] = v.serveDetails
	}
	for path, h := range handlers {
		for _, m := range mountMethods {
			mux.HandleFunc(m+" "+path, h)
		}
	}
}

// mountMethods are the methods Mount routes to the endpoints (GET covers
// HEAD); the mux itself answers any other.
var mountMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
	http.MethodOptions, http.MethodTrace}

// isProtocolPath reports whether path is one of the vendor's DNT-D endpoints.
func (v *Vendor) isProtocolPath(path string) bool {
	ep := v.base.Endpoints
	return path == policy.WellKnownPath || path == ep.Agreement || path == ep.DataReturn || path == ep.End ||
		(ep.Details != "" && path == ep.Details)
}

func (v *Vendor) serveTerms(w http.ResponseWriter, r *http.Request) {
	if !v.ownHost(w, r) || !allowMethods(w, r, http.MethodGet) {
		return
	}
	_, raw, digest := v.Terms()
	h := w.Header()
	etag := `"` + digest + `"`
	h.Set("ETag", etag)
	// no-cache: an agent must see a new document as soon as the DNT-D header announces it.
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Header.Get("If-None-Match") == etag {
		v.logf("← GET terms (conditional) → 304 not modified")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	v.logf("← GET terms → %d bytes, digest %s", len(raw), short(digest))
	h.Set("Content-Type", policy.MediaType)
	h.Set("Content-Length", fmt.Sprint(len(raw)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(raw)
}

func (v *Vendor) logf(format string, args ...any) {
	if v.log != nil {
		v.log(fmt.Sprintf(format, args...))
	}
}

// forgetNonces drops expired nonces at most once a minute.
func (v *Vendor) forgetNonces(now time.Time) {
	v.forgetMu.Lock()
	if now.Sub(v.lastForget) < time.Minute && !now.Before(v.lastForget) {
		v.forgetMu.Unlock()
		return
	}
	v.lastForget = now
	v.forgetMu.Unlock()
	if err := v.store.ForgetNonces(now); err != nil {
		v.logf("cannot drop expired nonces: %v", err)
	}
}

// short abbreviates a base64 digest or key for logs.
func short(s string) string {
	if len(s) > 10 {
		return s[:10] + "…"
	}
	return s
}
