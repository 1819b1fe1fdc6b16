// Package agent is the r-button host's message handling: it ties the store
// (host/store), the site client (host/negotiate) and the policy engine
// (policy) behind the native-messaging messages of host/proto, and serves
// them over framed stdin/stdout (host/framing).
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/rbutton/rbutton/host/negotiate"
	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
)

// Backoff after consecutive failures reaching a site: BackoffBase doubled
// per failure, at most BackoffMax.
const (
	BackoffBase = 5 * time.Second
	BackoffMax  = time.Hour
)

// Agent handles requests. It keeps no state between requests: everything
// lives in the store, which every host process shares.
type Agent struct {
	DB     *store.DB
	Client *negotiate.Client
	Log    zerolog.Logger
	Now    func() time.Time
	// WithdrawTimeout bounds the end requests of one withdrawal; zero means
	// DefaultWithdrawTimeout.
	WithdrawTimeout time.Duration
}

func (a *Agent) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

// handler decodes its own params and returns a JSON-encodable result.
type handler func(a *Agent, ctx context.Context, params json.RawMessage) (any, error)

var handlers = map[string]handler{
	proto.TypeHello:            (*Agent).hello,
	proto.TypeRelationshipGet:  (*Agent).relationshipGet,
	proto.TypeRelationshipList: (*Agent).relationshipList,
	proto.TypeNegotiate:        (*Agent).negotiate,
	proto.TypeTermsGet:         (*Agent).termsGet,
	proto.TypeTermsSet:         (*Agent).termsSet,
	proto.TypeExceptionSet:     (*Agent).exceptionSet,
	proto.TypeExceptionClear:   (*Agent).exceptionClear,
	proto.TypeRelationshipEnd:  (*Agent).relationshipEnd,
	proto.TypeHistoryGet:       (*Agent).historyGet,
	proto.TypeDataFetch:        (*Agent).dataFetch,
	proto.TypeDataRequest:      (*Agent).dataRequest,
	proto.TypeDataAccept:       (*Agent).dataAccept,
	proto.TypeExport:           (*Agent).export,
	proto.TypeChanges:          (*Agent).changes,
	proto.TypeSiteView:         (*Agent).siteView,
	proto.TypeSiteCheck:        (*Agent).siteCheck,
	proto.TypeMyTermsProffer:   (*Agent).mytermsProffer,
}

// resendsEnds are the messages that contact sites and, alongside, resend
// the end requests still owed (terms.set and exception.* send them with
// their own withdrawals, in changeTerms).
var resendsEnds = map[string]bool{
	proto.TypeNegotiate: true, proto.TypeDataFetch: true, proto.TypeRelationshipEnd: true, proto.TypeSiteCheck: true,
}

// Handle runs one request. Errors are always *proto.Error.
func (a *Agent) Handle(ctx context.Context, req proto.Request) (result any, err *proto.Error) {
	h, ok := handlers[req.Type]
	if !ok {
		return nil, proto.Errorf(proto.CodeUnknownType, "unknown message type %q", req.Type)
	}
	defer func() {
		if r := recover(); r != nil {
			a.Log.Error().Str("type", req.Type).Interface("panic", r).Msg("handler panicked")
			result, err = nil, proto.Errorf(proto.CodeInternal, "internal error handling %s", req.Type)
		}
	}()
	if resendsEnds[req.Type] {
		// A call that contacts sites anyway also sends the end requests a
		// killed host still owes (see owedEnds), and the detail updates
		// whose retry time has come, alongside.
		done := make(chan struct{})
		go func() {
			defer close(done)
			a.ResendPendingEnds(ctx)
			a.RetryDueUpdates(ctx)
		}()
		defer func() { <-done }()
	}
	res, herr := h(a, ctx, req.Params)
	if herr != nil {
		pe := toProto(herr)
		a.Log.Warn().Str("type", req.Type).Str("code", pe.Code).Msg(pe.Message)
		return nil, pe
	}
	return res, nil
}

