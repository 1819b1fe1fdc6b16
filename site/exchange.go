package site

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/rbutton/rbutton/policy"
)

// answer is an HTTP status and JSON body, kept with a nonce so that a
// retried proposal gets exactly the same bytes.
type answer struct {
	status int
	body   []byte
}

func jsonAnswer(status int, v any) answer {
	b, err := json.Marshal(v)
	if err != nil {
		return errorAnswer(http.StatusInternalServerError, policy.CodeInvalid, "cannot encode the answer", "")
	}
	return answer{status, append(b, '\n')}
}

func errorAnswer(status int, code, msg, digest string) answer {
	b, _ := json.Marshal(policy.ErrorDocument{V: policy.Version, Error: code, Message: msg, TermsDigest: digest})
	return answer{status, append(b, '\n')}
}

func (a answer) write(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", policy.MediaType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(a.status)
	w.Write(a.body)
}

func writeError(w http.ResponseWriter, status int, code, msg, digest string) {
	errorAnswer(status, code, msg, digest).write(w)
}

// readMessage makes the checks of PROTOCOL.md 10.7 that every POST endpoint
// makes before reading a message, in its order: the host, the rate limit,
// POST, the media type, the size limit. It returns the body, or writes the
// error answer and returns ok=false.
func (v *Vendor) readMessage(w http.ResponseWriter, r *http.Request) (body []byte, ok bool) {
	if !v.ownHost(w, r) || !v.admit(w, r) || !allowMethods(w, r, http.MethodPost) {
		return nil, false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != policy.MediaType {
		writeError(w, http.StatusUnsupportedMediaType, policy.CodeMalformed, "Content-Type must be "+policy.MediaType, "")
		return nil, false
	}
	tooLarge := func() {
		writeError(w, http.StatusRequestEntityTooLarge, policy.CodeTooLarge, fmt.Sprintf("the body exceeds %d bytes", policy.MaxRequest), "")
	}
	// A declared length over the limit is refused unread; otherwise the
	// buffer is sized once, so a body costs one allocation of its own size.
	if r.ContentLength > policy.MaxRequest {
		tooLarge()
		return nil, false
	}
	body, err = readAll(http.MaxBytesReader(w, r.Body, policy.MaxRequest), r.ContentLength)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			tooLarge()
		} else {
			writeError(w, http.StatusBadRequest, policy.CodeMalformed, "cannot read the body", "")
		}
		return nil, false
	}
	return body, true
}

