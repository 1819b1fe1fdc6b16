package site

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/rbutton/rbutton/policy"
)

// ErrNoRelationship is returned by Vendor.Record when the request cannot be
// attributed to an agreement that permits recording it.
var ErrNoRelationship = errors.New("site: request has no agreement permitting this record")

// ErrEnded is returned for a relationship that has ended.
var ErrEnded = errors.New("site: relationship ended")

// Record files an item (a page view, a purchase, a preference) about the
// visitor making r, so that a data return can give it back. It needs the
// request to have passed through Middleware with a recognised agreement
// permitting tracking, which is what gives the visitor a first-party
// session: items are filed under that session and returned to the
// relationship the session is linked to (see the data-return endpoint).
// Without it, Record stores nothing and returns ErrNoRelationship.
func (v *Vendor) Record(r *http.Request, item policy.DataItem) error {
	s := SignalsFrom(r.Context())
	if !s.Recognised || s.Session == "" {
		return ErrNoRelationship
	}
	if item.Time.IsZero() {
		item.Time = v.now()
	}
	item.Time = item.Time.UTC().Truncate(time.Second)
	return v.store.AddItem(sessionSubject(s.Session), item)
}

// RecordFor files an item directly under the relationship of a record, for
// vendors who know the relationship some other way (an account, an order).
func (v *Vendor) RecordFor(recordID string, item policy.DataItem) error {
	sr, err := v.store.GetRecord(recordID)
	if err != nil {
		return err
	}
	if item.Time.IsZero() {
		item.Time = v.now()
	}
	item.Time = item.Time.UTC().Truncate(time.Second)
	return v.store.AddItem(relSubject(sr.Record.Agreement.UserKey), item)
}

// End ends a relationship from the vendor's side: the record is marked
// ended, the history says why, and data-return and end requests for it get
// 410 ended. The agent learns of it when it next asks.
func (v *Vendor) End(recordID, reason string) error {
	v.exchange.Lock()
	err := v.end(recordID, "site", "ended by the site: "+reason)
	v.exchange.Unlock()
	if err == nil {
		v.notifyEnded(recordID, "site")
	}
	return err
}

// end marks the record ended. Callers hold v.exchange.
func (v *Vendor) end(recordID, by, detail string) error {
	sr, err := v.store.GetRecord(recordID)
	if err != nil {
		return err
	}
	if !sr.Ended.IsZero() {
		return ErrEnded
	}
	now := v.now()
	sr.Ended, sr.EndedBy = now.UTC().Truncate(time.Second), by
	if err := v.store.PutRecord(sr); err != nil {
		return err
	}
	if len(detail) > 1000 {
		detail = detail[:1000]
	}
	v.logf("relationship %s %s", short(recordID), detail)
	return v.appendHistory(sr.Record.Agreement.UserKey, policy.Event{Type: policy.EventEnded, Time: now, Agreement: recordID, Detail: detail})
}

