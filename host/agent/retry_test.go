package agent

import (
	"crypto/ed25519"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
)

// countingStore is the site library's memory store, counting the distinct
// agreements the vendor accepted.
type countingStore struct {
	*site.MemoryStore
	mu      sync.Mutex
	records map[string]bool
}

func (c *countingStore) Exchange(rel string, fn func(site.Tx) error) error {
	return c.MemoryStore.Exchange(rel, func(tx site.Tx) error { return fn(countingTx{tx, c}) })
}

// countingTx counts the records added through it.
type countingTx struct {
	site.Tx
	c *countingStore
}

func (t countingTx) AddRecord(r site.StoredRecord) error {
	t.c.mu.Lock()
	t.c.records[r.Record.ID] = true
	t.c.mu.Unlock()
	return t.Tx.AddRecord(r)
}

func (c *countingStore) accepted() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.records)
}

// TestRetryAfterLostAnswerMakesNoSecondAgreement: the vendor accepts the
// first proposal but the connection drops before the agent reads the
// answer (as when the host is killed mid-negotiation). The retry proposes
// with the same stored pairwise key, the vendor answers with the record it
// holds, and it ends up with exactly one accepted agreement, the one the
// user holds.
func TestRetryAfterLostAnswerMakesNoSecondAgreement(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := "http://" + ln.Addr().String()
	_, priv, _ := ed25519.GenerateKey(nil)
	counted := &countingStore{MemoryStore: site.NewMemoryStore(), records: map[string]bool{}}
	v, err := site.New(site.Config{Origin: origin, Controller: policy.Controller{Name: "V", Contact: "privacy@v.test"},
		PolicyURL: "https://v.test/privacy", Offers: []policy.Offer{basicOffer}, PrivateKey: priv, Store: counted})
	if err != nil {
		t.Fatal(err)
	}
	var drop atomic.Bool
	drop.Store(true)
	vh := v.Handler()
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	})}}
	srv.Start()
	t.Cleanup(srv.Close)

	a := newAgent(t)
	var skew atomic.Int64 // the retry comes after the backoff the failure set
	a.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	_, _, digest := v.Terms()
	params := map[string]string{"site": origin, "advertisement": policy.ResponseHeaderValue(digest)}

	if _, perr := call(t, a, proto.TypeNegotiate, params); perr == nil || perr.Code != proto.CodeSiteUnreachable {
		t.Fatalf("first attempt: %v, want site_unreachable (answer lost)", perr)
	}
	if counted.accepted() != 1 {
		t.Fatalf("vendor accepted %d agreements on the first attempt", counted.accepted())
	}
	skew.Store(int64(time.Minute))
	rel := mustCall[store.Relationship](t, a, proto.TypeNegotiate, params)
	if rel.State != store.StateAgreed || rel.Record == nil {
		t.Fatalf("retry: %+v", rel)
	}
	if n := counted.accepted(); n != 1 {
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