// readAll is io.ReadAll starting from a buffer of the declared length
// (sizeHint, -1 if unknown), which the caller has already bounded.
func readAll(r io.Reader, sizeHint int64) ([]byte, error) {
	b := make([]byte, 0, max(sizeHint, 511)+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// ownHost answers 421 wrong_host unless the request's Host (":authority" in
// HTTP/2) names the vendor's own origin (PROTOCOL.md 10.7, 15: a page that
// rebinds its name to the vendor's address must not reach the endpoints).
// Host and origin are compared canonically: case and default port aside.
func (v *Vendor) ownHost(w http.ResponseWriter, r *http.Request) bool {
	scheme, _, _ := strings.Cut(v.origin, "://")
	if o, err := policy.ParseOrigin(scheme + "://" + r.Host); err == nil && o == v.origin && r.Host != "" {
		return true
	}
	writeError(w, http.StatusMisdirectedRequest, policy.CodeWrongHost, fmt.Sprintf("this is %s; the request named the host %q", v.origin, r.Host), "")
	return false
}

// allowMethods answers 405 method_not_allowed, with Allow, unless r's method
// is one of methods (GET also allows HEAD).
func allowMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	allow := methods
	for _, m := range methods {
		if r.Method == m || (m == http.MethodGet && r.Method == http.MethodHead) {
			return true
		}
		if m == http.MethodGet {
			allow = append(slices.Clone(methods), http.MethodHead)
		}
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeError(w, http.StatusMethodNotAllowed, policy.CodeMethodNotAllowed, "this endpoint takes "+strings.Join(allow, " or "), "")
	return false
}

// parseFailure turns a policy parse or verification error into an answer.
func parseFailure(err error) answer {
	code := policy.WireErrorCode(err)
	if code == "" {
		code = policy.CodeInvalid
	}
	status := http.StatusBadRequest
	if code == policy.CodeTooLarge {
		status = http.StatusRequestEntityTooLarge
	}
	return errorAnswer(status, code, err.Error(), "")
}

func (v *Vendor) serveAgreement(w http.ResponseWriter, r *http.Request) {
	body, ok := v.readMessage(w, r)
	if !ok {
		return
	}
	a := v.propose(body)
	a.write(w)
}

// propose handles one proposal body and returns the HTTP status and JSON
// answer, checking it in the order of PROTOCOL.md 10.3: strict parsing
// (malformed, invalid), the nonce cache (the stored answer, or replay), then
// policy.CheckProposal (site and key, terms digest, freshness, signature,
// offer) and the decision.
//
// The checks cost CPU only and run before any store transaction; the nonce
// cache is read, and the decision written with the nonce that remembers
// it, in one Store.Exchange on the proposer's relationship.
func (v *Vendor) propose(body []byte) answer {
	p, err := policy.ParseProposal(body)
	if err != nil {
		v.logf("← proposal: rejected: %v", err)
		return parseFailure(err)
	}
	now := v.now()
	bodyDigest := policy.Digest(body)
	v.forgetNonces(now)
	key := "proposal:" + p.Agreement.Nonce
	doc, _, digest := v.Terms()
	var checked *answer // the answer of a failed check
	if err := policy.CheckProposal(p, v.origin, doc, digest, now); err != nil {
		code := policy.WireErrorCode(err)
		if code == "" {
			code = policy.CodeInvalid
		}
		td := ""
		if code == policy.CodeTermsChanged {
			td = digest
		}
		ans := errorAnswer(policy.HTTPStatus(code), code, err.Error(), td)
		checked = &ans
		v.logf("← proposal offer=%s from key=%s  → %s: %v", offerName(p.Agreement.Offer), short(p.Agreement.UserKey), code, err)
		// Only answers given after the signature verified take the nonce
		// (10.3): unknown_offer is the one check that follows it. Any
		// other failure only reads the nonce cache, outside a transaction.
		if code != policy.CodeUnknownOffer {
			if prev, seen, err := v.store.GetNonce(key); err != nil {
				return errorAnswer(http.StatusInternalServerError, policy.CodeInvalid, "the site cannot check the nonce", "")
			} else if seen {
				return v.seenAnswer(p, prev, bodyDigest)
			}
			return ans
		}
	}
	var (
		ans        answer
		summary    string
		agreed     *AgreedTerms
		superseded string // the record the accepted one replaced, ended
	)
	err = v.store.Exchange(p.Agreement.UserKey, func(tx Tx) error {
		ans, summary, agreed, superseded = answer{}, "", nil, ""
		prev, seen, err := tx.GetNonce(key)
		if err != nil {
			return err
		}
		if seen {
			ans = v.seenAnswer(p, prev, bodyDigest)
			return nil
		}
		if checked != nil {
			ans = *checked
		} else if ans, summary, agreed, superseded, err = v.decide(tx, p, doc, now); err != nil {
			return err
		}
		return tx.AddNonce(Nonce{Nonce: key, BodyDigest: bodyDigest, Status: ans.status, Answer: ans.body,
			Expires: p.Agreement.Created.Add(2 * policy.MaxClockSkew)})
	})
	if err != nil {
		v.logf("← proposal offer=%s from key=%s  → cannot store: %v", offerName(p.Agreement.Offer), short(p.Agreement.UserKey), err)
		return errorAnswer(http.StatusInternalServerError, policy.CodeInvalid, "the site cannot store the proposal", "")
	}
	if superseded != "" {
		v.notifyEnded(superseded, "user")
	}
	if agreed != nil {
		v.rememberAgreed(policy.AgreedDigest(agreed.Terms, agreed.Obligations), *agreed)
	}
	if summary != "" {
		v.logf("← proposal offer=%s from key=%s  → %s", offerName(p.Agreement.Offer), short(p.Agreement.UserKey), summary)
	}
	return ans
}

// seenAnswer answers a proposal whose nonce is in the cache: the stored
// answer to the same body, else replay.
func (v *Vendor) seenAnswer(p *policy.Proposal, prev Nonce, bodyDigest string) answer {
	if prev.BodyDigest == bodyDigest {
		v.logf("← proposal offer=%s from key=%s (retry) → same answer", offerName(p.Agreement.Offer), short(p.Agreement.UserKey))
		return answer{prev.Status, prev.Answer}
	}
	v.logf("← proposal from key=%s → replay (nonce reused)", short(p.Agreement.UserKey))
	return errorAnswer(http.StatusBadRequest, policy.CodeReplay, "this nonce was already used with a different proposal", "")
}

func offerName(id string) string {
	if id == "" {
		return "(user terms)"
	}
	return id
}

// decide answers a proposal that passed every check of 10.3 against doc,
// the terms document it was checked against, writing what it decides
// through tx. agreed is set when it accepted the user's own terms,
// superseded when the accepted agreement replaced (and ended) another in
// force with the same key; err is a store failure only.
func (v *Vendor) decide(tx Tx, p *policy.Proposal, doc *policy.TermsDocument, now time.Time) (ans answer, summary string, agreed *AgreedTerms, superseded string, err error) {
	a := p.Agreement
	if a.Offer != "" {
		ans, summary, superseded, err = v.accept(tx, p, now, nil)
		return ans, summary, nil, superseded, err
	}
	user := policy.UserTerms{V: policy.Version, Terms: a.Terms, Obligations: a.Obligations}
	m := policy.Match(user, doc)
	if m.Offer != nil {
		return jsonAnswer(http.StatusOK, policy.Answer{V: policy.Version, Status: policy.StatusCounterOffer, CounterOffer: m.Offer.ID,
				Reason: fmt.Sprintf("our offer %q is within your terms", m.Offer.ID)}),
			"AgreementNegotiationCounterOfferMade offer=" + m.Offer.ID, nil, "", nil
	}
	reason := "none of our offers fits within your terms, and we do not accept yours"
	if v.acceptUser != nil && v.acceptUser(a.Terms, a.Obligations) {
		if v.roomForUserTerms(policy.AgreedDigest(a.Terms, a.Obligations)) {
			agreed = &AgreedTerms{Terms: a.Terms, Obligations: a.Obligations}
			ans, summary, superseded, err = v.accept(tx, p, now, agreed)
			return ans, summary, agreed, superseded, err
		}
		reason = "none of our offers fits within your terms, and we keep no more sets of terms of our visitors' own"
	}
	conflicts := m.Conflicts
	if len(conflicts) > 300 {
		conflicts = conflicts[:300]
	}
	// A refusal is history only for a relationship that exists: a stranger's
	// refused proposal leaves nothing but its nonce, which expires.
	chain, err := tx.History(a.UserKey)
	if err != nil {
		return answer{}, "", nil, "", err
	}
	if len(chain) > 0 {
		if _, err := appendEvent(tx, a.UserKey, chain, policy.Event{Type: policy.EventConflict, Time: now, Detail: "refused the user's terms"}); err != nil {
			return answer{}, "", nil, "", err
		}
	}
	return jsonAnswer(http.StatusOK, policy.Answer{V: policy.Version, Status: policy.StatusRefused,
		Reason: reason, Conflicts: conflicts}), "AgreementRefused", nil, "", nil
}

// roomForUserTerms reports whether the vendor may agree to user terms with
// this agreed digest: terms it already keeps, or while it keeps fewer than
// Config.MaxUserTerms sets (every set is held in memory for Tk and Permits,
// and the retention grammar lets a stranger make endless distinct ones).
func (v *Vendor) roomForUserTerms(digest string) bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	_, known := v.agreed[digest]
	return known || len(v.agreed) < v.maxUserTerms
}

// accept signs and stores the agreement through tx. userTerms is set when
// the vendor accepts the user's own terms rather than one of its offers.
// An agreement in force with the same key for other terms is ended in the
// same transaction, "superseded by" the new record, whose id superseded
// then is: one key holds one agreement in force. err is a store failure
// only.
func (v *Vendor) accept(tx Tx, p *policy.Proposal, now time.Time, userTerms *AgreedTerms) (ans answer, summary, superseded string, err error) {
	a := p.Agreement
	cur, inForce, chain, err := current(tx, a.UserKey)
	if err != nil {
		return answer{}, "", "", err
	}
	if chain == nil {
		chain = []policy.Event{} // read, and empty: appendEvent need not read it again
	}
	if inForce && sameAgreement(cur.Record.Agreement, a) {
		return jsonAnswer(http.StatusOK, policy.Answer{V: policy.Version, Status: policy.StatusAccepted, Record: &cur.Record}),
			"AgreementAccepted (already in force) record=" + short(cur.Record.ID), "", nil
	}
	sig, err := policy.SignAgreement(a, v.priv)
	if err != nil {
		return errorAnswer(http.StatusInternalServerError, policy.CodeInvalid, "the site cannot sign", ""), "error: " + err.Error(), "", nil
	}
	rec, err := policy.NewRecord(a, p.UserSignature, sig)
	if err != nil {
		return errorAnswer(http.StatusInternalServerError, policy.CodeInvalid, "the site cannot make the record", ""), "error: " + err.Error(), "", nil
	}
	if inForce {
		if err := v.end(tx, cur.Record.ID, "user", "superseded by "+rec.ID); err != nil {
			return answer{}, "", "", err
		}
		superseded = cur.Record.ID
		chain = nil // the end is on it now: appendEvent reads it again
	}
	if userTerms != nil {
		if err := tx.PutAgreedTerms(policy.AgreedDigest(a.Terms, a.Obligations), *userTerms); err != nil {
			return answer{}, "", "", err
		}
	}
	if err := tx.AddRecord(StoredRecord{Record: rec}); err != nil {
		return answer{}, "", "", err
	}
	typ := policy.EventNegotiated
	if len(chain) > 0 || superseded != "" {
		typ = policy.EventRenegotiated
	}
	detail := "accepted offer " + a.Offer
	if a.Offer == "" {
		detail = "accepted the user's terms"
	}
	if _, err := appendEvent(tx, a.UserKey, chain, policy.Event{Type: typ, Time: now, Agreement: rec.ID, Detail: detail}); err != nil {
		return answer{}, "", "", err
	}
	item := policy.DataItem{Type: itemAgreement, Time: now.UTC().Truncate(time.Second),
		Data: map[string]string{"record": rec.ID, "termsDigest": a.TermsDigest}}
	if a.Offer != "" {
		item.Data["offer"] = a.Offer
	}
	if err := tx.AddItem(relSubject(a.UserKey), item); err != nil {
		return answer{}, "", "", err
	}
	summary = "AgreementAccepted record=" + short(rec.ID)
	if superseded != "" {
		summary += " superseding " + short(superseded)
	}
	return jsonAnswer(http.StatusOK, policy.Answer{V: policy.Version, Status: policy.StatusAccepted, Record: &rec}), summary, superseded, nil
}

// current returns the record of the agreement in force with userKey, if
// any: the last one negotiated, unless ended; and the relationship's chain
// (one read of it serves the caller too). err is a store failure only.
func current(tx Tx, userKey string) (StoredRecord, bool, []policy.Event, error) {
	chain, err := tx.History(userKey)
	if err != nil {
		return StoredRecord{}, false, nil, err
	}
	for i := len(chain) - 1; i >= 0; i-- {
		switch e := chain[i]; e.Type {
		case policy.EventNegotiated, policy.EventRenegotiated:
			sr, err := tx.GetRecord(e.Agreement)
			if err != nil {
				return StoredRecord{}, false, nil, err
			}
			return sr, sr.Ended.IsZero(), chain, nil
		}
	}
	return StoredRecord{}, false, chain, nil
}

// sameAgreement reports whether a proposal a is for the agreement held: the
// same terms document, offer and agreed terms. A proposal from the key in
// force for the same terms is the same relationship (an agent retrying
// after a lost answer, or after it was killed mid-negotiation): it gets
// that record again, never a second agreement (PROTOCOL.md 10.5).
func sameAgreement(held, a policy.Agreement) bool {
	return held.Site == a.Site && held.SiteKey == a.SiteKey && held.TermsDigest == a.TermsDigest && held.Offer == a.Offer &&
		policy.AgreedDigest(held.Terms, held.Obligations) == policy.AgreedDigest(a.Terms, a.Obligations)
}

// appendEvent adds e to the relationship's hash chain through tx. chain is
// the chain as tx holds it, or nil to read it. It returns the event as
// appended.
func appendEvent(tx Tx, rel string, chain []policy.Event, e policy.Event) (policy.Event, error) {
	if chain == nil {
		var err error
		if chain, err = tx.History(rel); err != nil {
			return policy.Event{}, err
		}
	}
	e.Time = e.Time.UTC().Truncate(time.Second)
	if n := len(chain); n > 0 && e.Time.Before(chain[n-1].Time) {
		e.Time = chain[n-1].Time // a clock step back must not break the chain
	}
	chain, err := policy.AppendEvent(chain, e)
	if err != nil {
		return policy.Event{}, err
	}
	e = chain[len(chain)-1]
	return e, tx.AppendHistory(rel, e)
}

// History returns the vendor's hash-chained history of the relationship the
// record belongs to.
func (v *Vendor) History(recordID string) ([]policy.Event, error) {
	sr, err := v.store.GetRecord(recordID)
	if err != nil {
		return nil, err
	}
	return v.store.History(sr.Record.Agreement.UserKey)
}

func relSubject(userKey string) string { return "rel:" + userKey }
func sessionSubject(id string) string  { return "session:" + id }
