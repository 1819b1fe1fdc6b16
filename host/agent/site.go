package agent

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"time"

	"github.com/rbutton/rbutton/host/negotiate"
	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
)

// negotiate handles negotiate {site, advertisement}. When the stored
// relationship was made against the advertised terms digest and the user's
// terms in force are unchanged, it is returned without contacting the site.
func (a *Agent) negotiate(ctx context.Context, raw json.RawMessage) (any, error) {
	p, err := decode[proto.NegotiateParams](raw)
	if err != nil {
		return nil, err
	}
	site, err := parseSite(p.Site)
	if err != nil {
		return nil, err
	}
	digest, err := policy.ParseResponseHeader(p.Advertisement)
	if err != nil {
		return nil, proto.Errorf(proto.CodeInvalidAdvertisement, "advertisement: %v", err)
	}

	var (
		prior     *store.Relationship
		user      policy.UserTerms
		exception bool
		key       *store.Key
		backoff   *store.Backoff
	)
	err = a.DB.View(func(tx *store.Tx) error {
		var err error
		if prior, err = tx.Relationship(site); err != nil {
			return err
		}
		if user, exception, err = termsInForce(tx, site); err != nil {
			return err
		}
		if key, err = tx.Key(site); err != nil {
			return err
		}
		backoff, err = tx.Backoff(site)
		return err
	})
	if err != nil {
		return nil, err
	}
	// An agreement withdrawn because the user's terms changed is negotiated
	// again at the next visit (PROTOCOL.md 14), even when the terms in force
	// are those it was made under (the user changed them back).
	withdrawn := prior != nil && prior.State == store.StateEnded && prior.EndedBy == store.EndedByWithdrawal
	if !p.Force && prior != nil && !withdrawn && sameTerms(prior.MyTerms, user) {
		// Nothing changed on either side: no request to the site.
		if prior.TermsDigest == digest && prior.State != store.StateError {
			return prior, nil
		}
		// The user ended this relationship: new site terms do not revive it.
		// Changing their terms for the site, or forcing, does.
		if prior.State == store.StateEnded {
			return prior, nil
		}
	}
	now := a.now().Truncate(time.Second)
	if backoff != nil && now.Before(backoff.Next) {
		return nil, proto.Errorf(proto.CodeSiteBackoff, "not contacting %s again before %s after %d failure(s); last: %s",
			site, backoff.Next.Format(time.RFC3339), backoff.Failures, backoff.LastError)
	}
	in := negotiate.Input{Origin: site, Digest: digest, User: user}
	var proposedWith ed25519.PublicKey // the key the proposals were signed with, once stored
	if key != nil {
		in.Public, in.Private = key.Public, key.Private
		proposedWith = key.Public
	} else {
		// The key is created now but stored only just before the first
		// proposal (a site whose terms cannot even be fetched leaves
		// nothing behind), and from then on every retry, from this or any
		// host process, proposes with it: the same relationship at the site.
		pub, priv, err := policy.NewPairwiseKey()
		if err != nil {
			return nil, err
		}
		in.Public, in.Private = pub, priv
		in.BeforePropose = func() (ed25519.PublicKey, ed25519.PrivateKey, error) {
			use := store.Key{Public: pub, Private: priv, Created: now}
			err := a.DB.Update(func(tx *store.Tx) error {
				stored, err := tx.Key(site)
				if err != nil || stored != nil {
					if stored != nil {
						use = *stored // another process got there first
					}
					return err
				}
				return tx.PutKey(site, use)
			})
			if err == nil {
				proposedWith, in.Private = use.Public, use.Private
			}
			return use.Public, use.Private, err
		}
	}

	out, nerr := a.Client.Negotiate(ctx, in)
	if nerr != nil {
		a.recordFailure(site, nerr)
		return nil, nerr
	}

	var (
		rel       store.Relationship
		forgotten bool      // the user forgot the site while the site decided
		ended     []stopped // the agreement, when the terms changed meanwhile
	)
	err = a.DB.Update(func(tx *store.Tx) error {
		// Re-read everything the outcome depends on: another call or host
		// may have written meanwhile (a terms change, forget, negotiate).
		prior, err := tx.Relationship(site)
		if err != nil {
			return err
		}
		nowKey, err := tx.Key(site)
		if err != nil {
			return err
		}
		if proposedWith != nil && (nowKey == nil || !nowKey.Public.Equal(proposedWith)) {
			// Forgotten (and perhaps a new key made by another negotiation):
			// storing this outcome would bring the site back, with an
			// agreement whose key is gone. Nothing is stored.
			forgotten = true
			return nil
		}
		nowUser, nowException, err := termsInForce(tx, site)
		if err != nil {
			return err
		}
		if err := tx.ClearBackoff(site); err != nil {
			return err
		}
		rel = store.Relationship{Site: site, Since: now, Updated: now, TermsDigest: out.Digest,
			SiteTerms: out.Doc, MyTerms: &user, Exception: exception, Conflicts: []policy.Conflict{}}
		if prior != nil {
			rel.Since = prior.Since
			rel.Record = prior.Record // kept as evidence; only state "agreed" means it is in force
			if prior.Record != nil {
				// Every record the relationship had stays showable.
				if err := tx.PutRecord(site, *prior.Record, prior.Updated); err != nil {
					return err
				}
			}
			if prior.TermsDigest != "" && prior.TermsDigest != out.Digest {
				// What changed per offer and dimension, kept in the event
				// (and in words in its detail), so the history can say it
				// after the earlier document is gone.
				changes := policy.TermsChanges(prior.SiteTerms, out.Doc)
				ev := policy.Event{Type: policy.EventTermsChanged, Time: now, Detail: termsChangedDetail(prior.SiteTerms, changes), Changes: changes}
				if _, err := tx.AppendEvent(site, ev); err != nil {
					return err
				}
			}
		}
		if out.TermsChanged && (prior == nil || prior.TermsDigest == out.Digest) {
			if _, err := tx.AppendEvent(site, policy.Event{Type: policy.EventTermsChanged, Time: now, Detail: "site answered terms_changed; terms refetched"}); err != nil {
				return err
			}
		}
		if out.Record != nil {
			typ := policy.EventNegotiated
			if prior != nil && prior.Record != nil {
				typ = policy.EventRenegotiated
			}
			if err := tx.PutRecord(site, *out.Record, now); err != nil {
				return err
			}
			rel.State, rel.Record, rel.Verified, rel.Offer = store.StateAgreed, out.Record, true, out.Offer
			rel.AgreedDigest = policy.AgreedDigest(out.Record.Agreement.Terms, out.Record.Agreement.Obligations)
			detail := "own terms accepted"
			if out.Offer != nil {
				detail = "offer " + out.Offer.ID
			}
			_, err := tx.AppendEvent(site, policy.Event{Type: typ, Time: now, Agreement: out.Record.ID, Detail: detail})
			if err != nil {
				return err
			}
		} else {
			rel.State, rel.Conflicts = store.StateConflict, out.Conflicts
			if rel.Conflicts == nil {
				rel.Conflicts = []policy.Conflict{}
			}
			rel.Verified = rel.Record != nil && policy.VerifyRecord(*rel.Record) == nil
			detail := conflictSummary(out.Conflicts)
			if out.Reason != "" {
				detail = truncate(detail+"; site: "+out.Reason, 1000)
			}
			if _, err := tx.AppendEvent(site, policy.Event{Type: policy.EventConflict, Time: now, Detail: detail}); err != nil {
				return err
			}
		}
		if err := tx.PutRelationship(rel); err != nil {
			return err
		}
		if rel.State != store.StateAgreed || (sameTerms(&user, nowUser) && exception == nowException) {
			return nil
		}
		// The user's terms changed while the site decided (terms.set,
		// exception.*, import): that change's withdrawal check could not see
		// this agreement, so it runs now, in the same write.
		if ended, err = a.recheck(tx, site, "the user changed their terms during the negotiation"); err != nil {
			return err
		}
		cur, err := tx.Relationship(site)
		if err == nil && cur != nil {
			rel = *cur
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if forgotten {
		if out.Record != nil {
			// The site holds an agreement the user can no longer reach:
			// end it now, with the key still in memory.
			w := a.endWithSite(ctx, stopped{site: site, doc: out.Doc, record: out.Record.ID, key: in.Private})
			if w.Error != nil {
				a.Log.Warn().Str("site", site).Str("code", w.Error.Code).Msg("ending the agreement of a site forgotten during the negotiation")
			}
		}
		return nil, proto.Errorf(proto.CodeNotFound, "%s was forgotten while the negotiation ran; nothing was stored and the site was asked to end what it accepted", site)
	}
	if len(ended) > 0 {
		a.endWithSites(ctx, ended)
		if err := a.DB.View(func(tx *store.Tx) error {
			cur, err := tx.Relationship(site)
			if err == nil && cur != nil {
				rel = *cur
			}
			return err
		}); err != nil {
			return nil, err
		}
	}
	if out.Record != nil && rel.State == store.StateAgreed {
		// A new agreement: the user's default may give the site details.
		a.shareOnAgree(ctx, site)
	}
	return rel, nil
}

// termsChangedDetail is a terms-changed event's detail: its changes in
// words, or why there are none.
func termsChangedDetail(before *policy.TermsDocument, changes []policy.TermChange) string {
	switch {
	case before == nil:
		return "the earlier terms were not kept, so what changed is unknown"
	case len(changes) == 0:
		return "no offer changed (other parts of the terms document did)"
	}
	return policy.ChangesWords(changes, 1000)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// recordFailure counts a failure to reach site so that the next attempt,
// from any host process, waits. Store errors here are logged, not returned:
// the site error is what the caller needs.
func (a *Agent) recordFailure(site string, err error) {
	var ne *negotiate.Error
	if !errors.As(err, &ne) {
		return
	}
	now := a.now()
	uerr := a.DB.Update(func(tx *store.Tx) error {
		b, err := tx.Backoff(site)
		if err != nil {
			return err
		}
		if b == nil {
			b = &store.Backoff{}
		}
		b.Failures++
		wait := BackoffBase << min(b.Failures-1, 20)
		if wait > BackoffMax || wait <= 0 {
			wait = BackoffMax
		}
		// A site that said how long to wait is not asked sooner.
		wait = max(wait, ne.RetryAfter)
		b.Next = now.Add(wait)
		b.LastError = truncate(ne.Code+": "+ne.Error(), 500)
		return tx.PutBackoff(site, *b)
	})
	if uerr != nil {
		a.Log.Warn().Err(uerr).Str("site", site).Msg("recording backoff")
	}
}

// agreed loads site's relationship, which must be agreed, and its key.
func (a *Agent) agreed(site string) (*store.Relationship, ed25519.PrivateKey, error) {
	var rel *store.Relationship
	var key *store.Key
	err := a.DB.View(func(tx *store.Tx) error {
		var err error
		if rel, err = tx.Relationship(site); err != nil {
			return err
		}
		key, err = tx.Key(site)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if rel == nil {
		return nil, nil, proto.Errorf(proto.CodeNotFound, "no relationship with %s", site)
	}
	if rel.State != store.StateAgreed || rel.Record == nil || rel.SiteTerms == nil {
		return rel, nil, proto.Errorf(proto.CodeNoAgreement, "no agreement in force with %s (state %s)", site, rel.State)
	}
	if key == nil {
		return rel, nil, proto.Errorf(proto.CodeNoAgreement, "no key for %s on this machine (imported relationship?)", site)
	}
	return rel, key.Private, nil
}

// dataFetch handles data.fetch {site}: a signed data-return request.
func (a *Agent) dataFetch(ctx context.Context, raw json.RawMessage) (any, error) {
	site, err := decodeSite(raw)
	if err != nil {
		return nil, err
	}
	rel, priv, err := a.agreed(site)
	if err != nil {
		return nil, err
	}
	dr, err := a.Client.DataReturn(ctx, site, rel.SiteTerms, rel.Record.ID, priv)
	if err != nil {
		a.siteAnswered(site, rel.Record.ID, err)
		return nil, err
	}
	return a.dataReturned(site, rel.Record.ID, ViaHost, dr)
}

// dataRequest handles data.request {site}: it signs a data-return request
// for the extension to send from the browser. Sent from there, the request
// carries the site's own first-party cookie, which is how the site links
// the browsing it recorded to the relationship; the host never has it.
func (a *Agent) dataRequest(_ context.Context, raw json.RawMessage) (any, error) {
	site, err := decodeSite(raw)
	if err != nil {
		return nil, err
	}
	rel, priv, err := a.agreed(site)
	if err != nil {
		return nil, err
	}
	target, body, err := a.Client.SignedRequest(site, rel.SiteTerms.Endpoints.DataReturn, policy.RequestDataReturn, rel.Record.ID, priv)
	if err != nil {
		return nil, err
	}
	return proto.DataRequest{URL: target, ContentType: policy.MediaType, Body: string(body)}, nil
}

// dataAccept handles data.accept {site, body}: the site's answer to a
// request from data.request, checked as strictly as data.fetch checks its
// own, then recorded in the history.
func (a *Agent) dataAccept(_ context.Context, raw json.RawMessage) (any, error) {
	p, err := decode[proto.DataAcceptParams](raw)
	if err != nil {
		return nil, err
	}
	site, err := parseSite(p.Site)
	if err != nil {
		return nil, err
	}
	rel, _, err := a.agreed(site)
	if err != nil {
		return nil, err
	}
	if p.Status != 0 {
		if err := negotiate.CheckAnswer(p.Status, p.ContentType, []byte(p.Body)); err != nil {
			a.siteAnswered(site, rel.Record.ID, err)
			return nil, err
		}
	}
	dr, err := negotiate.CheckDataReturn([]byte(p.Body), rel.Record.ID)
	if err != nil {
		return nil, err
	}
	return a.dataReturned(site, rel.Record.ID, ViaBrowser, dr)
}

// relationshipEnd handles relationship.end {site}. The relationship ends
// locally even when the site cannot be reached; the site's outcome is in
// the returned relationship's error (null when the site confirmed).
func (a *Agent) relationshipEnd(ctx context.Context, raw json.RawMessage) (any, error) {
	site, err := decodeSite(raw)
	if err != nil {
		return nil, err
	}
	rel, priv, err := a.agreed(site)
	if err != nil {
		var pe *proto.Error
		if rel != nil && rel.State == store.StateEnded && errors.As(err, &pe) && pe.Code == proto.CodeNoAgreement {
			return rel, nil // already ended
		}
		return nil, err
	}
	var siteErr *store.RelationshipError
	detail := "ended; site confirmed"
	if eerr := a.Client.End(ctx, site, rel.SiteTerms, rel.Record.ID, priv); eerr != nil {
		pe := toProto(eerr)
		siteErr = &store.RelationshipError{Code: pe.Code, Message: pe.Message}
		detail = truncate("ended locally; site: "+pe.Code+": "+pe.Message, 1000)
		if code := negotiate.SiteCode(eerr); code == policy.CodeNotFound || code == policy.CodeEnded {
			detail = truncate("ended; the site had already ended it: "+pe.Message, 1000)
		}
	}
	now := a.now().Truncate(time.Second)
	var out store.Relationship
	err = a.DB.Update(func(tx *store.Tx) error {
		cur, err := tx.Relationship(site)
		if err != nil {
			return err
		}
		if cur == nil {
			return proto.Errorf(proto.CodeNotFound, "relationship with %s was forgotten meanwhile", site)
		}
		cur.State, cur.AgreedDigest, cur.Updated, cur.Error, cur.EndedBy = store.StateEnded, "", now, siteErr, store.EndedByUser
		if _, err := tx.AppendEvent(site, policy.Event{Type: policy.EventEnded, Time: now, Agreement: rel.Record.ID, Detail: detail}); err != nil {
			return err
		}
		out = *cur
		return tx.PutRelationship(*cur)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