// signed answers a data-return or end request body, making the checks of
// PROTOCOL.md 13 in their order: strict parsing and a type that is this
// endpoint's (malformed, invalid); the nonce cache (the stored answer, or
// replay); the record (404 not_found); the signature with the record's user
// key (bad_signature); freshness (stale); the record not ended (410 ended).
// handle makes the answer of a request that passed them all. Every answer
// given once the signature verified is stored under the nonce, so a retry
// of the same body gets it again. Callers hold v.exchange.
func (v *Vendor) signed(body []byte, typ string, handle func(*policy.SignedRequest, StoredRecord) answer) answer {
	req, err := policy.ParseSignedRequest(body)
	if err != nil {
		return parseFailure(err)
	}
	if req.Type != typ {
		return errorAnswer(http.StatusBadRequest, policy.CodeInvalid, fmt.Sprintf("type: this endpoint takes %q requests, not %q", typ, req.Type), "")
	}
	now := v.now()
	v.forgetNonces(now)
	key, bodyDigest := "request:"+req.Nonce, policy.Digest(body)
	if prev, seen, err := v.store.GetNonce(key); err != nil {
		return errorAnswer(http.StatusInternalServerError, policy.CodeInvalid, "the site cannot check the nonce", "")
	} else if seen {
		if prev.BodyDigest == bodyDigest && prev.Status != 0 {
			return answer{prev.Status, prev.Answer}
		}
		return errorAnswer(http.StatusBadRequest, policy.CodeReplay, "this nonce was already used with a different request", "")
	}
	sr, err := v.store.GetRecord(req.Record)
	if errors.Is(err, ErrNotFound) {
		return errorAnswer(http.StatusNotFound, policy.CodeNotFound, "this site has no record "+req.Record, "")
	} else if err != nil {
		return errorAnswer(http.StatusInternalServerError, policy.CodeInvalid, "the site cannot read its records", "")
	}
	pub, err := policy.DecodeKey(sr.Record.Agreement.UserKey)
	if err != nil {
		return errorAnswer(http.StatusInternalServerError, policy.CodeInvalid, "the stored record is damaged", "")
	}
	if err := policy.VerifyRequest(*req, pub); err != nil {
		return parseFailure(err)
	}
	if err := policy.CheckFresh(req.Created, now); err != nil {
		return parseFailure(err)
	}
	var ans answer
	if !sr.Ended.IsZero() {
		ans = errorAnswer(http.StatusGone, policy.CodeEnded, fmt.Sprintf("the relationship was ended by the %s at %s", sr.EndedBy, sr.Ended.Format(time.RFC3339)), "")
	} else {
		ans = handle(req, sr)
	}
	if ans.status < 500 {
		n := Nonce{Nonce: key, BodyDigest: bodyDigest, Status: ans.status, Answer: ans.body, Expires: req.Created.Add(2 * policy.MaxClockSkew)}
		if err := v.store.PutNonce(n); err != nil {
			v.logf("cannot store nonce: %v", err)
		}
	}
	return ans
}

// serveDataReturn answers a signed data-return request with every item the
// vendor holds for the relationship: items filed against it (RecordFor and
// the agreement itself) and items recorded from browser sessions linked to
// it.
//
// Linking: the request is authenticated by the user's pairwise key, and
// carries no cookies when the native agent sends it. If the agent sends it
// from the browser with the site's own cookies (credentials "include") and
// the agreement permits first-party tracking, the vendor's session cookie
// is linked to the relationship here, so its page views are returned now
// and later. A session-only agreement never links: sessions stay separate.
func (v *Vendor) serveDataReturn(w http.ResponseWriter, r *http.Request) {
	body, ok := v.readMessage(w, r)
	if !ok {
		return
	}
	v.exchange.Lock()
	defer v.exchange.Unlock()
	ans := v.signed(body, policy.RequestDataReturn, func(req *policy.SignedRequest, sr StoredRecord) answer {
		rel := sr.Record.Agreement.UserKey
		linked := ""
		if c, err := r.Cookie(v.sessionCookie); err == nil && v.sessionCookie != "-" && v.issuedSession(c.Value) &&
			trackRank(sr.Record.Agreement.Terms.Tracking) >= trackRank(policy.TrackingFirstParty) {
			if err := v.store.Link(c.Value, rel); err == nil {
				linked = " (linked this browser session)"
			}
		}
		more, err := v.hookItems(sr)
		if err != nil {
			v.logf("← data-return record=%s  → cannot gather the items: %v", short(req.Record), err)
			return errorAnswer(http.StatusInternalServerError, policy.CodeInvalid, "the site cannot gather its data", "")
		}
		items, err := v.items(rel, req.Record, more)
		if err != nil {
			return errorAnswer(http.StatusInternalServerError, policy.CodeInvalid, "the site cannot read its data", "")
		}
		now := v.now().UTC().Truncate(time.Second)
		doc, _, _ := v.Terms()
		dr := policy.DataReturn{V: policy.Version, Record: req.Record, Controller: doc.Controller, Generated: now, Items: items}
		ans := fitDataReturn(&dr)
		v.appendHistory(rel, policy.Event{Type: policy.EventDataReturned, Time: now, Agreement: req.Record, Detail: fmt.Sprintf("returned %d items", len(dr.Items))})
		v.logf("← data-return record=%s  → %d items%s", short(req.Record), len(dr.Items), linked)
		return ans
	})
	if ans.status != http.StatusOK {
		v.logf("← data-return → %s", firstLine(ans.body))
	}
	ans.write(w)
}