// toProto maps any error to its reply code.
func toProto(err error) *proto.Error {
	var pe *proto.Error
	var ne *negotiate.Error
	switch {
	case errors.As(err, &pe):
		return pe
	case errors.As(err, &ne):
		return &proto.Error{Code: ne.Code, Message: ne.Error()}
	case errors.Is(err, store.ErrBusy):
		return proto.Errorf(proto.CodeBusy, "the database is busy; try again")
	case errors.Is(err, store.ErrCorrupt):
		return &proto.Error{Code: proto.CodeStoreCorrupt, Message: err.Error() + "; " + store.Advice(err)}
	case errors.Is(err, store.ErrNewerSchema):
		return &proto.Error{Code: proto.CodeStoreNewerSchema, Message: err.Error()}
	}
	var se *store.Error
	if errors.As(err, &se) {
		return &proto.Error{Code: proto.CodeStoreError, Message: err.Error()}
	}
	return &proto.Error{Code: proto.CodeInternal, Message: err.Error()}
}

func parseSite(s string) (string, error) {
	site, err := policy.ParseOrigin(s)
	if err != nil {
		return "", proto.Errorf(proto.CodeInvalidSite, "%v", err)
	}
	return site, nil
}

// decodeSite decodes the params of a message that names only a site, and
// parses the site.
func decodeSite(raw json.RawMessage) (string, error) {
	p, err := decode[proto.SiteParams](raw)
	if err != nil {
		return "", err
	}
	return parseSite(p.Site)
}

