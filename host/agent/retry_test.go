package agent

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/site"
	"github.com/rbutton/rbutton/site/sitetest"
)

// TestRetryAfterLostAnswerMakesNoSecondAgreement: the vendor accepts the
// first proposal but the connection drops before the agent reads the
// answer (as when the host is killed mid-negotiation). The retry proposes
// with the same stored pairwise key, the vendor answers with the record it
// holds, and it ends up with exactly one accepted agreement, the one the
// user holds.
func TestRetryAfterLostAnswerMakesNoSecondAgreement(t *testing.T) {
	t.Parallel()
	counted := sitetest.NewRecording(nil)
	var drop atomic.Bool
	drop.Store(true)
	v := newVendorWith(t, counted, func(vh http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != site.DefaultAgreementPath || !drop.Load() {
				vh.ServeHTTP(w, r)
				return
			}
			// The vendor decides (and stores its record); the answer is lost.
			vh.ServeHTTP(httptest.NewRecorder(), r)
			drop.Store(false)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		})
	}, basicOffer)
	origin := v.origin

	a := newAgent(t)
	var skew atomic.Int64 // the retry comes after the backoff the failure set
	a.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	params := v.negotiateParams()

	if _, perr := call(t, a, proto.TypeNegotiate, params); perr == nil || perr.Code != proto.CodeSiteUnreachable {
		t.Fatalf("first attempt: %v, want site_unreachable (answer lost)", perr)
	}
	if len(counted.IDs()) != 1 {
		t.Fatalf("vendor accepted %d agreements on the first attempt", len(counted.IDs()))
	}
	skew.Store(int64(time.Minute))
	rel := mustCall[store.Relationship](t, a, proto.TypeNegotiate, params)
	if rel.State != store.StateAgreed || rel.Record == nil {
		t.Fatalf("retry: %+v", rel)
	}
	if n := len(counted.IDs()); n != 1 {
		t.Errorf("vendor holds %d accepted agreements after the retry, want 1", n)
	}
	if sr, err := counted.GetRecord(rel.Record.ID); err != nil || !sr.Ended.IsZero() {
		t.Errorf("the record the user holds is not the vendor's agreement in force: %v", err)
	}
	// And the user can end it: the one agreement the vendor holds ends.
	ended := mustCall[store.Relationship](t, a, proto.TypeRelationshipEnd, map[string]string{"site": origin})
	if ended.State != store.StateEnded || ended.Error != nil {
		t.Fatalf("end: %+v", ended)
	}
	if sr, _ := counted.GetRecord(rel.Record.ID); sr.Ended.IsZero() {
		t.Error("the vendor's agreement is still in force after the user ended it")
	}
}
