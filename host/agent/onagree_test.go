package agent

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
)

// The options page's default decides what a site is given when an
// agreement with it is made; "ask" gives nothing.
func TestDefaultGivesDetailsOnAgreeing(t *testing.T) {
	a := newAgent(t)
	if v := mustCall[ProfileView](t, a, proto.TypeProfileGet, nil); v.OnAgree != OnAgreeAsk || !strings.Contains(v.OnAgreeWords, "none of your details") {
		t.Fatalf("default in a new file: %q %q", v.OnAgree, v.OnAgreeWords)
	}
	// Set before any details: stored on its own, details still "not yet".
	v := mustCall[ProfileView](t, a, proto.TypeProfileDefault, map[string]string{"onAgree": OnAgreeEmail})
	if v.OnAgree != OnAgreeEmail || v.Updated != nil || !strings.Contains(v.OnAgreeWords, "e-mail address") {
		t.Fatalf("profile.default: %+v", v)
	}
	// profile.set keeps the default.
	v = mustCall[ProfileView](t, a, proto.TypeProfileSet, map[string]any{"details": map[string]any{
		"name": "Ada", "email": "ada@example.org", "preferences": map[string]string{"language": "en"}}})
	if v.OnAgree != OnAgreeEmail {
		t.Fatalf("profile.set dropped the default: %q", v.OnAgree)
	}
	if _, perr := call(t, a, proto.TypeProfileDefault, map[string]string{"onAgree": "everything"}); perr == nil || perr.Code != proto.CodeInvalidParams {
		t.Fatalf("an unknown default: %v", perr)
	}

	// email: the e-mail address only, though preferences are allowed too.
	rv := newRealVendor(t, basicOffer)
	rv.negotiate(t, a)
	if held := rv.held(); len(held) != 1 || held[0].Email != "ada@example.org" || held[0].Preferences != nil || held[0].Name != "" {
		t.Fatalf("with default email the site holds %+v", held)
	}
	h := mustCall[HistoryResult](t, a, proto.TypeHistoryGet, map[string]string{"site": rv.origin})
	last := h.Events[len(h.Events)-1]
	if last.Type != policy.EventDetailsShared || last.Detail != "gave email (your default when agreeing)" {
		t.Fatalf("history ends %+v", last)
	}
	// A renegotiation gives nothing again: the site already holds a detail.
	rv.changeTerms(t)
	rv.negotiate(t, a)
	if got := history(t, a, rv.origin); got[len(got)-1] != policy.EventRenegotiated {
		t.Fatalf("renegotiation gave details again: %v", got)
	}

	// allowed: everything the agreement allows (email and preferences, not the name).
	mustCall[ProfileView](t, a, proto.TypeProfileDefault, map[string]string{"onAgree": OnAgreeAllowed})
	rv2 := newRealVendor(t, basicOffer)
	rv2.negotiate(t, a)
	if held := rv2.held(); len(held) != 1 || held[0].Email != "ada@example.org" || held[0].Preferences["language"] != "en" || held[0].Name != "" {
		t.Fatalf("with default allowed the site holds %+v", held)
	}

	// ask: nothing.
	mustCall[ProfileView](t, a, proto.TypeProfileDefault, map[string]string{"onAgree": OnAgreeAsk})
	rv3 := newRealVendor(t, basicOffer)
	rv3.negotiate(t, a)
	if held := rv3.held(); len(held) != 0 {
		t.Fatalf("with default ask the site holds %+v", held)
	}
	for _, s := range mustCall[ProfileView](t, a, proto.TypeProfileGet, nil).Sites {
		if s.Site == rv3.origin && len(s.Holds) != 0 {
			t.Fatalf("with default ask the host says the site holds %v", s.Holds)
		}
	}
}

// A site that cannot be reached when the agreement is made does not fail
// the negotiation: it is owed the details, and takes them once it is back.
func TestDefaultOwedWhenSiteIsDown(t *testing.T) {
	a := newAgent(t)
	mustCall[ProfileView](t, a, proto.TypeProfileSet, map[string]any{"details": map[string]any{"email": "ada@example.org"}})
	mustCall[ProfileView](t, a, proto.TypeProfileDefault, map[string]string{"onAgree": OnAgreeEmail})
	rv := newRealVendor(t, basicOffer)
	rv.mode.Store(vendorDown)
	rv.negotiate(t, a)
	v := mustCall[ProfileView](t, a, proto.TypeProfileGet, nil)
	if v.Pending != 1 || len(v.Sites) != 1 || v.Sites[0].Pending == nil || v.Sites[0].Pending.Attempts != 1 ||
		!strings.HasPrefix(v.Sites[0].Pending.LastError, proto.CodeSiteUnreachable) {
		t.Fatalf("after agreeing with a site that is down: %+v", v)
	}
	if got := history(t, a, rv.origin); got[len(got)-1] != policy.EventDetailsFailed {
		t.Fatalf("history: %v", got)
	}
	rv.mode.Store(vendorOK)
	if res := mustCall[PushResult](t, a, proto.TypeProfilePush, map[string]any{"all": true}); res.Delivered != 1 {
		t.Fatalf("push once the site is back: %+v", res)
	}
	if held := rv.held(); len(held) != 1 || held[0].Email != "ada@example.org" {
		t.Fatalf("site holds %+v", held)
	}

	// A site that refuses is not owed anything and is not said to hold it.
	rv2 := newRealVendor(t, basicOffer)
	rv2.refuse = errTestRefusal
	rv2.negotiate(t, a)
	for _, s := range mustCall[ProfileView](t, a, proto.TypeProfileGet, nil).Sites {
		if s.Site == rv2.origin && (len(s.Holds) != 0 || s.Pending != nil) {
			t.Fatalf("a refusing site: %+v", s)
		}
	}
	h := mustCall[HistoryResult](t, a, proto.TypeHistoryGet, map[string]string{"site": rv2.origin})
	if last := h.Events[len(h.Events)-1]; last.Type != policy.EventDetailsFailed || !strings.Contains(last.Detail, "refused") {
		t.Fatalf("refusing site's history ends %+v", last)
	}

	// A site whose system cannot take them now (503 unavailable) is owed
	// them, not refused.
	rv3 := newRealVendor(t, basicOffer)
	rv3.refuse = fmt.Errorf("%w: CRM down", site.ErrTryLater)
	rv3.negotiate(t, a)
	for _, s := range mustCall[ProfileView](t, a, proto.TypeProfileGet, nil).Sites {
		if s.Site == rv3.origin && (s.Pending == nil || !strings.Contains(s.Pending.LastError, "unavailable")) {
			t.Fatalf("a site that cannot take them now: %+v", s)
		}
	}
	rv3.mu.Lock()
	rv3.refuse = nil
	rv3.mu.Unlock()
	if res := mustCall[PushResult](t, a, proto.TypeProfilePush, map[string]any{"all": true}); res.Delivered != 1 {
		t.Fatalf("push once its system is back: %+v", res)
	}
}

var errTestRefusal = errors.New("we do not keep e-mail addresses")