func decode[T any](raw json.RawMessage) (*T, error) {
	var p T
	if err := proto.DecodeParams(raw, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Hello is the result of hello. Generation is the store's change counter
// (see changes). StoreError is null when the database can be read, else
// why not (store_corrupt, busy, …): hello still succeeds, so the extension
// can tell "no helper" from "the helper cannot read its file" and say which.
type Hello struct {
	Version      string       `json:"version"`
	Protocol     int          `json:"protocol"`
	Capabilities []string     `json:"capabilities"`
	Generation   uint64       `json:"generation"`
	StoreError   *proto.Error `json:"storeError"`
}

func (a *Agent) hello(_ context.Context, raw json.RawMessage) (any, error) {
	if _, err := decode[proto.NoParams](raw); err != nil {
		return nil, err
	}
	h := Hello{Version: proto.Version, Protocol: proto.Protocol, Capabilities: proto.Types}
	if _, err := os.Stat(a.DB.Path); errors.Is(err, os.ErrNotExist) {
		return h, nil // generation 0; hello creates no file
	}
	if err := a.DB.View(func(tx *store.Tx) error { h.Generation = tx.Generation(); return nil }); err != nil {
		h.StoreError = toProto(err)
	}
	return h, nil
}

func (a *Agent) relationshipGet(_ context.Context, raw json.RawMessage) (any, error) {
	site, err := decodeSite(raw)
	if err != nil {
		return nil, err
	}
	var rel json.RawMessage
	err = a.DB.View(func(tx *store.Tx) error {
		rel, err = tx.RelationshipJSON(site)
		return err
	})
	return rel, err
}

// Summary is one entry of relationship.list: a relationship without the
// large documents.
type Summary struct {
	Site         string    `json:"site"`
	State        string    `json:"state"`
	Since        time.Time `json:"since"`
	Updated      time.Time `json:"updated"`
	TermsDigest  string    `json:"termsDigest"`
	AgreedDigest string    `json:"agreedDigest"`
	Exception    bool      `json:"exception"`
	Controller   string    `json:"controller"`
	Offer        string    `json:"offer"`
	Record       string    `json:"record"`
	Verified     bool      `json:"verified"`
	Conflicts    int       `json:"conflicts"`
	EndedBy      string    `json:"endedBy,omitempty"`
}

// Summarize returns r's summary.
func Summarize(r store.Relationship) Summary {
	s := Summary{Site: r.Site, State: r.State, Since: r.Since, Updated: r.Updated, TermsDigest: r.TermsDigest,
		AgreedDigest: r.AgreedDigest, Exception: r.Exception, Verified: r.Verified, Conflicts: len(r.Conflicts), EndedBy: r.EndedBy}
	if r.SiteTerms != nil {
		s.Controller = r.SiteTerms.Controller.Name
	}
	if r.Offer != nil {
		s.Offer = r.Offer.ID
	}
	if r.Record != nil {
		s.Record = r.Record.ID
	}
	return s
}

func (a *Agent) relationshipList(_ context.Context, raw json.RawMessage) (any, error) {
	if _, err := decode[proto.NoParams](raw); err != nil {
		return nil, err
	}
	out := []Summary{}
	err := a.DB.View(func(tx *store.Tx) error {
		rels, err := tx.Relationships()
		for _, r := range rels {
			out = append(out, Summarize(r))
		}
		return err
	})
	return out, err
}

// termsInForce returns the user's terms for site and whether they are a
// site exception. Defaults that were never set are the default preset.
func termsInForce(tx *store.Tx, site string) (policy.UserTerms, bool, error) {
	ex, err := tx.Exception(site)
	if err != nil {
		return policy.UserTerms{}, false, err
	}
	if ex != nil {
		return *ex, true, nil
	}
	u, err := defaults(tx)
	return u, false, err
}

func defaults(tx *store.Tx) (policy.UserTerms, error) {
	d, err := tx.Defaults()
	if err != nil {
		return policy.UserTerms{}, err
	}
	if d != nil {
		return *d, nil
	}
	u, ok := policy.Preset(policy.DefaultPreset)
	if !ok {
		return u, fmt.Errorf("policy has no default preset %q", policy.DefaultPreset)
	}
	return u, nil
}

// TermsResult is the result of terms.get.
type TermsResult struct {
	Defaults policy.UserTerms     `json:"defaults"`
	Presets  []policy.NamedPreset `json:"presets"`
}

// TermsSetResult is the result of terms.set: terms.get's, the agreements
// the new terms stopped (see recheck) and the store's generation after the
// change.
type TermsSetResult struct {
	TermsResult
	Withdrawn  []Withdrawn `json:"withdrawn"`
	Generation uint64      `json:"generation"`
}

func (a *Agent) termsGet(_ context.Context, raw json.RawMessage) (any, error) {
	if _, err := decode[proto.NoParams](raw); err != nil {
		return nil, err
	}
	var res TermsResult
	err := a.DB.View(func(tx *store.Tx) error {
		var err error
		res.Defaults, err = defaults(tx)
		return err
	})
	res.Presets = policy.Presets
	return res, err
}

func parseTerms(raw json.RawMessage) (*policy.UserTerms, error) {
	u, err := policy.ParseUserTerms(raw)
	if err != nil {
		return nil, proto.Errorf(proto.CodeInvalidTerms, "terms: %v", err)
	}
	return u, nil
}

// changeTerms runs change (a write of the user's terms) and, in the same
// transaction, the withdrawal check of every agreement in force (site's
// only, when site is not empty); then it ends the stopped agreements with
// their sites. It returns what was withdrawn and the new generation.
func (a *Agent) changeTerms(ctx context.Context, site, why string, change func(tx *store.Tx) error) ([]Withdrawn, uint64, error) {
	var list []stopped
	err := a.DB.Update(func(tx *store.Tx) error {
		if err := change(tx); err != nil {
			return err
		}
		owed, err := a.owedEnds(tx)
		if err != nil {
			return err
		}
		list, err = a.recheck(tx, site, why)
		list = append(owed, list...)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	withdrawn := a.endWithSites(ctx, list)
	var gen uint64
	err = a.DB.View(func(tx *store.Tx) error { gen = tx.Generation(); return nil })
	return withdrawn, gen, err
}

// Import writes an export through the one withdrawal mechanism: in one
// transaction, an agreement in force that the import replaces with
// anything but itself is stopped, write (the import's own writes) runs,
// and every agreement in force is re-checked against the terms now in
// force; then the stopped ones are ended with their sites, as terms.set
// does.
func (a *Agent) Import(ctx context.Context, ex *Export, write func(tx *store.Tx) error) ([]Withdrawn, error) {
	var list []stopped
	now := a.now().Truncate(time.Second)
	err := a.DB.Update(func(tx *store.Tx) error {
		for _, r := range ex.Relationships {
			cur, err := tx.Relationship(r.Site)
			if err != nil {
				return err
			}
			if cur == nil || cur.State != store.StateAgreed || cur.Record == nil {
				continue
			}
			if r.State == store.StateAgreed && r.Record != nil && r.Record.ID == cur.Record.ID {
				continue // the same agreement
			}
			s, err := a.stop(tx, *cur, store.EndedByWithdrawal, policy.EventWithdrawn, "replaced by an import", now)
			if err != nil {
				return err
			}
			list = append(list, s)
		}
		if err := write(tx); err != nil {
			return err
		}
		owed, err := a.owedEnds(tx)
		if err != nil {
			return err
		}
		more, err := a.recheck(tx, "", "an import changed the user's terms")
		list = append(append(owed, list...), more...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return a.endWithSites(ctx, list), nil
}

func (a *Agent) termsSet(ctx context.Context, raw json.RawMessage) (any, error) {
	p, err := decode[proto.TermsSetParams](raw)
	if err != nil {
		return nil, err
	}
	u, err := parseTerms(p.Terms)
	if err != nil {
		return nil, err
	}
	withdrawn, gen, err := a.changeTerms(ctx, "", "the user changed their default terms", func(tx *store.Tx) error { return tx.PutDefaults(*u) })
	if err != nil {
		return nil, err
	}
	return TermsSetResult{TermsResult: TermsResult{Defaults: *u, Presets: policy.Presets}, Withdrawn: withdrawn, Generation: gen}, nil
}

// ExceptionResult is the result of exception.set and exception.clear.
type ExceptionResult struct {
	Site       string            `json:"site"`
	Terms      *policy.UserTerms `json:"terms"`
	Cleared    bool              `json:"cleared,omitempty"`
	Withdrawn  []Withdrawn       `json:"withdrawn"`
	Generation uint64            `json:"generation"`
}

func (a *Agent) exceptionSet(ctx context.Context, raw json.RawMessage) (any, error) {
	p, err := decode[proto.ExceptionSetParams](raw)
	if err != nil {
		return nil, err
	}
	site, err := parseSite(p.Site)
	if err != nil {
		return nil, err
	}
	u, err := parseTerms(p.Terms)
	if err != nil {
		return nil, err
	}
	withdrawn, gen, err := a.changeTerms(ctx, site, "the user set terms for this site", func(tx *store.Tx) error { return tx.PutException(site, *u) })
	if err != nil {
		return nil, err
	}
	return ExceptionResult{Site: site, Terms: u, Withdrawn: withdrawn, Generation: gen}, nil
}

func (a *Agent) exceptionClear(ctx context.Context, raw json.RawMessage) (any, error) {
	site, err := decodeSite(raw)
	if err != nil {
		return nil, err
	}
	var had bool
	withdrawn, gen, err := a.changeTerms(ctx, site, "the user removed their terms for this site; the defaults apply", func(tx *store.Tx) error {
		had, err = tx.DeleteException(site)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ExceptionResult{Site: site, Cleared: had, Withdrawn: withdrawn, Generation: gen}, nil
}

// HistoryResult is the result of history.get.
type HistoryResult struct {
	Site     string         `json:"site"`
	Events   []policy.Event `json:"events"`
	Verified bool           `json:"verified"`
	Problem  string         `json:"problem,omitempty"`
}

func (a *Agent) historyGet(_ context.Context, raw json.RawMessage) (any, error) {
	site, err := decodeSite(raw)
	if err != nil {
		return nil, err
	}
	var events []policy.Event
	err = a.DB.View(func(tx *store.Tx) error {
		events, err = tx.History(site)
		return err
	})
	if err != nil {
		return nil, err
	}
	return historyResult(site, events), nil
}

// historyResult verifies site's events' hash chain.
func historyResult(site string, events []policy.Event) *HistoryResult {
	res := &HistoryResult{Site: site, Events: events}
	if verr := policy.VerifyChain(events); verr != nil {
		res.Problem = verr.Error()
	} else {
		res.Verified = true
	}
	return res
}

// Export is everything the host stores except private keys.
type Export struct {
	V             int                         `json:"v"`
	Exported      time.Time                   `json:"exported"`
	Defaults      *policy.UserTerms           `json:"defaults"`
	Exceptions    map[string]policy.UserTerms `json:"exceptions"`
	Relationships []store.Relationship        `json:"relationships"`
	Histories     map[string][]policy.Event   `json:"histories"`
	// Keys shows that a pairwise key exists for a site and its public
	// half; private keys never leave the host.
	Keys map[string]PublicKey `json:"keys"`
	// Backoff is what the host remembers of failures reaching a site.
	Backoff map[string]store.Backoff `json:"backoff"`
	// SiteChecks is what sites last said about GPC and MyTerms; Proffers
	// the MyTerms agreements the user proffered.
	SiteChecks map[string]store.SiteCheck  `json:"siteChecks"`
	Proffers   map[string][]policy.Proffer `json:"proffers"`
	// PendingEnds are the end requests still owed to sites (PROTOCOL.md
	// 20, Withdrawal). Not imported: only this machine's keys can send them.
	PendingEnds []store.PendingEnd `json:"pendingEnds"`
	// Records holds every record each relationship ever had; Returns every
	// data return kept; Profile the user's details; Shares what each site
	// holds of them.
	Records map[string][]store.KeptRecord `json:"records"`
	Returns map[string][]store.KeptReturn `json:"returns"`
	Profile *store.Profile                `json:"profile"`
	Shares  map[string]store.Share        `json:"shares"`
}

// PublicKey is the exported view of a site's pairwise key.
type PublicKey struct {
	Public  string    `json:"public"`
	Created time.Time `json:"created"`
}

func (a *Agent) export(_ context.Context, raw json.RawMessage) (any, error) {
	if _, err := decode[proto.NoParams](raw); err != nil {
		return nil, err
	}
	return ExportAll(a.DB, a.now())
}

// ExportAll reads everything stored, in one transaction: everything but
// the private halves of keys, so the user can see all the host keeps.
func ExportAll(db *store.DB, now time.Time) (*Export, error) {
	ex := &Export{V: 1, Exported: now.UTC().Truncate(time.Second), Histories: map[string][]policy.Event{}}
	err := db.View(func(tx *store.Tx) error {
		var err error
		if ex.Defaults, err = tx.Defaults(); err != nil {
			return err
		}
		if ex.Exceptions, err = tx.Exceptions(); err != nil {
			return err
		}
		if ex.Relationships, err = tx.Relationships(); err != nil {
			return err
		}
		sites, err := tx.HistorySites() // relationships, and sites with only proffers
		if err != nil {
			return err
		}
		for _, r := range ex.Relationships {
			sites = append(sites, r.Site)
		}
		for _, site := range sites {
			h, err := tx.History(site)
			if err != nil {
				return err
			}
			ex.Histories[site] = h
		}
		if ex.SiteChecks, err = tx.SiteChecks(); err != nil {
			return err
		}
		if ex.Proffers, err = tx.AllProffers(); err != nil {
			return err
		}
		if ex.PendingEnds, err = tx.PendingEnds(); err != nil {
			return err
		}
		if ex.PendingEnds == nil {
			ex.PendingEnds = []store.PendingEnd{}
		}
		keys, err := tx.Keys()
		if err != nil {
			return err
		}
		ex.Keys = make(map[string]PublicKey, len(keys))
		for site, k := range keys {
			ex.Keys[site] = PublicKey{Public: policy.EncodeKey(k.Public), Created: k.Created}
		}
		if ex.Backoff, err = tx.Backoffs(); err != nil {
			return err
		}
		return exportMine(tx, ex)
	})
	return ex, err
}

// conflictSummary renders a negotiation's conflicts for a history event's
// detail.
func conflictSummary(cs []policy.Conflict) string {
	s := "no acceptable offer"
	if len(cs) > 0 {
		s += "; conflicts on " + conflictDimensions(cs)
	}
	return truncate(s, 1000)
}

// conflictDimensions renders each conflicting dimension once, with what
// the user allows and what the other side needs.
func conflictDimensions(cs []policy.Conflict) string {
	var parts []string
	seen := map[string]bool{}
	for _, c := range cs {
		if !seen[c.Dimension] {
			seen[c.Dimension] = true
			parts = append(parts, fmt.Sprintf("%s %s > %s", c.Dimension, c.Needs, c.Allows))
		}
	}
	return strings.Join(parts, ", ")
}

// sameTerms compares user terms by their JSON, as stored.
func sameTerms(a *policy.UserTerms, b policy.UserTerms) bool {
	if a == nil {
		return false
	}
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
