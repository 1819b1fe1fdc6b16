package site

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/rbutton/rbutton/policy"
)

// DetailsUpdate is what Config.Details receives: details a user gave the
// vendor, or changed, under one relationship. Only the details the
// agreement allows reach it (policy.AllowedDetails); nothing links it to the
// same person's relationships with other vendors.
type DetailsUpdate struct {
	// Record is the agreement the details were sent under.
	Record string
	// Relationship names the relationship (the user's pairwise key); it
	// stays the same across renegotiations.
	Relationship string
	// Details holds the details sent: the complete current value of each
	// member present. Members absent were not sent, not cleared.
	Details policy.Details
	// Sessions are the browser sessions linked to the relationship (see the
	// data-return endpoint), so a vendor can show the details on its pages.
	Sessions []string
	// Received is when the vendor took the update.
	Received time.Time
}

// ErrTryLater, wrapped in the error Config.Details returns, says the
// vendor's system cannot take the update now (it is down or not
// answering): the agent is answered 503 unavailable and tries again later,
// rather than recording a refusal.
var ErrTryLater = errors.New("the site's system cannot take the details now")

// serveDetails takes a signed details update: it authenticates the request
// as the data-return and end endpoints do (Vendor.signed), refuses any
// detail the agreement does not allow, hands the update to Config.Details,
// files it as a "details" item (so a data return shows what the vendor
// holds) and records it in the relationship's history.
func (v *Vendor) serveDetails(w http.ResponseWriter, r *http.Request) {
	body, ok := v.readMessage(w, r)
	if !ok {
		return
	}
	ans := v.signed(body, policy.RequestDetails, nil, v.takeDetails)
	if ans.status != http.StatusOK {
		v.logf("← details → %s", firstLine(ans.body))
	}
	ans.write(w)
}

// takeDetails answers an authenticated details request, inside the exchange
// that stores its nonce: Config.Details runs there, so that a retry of the
// same body gets the stored answer rather than a second call. err is a
// store failure only.
func (v *Vendor) takeDetails(tx Tx, req *policy.SignedRequest, sr StoredRecord) (answer, error) {
	a := sr.Record.Agreement
	allowed := policy.AllowedDetails(a.Terms)
	fields := req.Details.Fields()
	for _, f := range fields {
		if !slices.Contains(allowed, f) {
			msg := fmt.Sprintf("details.%s: the agreement (identity %s, contact %s) does not allow this site to hold it", f, a.Terms.Identity, a.Terms.Contact)
			return errorAnswer(http.StatusBadRequest, policy.CodeInvalid, msg, ""), nil
		}
	}
	rel := a.UserKey
	sessions, err := tx.Sessions(rel)
	if err != nil {
		return answer{}, err
	}
	now := v.now().UTC().Truncate(time.Second)
	upd := DetailsUpdate{Record: req.Record, Relationship: rel, Details: *req.Details, Sessions: sessions, Received: now}
	if err := v.details(upd); err != nil {
		if errors.Is(err, ErrTryLater) {
			v.logf("← details record=%s → not taken now: %v", short(req.Record), err)
			return errorAnswer(http.StatusServiceUnavailable, policy.CodeUnavailable, "the site cannot take the details now; try again later", ""), nil
		}
		msg := err.Error()
		if len(msg) > 900 {
			msg = msg[:900]
		}
		return errorAnswer(http.StatusUnprocessableEntity, policy.CodeInvalid, "the site did not take the details: "+msg, ""), nil
	}
	data := map[string]string{}
	for _, f := range fields {
		val := req.Details.Get(f)
		if len(val) > 1000 {
			val = val[:1000]
		}
		data[f] = val
	}
	if err := tx.AddItem(relSubject(rel), policy.DataItem{Type: "details", Time: now, Data: data}); err != nil {
		return answer{}, err
	}
	if _, err := appendEvent(tx, rel, nil, policy.Event{Type: policy.EventDetailsUpdated, Time: now, Agreement: req.Record, Detail: "took " + strings.Join(fields, ", ")}); err != nil {
		return answer{}, err
	}
	v.logf("← details record=%s → took %s", short(req.Record), strings.Join(fields, ", "))
	return jsonAnswer(http.StatusOK, policy.DetailsAnswer{V: policy.Version, Status: "updated", Record: req.Record, Fields: fields}), nil
}
