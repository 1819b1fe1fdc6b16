package agent

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/rbutton/rbutton/host/negotiate"
	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
)

// DefaultWithdrawTimeout bounds the end requests a withdrawal sends to
// sites: the relationships stop at once, locally; the sites hear of it
// within this.
const DefaultWithdrawTimeout = 10 * time.Second

func (a *Agent) withdrawTimeout() time.Duration {
	if a.WithdrawTimeout > 0 {
		return a.WithdrawTimeout
	}
	return DefaultWithdrawTimeout
}

// Withdrawn is one agreement a change of the user's terms (or forget, or the
// site's own answer) stopped. Ended says whether the site confirmed the end
// (or had already ended it); Error is why not.
type Withdrawn struct {
	Site  string       `json:"site"`
	Ended bool         `json:"ended"`
	Error *proto.Error `json:"error"`
}

// stopped is an agreement stopped locally inside a store transaction, whose
// end request is still to be sent once the transaction has committed.
type stopped struct {
	site   string
	doc    *policy.TermsDocument
	record string
	key    ed25519.PrivateKey
}

// recheck is the one withdrawal mechanism (PROTOCOL.md 14): inside tx, after
// the user's terms changed, every agreement in force (only site's, when site
// is not empty) is checked against the terms now in force, its agreed terms
// and obligations taken as an offer (8.1). One that no longer fits is
// stopped: state ended, no agreed digest (so the generation moves and
// browsers stop sending agreed), a withdrawn event saying why. The end
// requests to the sites are sent afterwards by endWithSites.
func (a *Agent) recheck(tx *store.Tx, site, why string) ([]stopped, error) {
	rels, err := tx.Relationships()
	if err != nil {
		return nil, err
	}
	now := a.now().Truncate(time.Second)
	var out []stopped
	for _, r := range rels {
		if r.State != store.StateAgreed || r.Record == nil || (site != "" && r.Site != site) {
			continue
		}
		user, exception, err := termsInForce(tx, r.Site)
		if err != nil {
			return nil, err
		}
		agreed := policy.Offer{ID: r.Record.Agreement.Offer, Terms: r.Record.Agreement.Terms, Obligations: r.Record.Agreement.Obligations}
		conflicts := policy.CheckOffer(user, agreed)
		if len(conflicts) == 0 {
			continue
		}
		detail := truncate(why+"; the agreement no longer fits: "+conflictDimensions(conflicts), 1000)
		if exception {
			detail = truncate("exception for this site: "+detail, 1000)
		}
		s, err := a.stop(tx, r, store.EndedByWithdrawal, policy.EventWithdrawn, detail, now)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// stop ends r locally inside tx and returns what endWithSites needs.
// endedBy is store.EndedByWithdrawal or store.EndedBySite.
func (a *Agent) stop(tx *store.Tx, r store.Relationship, endedBy, event, detail string, now time.Time) (stopped, error) {
	s := stopped{site: r.Site, doc: r.SiteTerms, record: r.Record.ID}
	if k, err := tx.Key(r.Site); err != nil {
		return s, err
	} else if k != nil {
		s.key = k.Private
	}
	r.State, r.AgreedDigest, r.Updated, r.Error, r.EndedBy = store.StateEnded, "", now, nil, endedBy
	if endedBy == store.EndedByWithdrawal && s.key != nil && s.doc != nil {
		// Owed to the site from this commit on, until it answers: a host
		// killed before the end request leaves the next one to send it.
		if err := tx.PutPendingEnd(store.PendingEnd{Site: r.Site, Record: r.Record.ID, Doc: r.SiteTerms, Since: now}); err != nil {
			return s, err
		}
	}
	if _, err := tx.AppendEvent(r.Site, policy.Event{Type: event, Time: now, Agreement: r.Record.ID, Detail: detail}); err != nil {
		return s, err
	}
	return s, tx.PutRelationship(r)
}

// endWithSites sends a signed end request for every stopped agreement, all
// at once, within WithdrawTimeout, and records each outcome in the history
// (an ended event) and in the relationship's error.
func (a *Agent) endWithSites(ctx context.Context, list []stopped) []Withdrawn {
	out := make([]Withdrawn, len(list))
	if len(list) == 0 {
		return []Withdrawn{}
	}
	ctx, cancel := context.WithTimeout(ctx, a.withdrawTimeout())
	defer cancel()
	var wg sync.WaitGroup
	for i, s := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = a.endWithSite(ctx, s)
		}()
	}
	wg.Wait()
	now := a.now().Truncate(time.Second)
	err := a.DB.Update(func(tx *store.Tx) error {
		for i, s := range list {
			detail := "ended; site confirmed"
			var relErr *store.RelationshipError
			if e := out[i].Error; e != nil {
				detail = truncate("ended locally; site: "+e.Code+": "+e.Message, 1000)
				relErr = &store.RelationshipError{Code: e.Code, Message: e.Message}
			}
			owed, err := a.settlePendingEnd(tx, s, out[i], now)
			if err != nil {
				return err
			}
			if !owed {
				// Another call sent the same owed end meanwhile (a resend
				// beside the withdrawal's own) and recorded its outcome.
				continue
			}
			cur, err := tx.Relationship(s.site)
			if err != nil {
				return err
			}
			if cur == nil {
				continue // forgotten meanwhile: nothing of it is written back
			}
			if _, err := tx.AppendEvent(s.site, policy.Event{Type: policy.EventEnded, Time: now, Agreement: s.record, Detail: detail}); err != nil {
				return err
			}
			if cur.State == store.StateEnded && cur.Record != nil && cur.Record.ID == s.record {
				cur.Error = relErr
				if err := tx.PutRelationship(*cur); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		a.Log.Warn().Err(err).Msg("recording the sites' answers to end requests")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Site < out[j].Site })
	return out
}

// MaxEndTries is how many times an end request the site could not be
// reached for is sent in all (the first and the resends) before it is
// given up; the relationship was ended locally at the first.
const MaxEndTries = 5

// endUndelivered are the outcomes of an end request that the site never
// received: it stays owed.
var endUndelivered = map[string]bool{
	proto.CodeSiteUnreachable: true, proto.CodeSiteTimeout: true, proto.CodeSiteRateLimited: true, proto.CodeSiteBackoff: true,
}

// settlePendingEnd records, inside tx, the outcome w of the end request s:
// the end is no longer owed once the site answered it (or it has been
// tried MaxEndTries times); else it stays owed, one more try counted.
// It reports whether the outcome is this call's to record: true unless s was
// owed (stop stored it so) and no longer is, because another call sending
// the same end settled it first.
func (a *Agent) settlePendingEnd(tx *store.Tx, s stopped, w Withdrawn, now time.Time) (bool, error) {
	owed, err := tx.PendingEnds()
	if err != nil {
		return false, err
	}
	var p *store.PendingEnd
	for i := range owed {
		if owed[i].Site == s.site && owed[i].Record == s.record {
			p = &owed[i]
			break
		}
	}
	if p == nil {
		// stop leaves an end owed whenever it can be sent at all.
		return s.key == nil || s.doc == nil, nil
	}
	if w.Ended || w.Error == nil || !endUndelivered[w.Error.Code] {
		return true, tx.DeletePendingEnd(s.site, s.record)
	}
	if p.Tries++; p.Tries >= MaxEndTries {
		return true, tx.DeletePendingEnd(s.site, s.record)
	}
	return true, tx.PutPendingEnd(*p)
}

// owedEnds returns, from inside tx, the end requests still owed to sites
// (PROTOCOL.md 14): agreements stopped by a host that was killed, or could
// not reach the site, before the site answered. One whose key is gone can
// never be sent and is dropped.
func (a *Agent) owedEnds(tx *store.Tx) ([]stopped, error) {
	owed, err := tx.PendingEnds()
	if err != nil {
		return nil, err
	}
	var out []stopped
	for _, p := range owed {
		k, err := tx.Key(p.Site)
		if err != nil {
			return nil, err
		}
		if k == nil || p.Doc == nil {
			if tx.Writable() {
				if err := tx.DeletePendingEnd(p.Site, p.Record); err != nil {
					return nil, err
				}
			}
			continue
		}
		out = append(out, stopped{site: p.Site, doc: p.Doc, record: p.Record, key: k.Private})
	}
	return out, nil
}

// ResendPendingEnds sends the end requests still owed to sites and records
// the answers, as a withdrawal does. It returns what was sent (none when
// nothing is owed); store errors are logged.
func (a *Agent) ResendPendingEnds(ctx context.Context) []Withdrawn {
	var list []stopped
	if err := a.DB.View(func(tx *store.Tx) error {
		var err error
		list, err = a.owedEnds(tx)
		return err
	}); err != nil {
		a.Log.Warn().Err(err).Msg("reading the end requests still owed to sites")
		return nil
	}
	if len(list) == 0 {
		return nil
	}
	return a.endWithSites(ctx, list)
}

// endWithSite sends one end request. A site that answers 404 not_found or
// 410 ended holds no agreement any more: that counts as ended.
func (a *Agent) endWithSite(ctx context.Context, s stopped) Withdrawn {
	w := Withdrawn{Site: s.site}
	switch {
	case s.key == nil:
		w.Error = proto.Errorf(proto.CodeNoAgreement, "no key for %s on this machine; the site was not told", s.site)
	case s.doc == nil:
		w.Error = proto.Errorf(proto.CodeNoAgreement, "no terms document stored for %s; the site was not told", s.site)
	default:
		err := a.Client.End(ctx, s.site, s.doc, s.record, s.key)
		switch code := negotiate.SiteCode(err); {
		case err == nil, code == policy.CodeEnded, code == policy.CodeNotFound:
			w.Ended = true
		default:
			w.Error = toProto(err)
		}
	}
	return w
}

// siteAnswered ends the relationship locally when err is the site's 404
// not_found or 410 ended (siteEnded); other errors change nothing.
func (a *Agent) siteAnswered(site, recordID string, err error) {
	if code := negotiate.SiteCode(err); code != policy.CodeNotFound && code != policy.CodeEnded {
		return
	}
	if serr := a.siteEnded(site, recordID, err); serr != nil {
		a.Log.Warn().Err(serr).Str("site", site).Msg("recording that the site ended the relationship")
	}
}

// siteEnded records that the site answered a data-return or end request
// for the agreement in force with 404 not_found or 410 ended: it holds no
// agreement, so none is in force (PROTOCOL.md 10.6).
func (a *Agent) siteEnded(site, recordID string, cause error) error {
	pe := toProto(cause)
	now := a.now().Truncate(time.Second)
	return a.DB.Update(func(tx *store.Tx) error {
		cur, err := tx.Relationship(site)
		if err != nil || cur == nil || cur.State != store.StateAgreed || cur.Record == nil || cur.Record.ID != recordID {
			return err
		}
		if _, err := a.stop(tx, *cur, store.EndedBySite, policy.EventEnded, truncate("ended by the site: "+pe.Message, 1000), now); err != nil {
			return err
		}
		cur, err = tx.Relationship(site)
		if err != nil {
			return err
		}
		cur.Error = &store.RelationshipError{Code: pe.Code, Message: pe.Message}
		return tx.PutRelationship(*cur)
	})
}

// Forget ends the agreement in force with site (a signed end request, as
// relationship.end sends), then deletes everything stored about it. It
// reports the end's outcome (nil when there was no agreement in force) and
// whether anything was stored.
func (a *Agent) Forget(ctx context.Context, site string) (*Withdrawn, bool, error) {
	var list []stopped
	var found bool
	err := a.DB.Update(func(tx *store.Tx) error {
		r, err := tx.Relationship(site)
		var damaged *store.ValueError
		if errors.As(err, &damaged) && errors.Is(err, store.ErrCorrupt) {
			// Forget is what the user is told to do about a damaged
			// relationship: it goes, without the end nobody can read.
			a.Log.Warn().Err(err).Str("site", site).Msg("forgetting a damaged relationship; the site is not told")
			r, err = nil, nil
		}
		if err != nil {
			return err
		}
		if r != nil && r.State == store.StateAgreed && r.Record != nil {
			s, err := a.stop(tx, *r, store.EndedByWithdrawal, policy.EventWithdrawn, "the user asked to forget this site", a.now().Truncate(time.Second))
			if err != nil {
				return err
			}
			list = append(list, s)
		}
		// An end still owed (a host killed after a withdrawal) is sent
		// now too: after forget, no key is left to send it with.
		owed, err := a.owedEnds(tx)
		for _, o := range owed {
			if o.site == site {
				list = append(list, o)
			}
		}
		return err
	})
	if err != nil {
		return nil, false, err
	}
	var w *Withdrawn
	if len(list) > 0 {
		ctx, cancel := context.WithTimeout(ctx, a.withdrawTimeout())
		defer cancel()
		res := make([]Withdrawn, len(list))
		var wg sync.WaitGroup
		for i, s := range list {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res[i] = a.endWithSite(ctx, s)
			}()
		}
		wg.Wait()
		w = &res[0]
	}
	err = a.DB.Update(func(tx *store.Tx) error {
		found, err = tx.Forget(site)
		return err
	})
	return w, found || w != nil, err
}

// ChangesResult is the result of changes.
type ChangesResult struct {
	Generation    uint64     `json:"generation"`
	Relationships *[]Summary `json:"relationships"`
	// DetailsDue says that a detail update owed to a site is due for
	// sending: the extension's periodic check then calls profile.push.
	DetailsDue bool `json:"detailsDue"`
}

func (a *Agent) changes(_ context.Context, raw json.RawMessage) (any, error) {
	p, err := decode[proto.ChangesParams](raw)
	if err != nil {
		return nil, err
	}
	var res ChangesResult
	err = a.DB.View(func(tx *store.Tx) error {
		res.Generation = tx.Generation()
		var err error
		if res.DetailsDue, err = detailsDue(tx, a.now()); err != nil {
			return err
		}
		if res.Generation == *p.Since {
			return nil
		}
		rels, err := tx.Relationships()
		if err != nil {
			return err
		}
		list := make([]Summary, 0, len(rels))
		for _, r := range rels {
			list = append(list, Summarize(r))
		}
		res.Relationships = &list
		return nil
	})
	return res, err
}

// SiteView is the result of site.view: everything the popup shows for one
// site, from one transaction.
type SiteView struct {
	Relationship *store.Relationship `json:"relationship"`
	History      *HistoryResult      `json:"history"`
	Generation   uint64              `json:"generation"`
}

func (a *Agent) siteView(_ context.Context, raw json.RawMessage) (any, error) {
	site, err := decodeSite(raw)
	if err != nil {
		return nil, err
	}
	var v SiteView
	err = a.DB.View(func(tx *store.Tx) error {
		v.Generation = tx.Generation()
		if v.Relationship, err = tx.Relationship(site); err != nil {
			return err
		}
		events, err := tx.History(site)
		if err != nil {
			return err
		}
		if v.Relationship != nil || len(events) > 0 {
			v.History = historyResult(site, events)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}