// items gathers a relationship's items, oldest first, at most the 1000
// newest (the data-return document's limit), but always with the
// "agreement" item of the record asked about (PROTOCOL.md 13.1). more
// (what Config.Items answered) joins the store's items.
func (v *Vendor) items(rel, record string, more []policy.DataItem) ([]policy.DataItem, error) {
	items, err := v.store.Items(relSubject(rel))
	if err != nil {
		return nil, err
	}
	items = append(items, more...)
	sessions, err := v.store.Sessions(rel)
	if err != nil {
		return nil, err
	}
	for _, s := range sessions {
		more, err := v.store.Items(sessionSubject(s))
		if err != nil {
			return nil, err
		}
		items = append(items, more...)
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].Time.Before(items[j].Time) })
	if len(items) > maxItems {
		own := slices.IndexFunc(items, func(it policy.DataItem) bool { return it.Type == itemAgreement && it.Data["record"] == record })
		if own >= 0 && own < len(items)-maxItems {
			items = append([]policy.DataItem{items[own]}, items[len(items)-maxItems+1:]...)
		} else {
			items = items[len(items)-maxItems:]
		}
	}
	if items == nil {
		items = []policy.DataItem{}
	}
	return slices.Clip(items), nil
}

// fitDataReturn encodes dr, dropping its oldest items (never the first,
// the agreement item items puts first when it had to choose) until the
// document fits the 64 KiB every DNT-D body is limited to (PROTOCOL.md
// 10.8, 13.1). It leaves dr.Items as returned.
func fitDataReturn(dr *policy.DataReturn) answer {
	a := jsonAnswer(http.StatusOK, dr)
	for len(a.body) > policy.MaxMessage && len(dr.Items) > 1 {
		keep := 0
		if dr.Items[0].Type == itemAgreement && dr.Items[0].Data["record"] == dr.Record {
			keep = 1
		}
		// Drop roughly what is over, at least one item.
		over := len(a.body) - policy.MaxMessage
		per := len(a.body) / len(dr.Items)
		n := max(1, min(over/max(per, 1)+1, len(dr.Items)-keep-1))
		if len(dr.Items)-keep <= 1 {
			break
		}
		dr.Items = append(dr.Items[:keep:keep], dr.Items[keep+n:]...)
		a = jsonAnswer(http.StatusOK, dr)
	}
	return a
}

// maxItems is the most items a data return holds (PROTOCOL.md 13.1).
const maxItems = 1000

// itemAgreement is the item type of the agreement itself (PROTOCOL.md 13.1).
const itemAgreement = "agreement"

func (v *Vendor) serveEnd(w http.ResponseWriter, r *http.Request) {
	body, ok := v.readMessage(w, r)
	if !ok {
		return
	}
	ended := "" // the record this request ended, for the Ended hook
	ans := func() answer {
		v.exchange.Lock()
		defer v.exchange.Unlock()
		return v.signed(body, policy.RequestEnd, func(req *policy.SignedRequest, _ StoredRecord) answer {
			if err := v.end(req.Record, "user", "ended by the user"); err != nil {
				return errorAnswer(http.StatusInternalServerError, policy.CodeInvalid, "the site cannot end the relationship", "")
			}
			ended = req.Record
			return jsonAnswer(http.StatusOK, policy.EndAnswer{V: policy.Version, Status: policy.StatusEnded, Record: req.Record})
		})
	}()
	if ans.status != http.StatusOK {
		v.logf("← end → %s", firstLine(ans.body))
	}
	ans.write(w)
	if ended != "" {
		v.notifyEnded(ended, "user")
	}
}

func firstLine(b []byte) string {
	s := string(b)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}
