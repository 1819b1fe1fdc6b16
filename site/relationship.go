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
	sr, err := v.store.GetRecord(recordID)
	if err != nil {
		return err
	}
	err = v.store.Exchange(sr.Record.Agreement.UserKey, func(tx Tx) error {
		return v.end(tx, recordID, "site", "ended by the site: "+reason)
	})
	if err == nil {
		v.notifyEnded(recordID, "site")
	}
	return err
}

// end marks the record ended and says so in its history, through tx.
func (v *Vendor) end(tx Tx, recordID, by, detail string) error {
	sr, err := tx.GetRecord(recordID)
	if err != nil {
		return err
	}
	if !sr.Ended.IsZero() {
		return ErrEnded
	}
	now := v.now()
	if err := tx.EndRecord(recordID, now.UTC().Truncate(time.Second), by); err != nil {
		return err
	}
	if len(detail) > 1000 {
		detail = detail[:1000]
	}
	v.logf("relationship %s %s", short(recordID), detail)
	_, err = appendEvent(tx, sr.Record.Agreement.UserKey, nil, policy.Event{Type: policy.EventEnded, Time: now, Agreement: recordID, Detail: detail})
	return err
}

// signed answers a data-return or end request body, making the checks of
// PROTOCOL.md 13 in their order: strict parsing and a type that is this
// endpoint's (malformed, invalid); the nonce cache (the stored answer, or
// replay); the record (404 not_found); the signature with the record's user
// key (bad_signature); freshness (stale); the record not ended (410 ended).
// Every answer given once the signature verified is stored under the nonce,
// so a retry of the same body gets it again.
//
// The record lookup, signature and freshness checks run first, outside
// any transaction; then prepare (if any) may read the store for the
// answer. The nonce cache, the end check and handle, which makes the
// answer of a request that passed every check, run in one Store.Exchange
// on the relationship, with the nonce stored.
func (v *Vendor) signed(body []byte, typ string, prepare func(*policy.SignedRequest, StoredRecord) error,
	handle func(Tx, *policy.SignedRequest, StoredRecord) (answer, error)) answer {
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
	seenAnswer := func(prev Nonce) answer {
		if prev.BodyDigest == bodyDigest && prev.Status != 0 {
			return answer{prev.Status, prev.Answer}
		}
		return errorAnswer(http.StatusBadRequest, policy.CodeReplay, "this nonce was already used with a different request", "")
	}
	var fail *answer
	verified := false
	sr, err := v.store.GetRecord(req.Record)
	if errors.Is(err, ErrNotFound) {
		a := errorAnswer(http.StatusNotFound, policy.CodeNotFound, "this site has no record "+req.Record, "")
		fail = &a
	} else if err != nil {
		return errorAnswer(http.StatusInternalServerError, policy.CodeInvalid, "the site cannot read its records", "")
	} else if pub, err := policy.DecodeKey(sr.Record.Agreement.UserKey); err != nil {
		return errorAnswer(http.StatusInternalServerError, policy.CodeInvalid, "the stored record is damaged", "")
	} else if err := policy.VerifyRequest(*req, pub); err != nil {
		a := parseFailure(err)
		fail = &a
	} else {
		verified = true
		if err := policy.CheckFresh(req.Created, now); err != nil {
			a := parseFailure(err)
			fail = &a
		}
	}
	if !verified {
		// Nothing to store: only the nonce cache can change the answer.
		if prev, seen, err := v.store.GetNonce(key); err != nil {
			return errorAnswer(http.StatusInternalServerError, policy.CodeInvalid, "the site cannot check the nonce", "")
		} else if seen {
			return seenAnswer(prev)
		}
		return *fail
	}
	if fail == nil && prepare != nil {
		if err := prepare(req, sr); err != nil {
			v.logf("← %s record=%s  → cannot read the store: %v", typ, short(req.Record), err)
			return errorAnswer(http.StatusInternalServerError, policy.CodeInvalid, "the site cannot read its data", "")
		}
	}
	var ans answer
	err = v.store.Exchange(sr.Record.Agreement.UserKey, func(tx Tx) error {
		prev, seen, err := tx.GetNonce(key)
		if err != nil {
			return err
		}
		if seen {
			ans = seenAnswer(prev)
			return nil
		}
		if fail != nil {
			ans = *fail
		} else if cur, err := tx.GetRecord(req.Record); err != nil {
			return err
		} else if !cur.Ended.IsZero() {
			ans = errorAnswer(http.StatusGone, policy.CodeEnded, fmt.Sprintf("the relationship was ended by the %s at %s", cur.EndedBy, cur.Ended.Format(time.RFC3339)), "")
		} else if ans, err = handle(tx, req, cur); err != nil {
			return err
		}
		if ans.status >= 500 {
			return nil
		}
		return tx.AddNonce(Nonce{Nonce: key, BodyDigest: bodyDigest, Status: ans.status, Answer: ans.body, Expires: req.Created.Add(2 * policy.MaxClockSkew)})
	})
	if err != nil {
		v.logf("← %s record=%s  → cannot store: %v", typ, short(req.Record), err)
		return errorAnswer(http.StatusInternalServerError, policy.CodeInvalid, "the site cannot store the request", "")
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
	var (
		session string // the browser session to link, if any
		dr      policy.DataReturn
		ready   answer
	)
	// The items are read before the exchange, which links the session and
	// records the return: a store's exchange holds no other reads open.
	prepare := func(req *policy.SignedRequest, sr StoredRecord) error {
		rel := sr.Record.Agreement.UserKey
		if c, err := r.Cookie(v.sessionCookie); err == nil && v.sessionCookie != "-" && v.issuedSession(c.Value) &&
			trackRank(sr.Record.Agreement.Terms.Tracking) >= trackRank(policy.TrackingFirstParty) {
			session = c.Value
		}
		more, err := v.hookItems(sr, session)
		if err != nil {
			return err
		}
		items, err := v.items(rel, req.Record, session, more)
		if err != nil {
			return err
		}
		doc, _, _ := v.Terms()
		dr = policy.DataReturn{V: policy.Version, Record: req.Record, Controller: doc.Controller, Generated: v.now().UTC().Truncate(time.Second), Items: items}
		ready = fitDataReturn(&dr)
		return nil
	}
	ans := v.signed(body, policy.RequestDataReturn, prepare, func(tx Tx, req *policy.SignedRequest, sr StoredRecord) (answer, error) {
		rel := sr.Record.Agreement.UserKey
		if session != "" {
			if err := tx.Link(session, rel); err != nil {
				return answer{}, err
			}
		}
		_, err := appendEvent(tx, rel, nil, policy.Event{Type: policy.EventDataReturned, Time: dr.Generated, Agreement: req.Record, Detail: fmt.Sprintf("returned %d items", len(dr.Items))})
		return ready, err
	})
	if ans.status != http.StatusOK {
		v.logf("← data-return → %s", firstLine(ans.body))
	} else {
		linked := ""
		if session != "" {
			linked = " (linked this browser session)"
		}
		v.logf("← data-return record=%s  → %d items%s", short(dr.Record), len(dr.Items), linked)
	}
	ans.write(w)
}

// items gathers a relationship's items, with those of the session being
// linked to it (if any), oldest first, at most the 1000 newest (the
// data-return document's limit), but always with the "agreement" item of
// the record asked about (PROTOCOL.md 13.1). more (what Config.Items
// answered) joins the store's items.
func (v *Vendor) items(rel, record, linking string, more []policy.DataItem) ([]policy.DataItem, error) {
	items, err := v.store.Items(relSubject(rel))
	if err != nil {
		return nil, err
	}
	items = append(items, more...)
	sessions, err := v.store.Sessions(rel)
	if err != nil {
		return nil, err
	}
	if linking != "" && !slices.Contains(sessions, linking) {
		sessions = append(sessions, linking)
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
	ans := v.signed(body, policy.RequestEnd, nil, func(tx Tx, req *policy.SignedRequest, _ StoredRecord) (answer, error) {
		ended = ""
		if err := v.end(tx, req.Record, "user", "ended by the user"); err != nil {
			return answer{}, err
		}
		ended = req.Record
		return jsonAnswer(http.StatusOK, policy.EndAnswer{V: policy.Version, Status: policy.StatusEnded, Record: req.Record}), nil
	})
	if ans.status != http.StatusOK {
		v.logf("← end → %s", firstLine(ans.body))
	}
	ans.write(w)
	if ended != "" && ans.status == http.StatusOK {
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
