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
	defer v.exchange.Unlock()
	return v.end(recordID, "site", "ended by the site: "+reason)
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

// signedRequest parses and authenticates a data-return or end request,
// returning its record, or the error answer. Callers hold v.exchange.
func (v *Vendor) signedRequest(body []byte, typ string) (*policy.SignedRequest, StoredRecord, *answer) {
	fail := func(a answer) (*policy.SignedRequest, StoredRecord, *answer) { return nil, StoredRecord{}, &a }
	req, err := policy.ParseSignedRequest(body)
	if err != nil {
		return fail(parseFailure(err))
	}
	if req.Type != typ {
		return fail(errorAnswer(http.StatusBadRequest, policy.CodeInvalid, fmt.Sprintf("type: this endpoint takes %q requests", typ), ""))
	}
	sr, err := v.store.GetRecord(req.Record)
	if errors.Is(err, ErrNotFound) {
		return fail(errorAnswer(http.StatusNotFound, policy.CodeNotFound, "this site has no record "+req.Record, ""))
	} else if err != nil {
		return fail(errorAnswer(http.StatusInternalServerError, policy.CodeInvalid, "the site cannot read its records", ""))
	}
	pub, err := policy.DecodeKey(sr.Record.Agreement.UserKey)
	if err != nil {
		return fail(errorAnswer(http.StatusInternalServerError, policy.CodeInvalid, "the stored record is damaged", ""))
	}
	if err := policy.VerifyRequest(*req, pub); err != nil {
		return fail(parseFailure(err))
	}
	now := v.now()
	if err := policy.CheckFresh(req.Created, now); err != nil {
		return fail(parseFailure(err))
	}
	v.forgetNonces(now)
	key := "request:" + req.Nonce
	if _, seen, err := v.store.GetNonce(key); err != nil {
		return fail(errorAnswer(http.StatusInternalServerError, policy.CodeInvalid, "the site cannot check the nonce", ""))
	} else if seen {
		return fail(errorAnswer(http.StatusBadRequest, policy.CodeReplay, "this nonce was already used", ""))
	}
	if err := v.store.PutNonce(Nonce{Nonce: key, BodyDigest: policy.Digest(body), Expires: req.Created.Add(2 * policy.MaxClockSkew)}); err != nil {
		return fail(errorAnswer(http.StatusInternalServerError, policy.CodeInvalid, "the site cannot store the nonce", ""))
	}
	if !sr.Ended.IsZero() {
		return fail(errorAnswer(http.StatusGone, policy.CodeEnded, fmt.Sprintf("the relationship was ended by the %s at %s", sr.EndedBy, sr.Ended.Format(time.RFC3339)), ""))
	}
	return req, sr, nil
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
	req, sr, fail := v.signedRequest(body, policy.RequestDataReturn)
	if fail != nil {
		v.logf("← data-return → %s", firstLine(fail.body))
		fail.write(w)
		return
	}
	rel := sr.Record.Agreement.UserKey
	linked := ""
	if c, err := r.Cookie(v.sessionCookie); err == nil && v.sessionCookie != "-" && v.issuedSession(c.Value) &&
		trackRank(sr.Record.Agreement.Terms.Tracking) >= trackRank(policy.TrackingFirstParty) {
		if err := v.store.Link(c.Value, rel); err == nil {
			linked = " (linked this browser session)"
		}
	}
	items, err := v.items(rel)
	if err != nil {
		writeError(w, http.StatusInternalServerError, policy.CodeInvalid, "the site cannot read its data", "")
		return
	}
	now := v.now().UTC().Truncate(time.Second)
	doc, _, _ := v.Terms()
	v.appendHistory(rel, policy.Event{Type: policy.EventDataReturned, Time: now, Agreement: req.Record, Detail: fmt.Sprintf("returned %d items", len(items))})
	v.logf("← data-return record=%s  → %d items%s", short(req.Record), len(items), linked)
	jsonAnswer(http.StatusOK, policy.DataReturn{V: policy.Version, Record: req.Record, Controller: doc.Controller, Generated: now, Items: items}).write(w)
}

// items gathers a relationship's items, oldest first, at most the 1000
// newest (the data-return document's limit).
func (v *Vendor) items(rel string) ([]policy.DataItem, error) {
	items, err := v.store.Items(relSubject(rel))
	if err != nil {
		return nil, err
	}
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
	if len(items) > 1000 {
		items = items[len(items)-1000:]
	}
	if items == nil {
		items = []policy.DataItem{}
	}
	return slices.Clip(items), nil
}

func (v *Vendor) serveEnd(w http.ResponseWriter, r *http.Request) {
	body, ok := v.readMessage(w, r)
	if !ok {
		return
	}
	v.exchange.Lock()
	defer v.exchange.Unlock()
	req, _, fail := v.signedRequest(body, policy.RequestEnd)
	if fail != nil {
		v.logf("← end → %s", firstLine(fail.body))
		fail.write(w)
		return
	}
	if err := v.end(req.Record, "user", "ended by the user"); err != nil {
		writeError(w, http.StatusInternalServerError, policy.CodeInvalid, "the site cannot end the relationship", "")
		return
	}
	jsonAnswer(http.StatusOK, policy.EndAnswer{V: policy.Version, Status: policy.StatusEnded, Record: req.Record}).write(w)
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
