// Package storetest checks that a site.Store keeps the promises the Vendor
// relies on: atomic exchanges, one answer per nonce, histories appended in
// order, also when many goroutines exchange at once. Every store in this
// repository runs it; so can a site's own.
package storetest

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
)

// Run runs the suite; open returns an empty store for each subtest.
func Run(t *testing.T, open func(t *testing.T) site.Store) {
	t.Run("Records", func(t *testing.T) { testRecords(t, open(t)) })
	t.Run("Rollback", func(t *testing.T) { testRollback(t, open(t)) })
	t.Run("Nonces", func(t *testing.T) { testNonces(t, open(t)) })
	t.Run("ItemsAndSessions", func(t *testing.T) { testItems(t, open(t)) })
	t.Run("ConcurrentHistory", func(t *testing.T) { testConcurrentHistory(t, open(t)) })
	t.Run("ConcurrentNonce", func(t *testing.T) { testConcurrentNonce(t, open(t)) })
	t.Run("RenegotiationSupersedes", func(t *testing.T) { testRenegotiationSupersedes(t, open(t)) })
	t.Run("SupersedeRollsBack", func(t *testing.T) { testSupersedeRollsBack(t, open(t)) })
}

func record(id, rel string) site.StoredRecord {
	return site.StoredRecord{Record: policy.Record{ID: id, Agreement: policy.Agreement{UserKey: rel, Nonce: id}}}
}

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// appendOne appends an event to rel's chain through tx.
func appendOne(tx site.Tx, rel, detail string) error {
	chain, err := tx.History(rel)
	if err != nil {
		return err
	}
	next, err := policy.AppendEvent(chain, policy.Event{Type: policy.EventConflict, Time: t0, Detail: detail})
	if err != nil {
		return err
	}
	return tx.AppendHistory(rel, next[len(next)-1])
}

func testRecords(t *testing.T, s site.Store) {
	if _, err := s.GetRecord("missing"); !errors.Is(err, site.ErrNotFound) {
		t.Fatalf("GetRecord(missing) = %v, want ErrNotFound", err)
	}
	err := s.Exchange("rel-a", func(tx site.Tx) error {
		if err := tx.AddRecord(record("rec-1", "rel-a")); err != nil {
			return err
		}
		if _, err := tx.GetRecord("missing"); !errors.Is(err, site.ErrNotFound) {
			return fmt.Errorf("tx.GetRecord(missing) = %v", err)
		}
		if err := tx.PutAgreedTerms("digest-1", site.AgreedTerms{Terms: policy.Terms{Retention: "P1D"}}); err != nil {
			return err
		}
		return appendOne(tx, "rel-a", "first")
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRecord("rec-1")
	if err != nil || got.Record.Agreement.UserKey != "rel-a" || !got.Ended.IsZero() {
		t.Fatalf("GetRecord = %+v, %v", got, err)
	}
	if a, found, err := s.AgreedTerms("digest-1"); err != nil || !found || a.Terms.Retention != "P1D" {
		t.Errorf("AgreedTerms = %+v %v %v", a, found, err)
	}
	if all, err := s.AllAgreedTerms(); err != nil || len(all) != 1 || all["digest-1"].Terms.Retention != "P1D" {
		t.Errorf("AllAgreedTerms = %+v, %v", all, err)
	}
	if _, found, err := s.AgreedTerms("digest-2"); err != nil || found {
		t.Errorf("AgreedTerms(unknown) found=%v err=%v", found, err)
	}
	// A record is stored once.
	if err := s.Exchange("rel-a", func(tx site.Tx) error { return tx.AddRecord(record("rec-1", "rel-a")) }); err == nil {
		t.Error("AddRecord stored a record id twice")
	}
	ended := t0.Add(time.Hour)
	err = s.Exchange("rel-a", func(tx site.Tx) error {
		if err := tx.EndRecord("rec-1", ended, "user"); err != nil {
			return err
		}
		sr, err := tx.GetRecord("rec-1")
		if err != nil || !sr.Ended.Equal(ended) {
			return fmt.Errorf("inside the exchange, the end is not visible: %+v %v", sr, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err = s.GetRecord("rec-1")
	if err != nil || !got.Ended.Equal(ended) || got.EndedBy != "user" {
		t.Fatalf("after EndRecord: %+v, %v", got, err)
	}
	if h, err := s.History("rel-a"); err != nil || len(h) != 1 || h[0].Detail != "first" {
		t.Errorf("History = %+v, %v", h, err)
	}
	if h, err := s.History("rel-none"); err != nil || len(h) != 0 {
		t.Errorf("History(unknown) = %+v, %v", h, err)
	}
}

func testRollback(t *testing.T, s site.Store) {
	boom := errors.New("boom")
	err := s.Exchange("rel-r", func(tx site.Tx) error {
		for _, step := range []error{
			tx.AddRecord(record("rec-r", "rel-r")),
			tx.AddNonce(site.Nonce{Nonce: "n-r", BodyDigest: "d", Status: 200, Expires: t0}),
			tx.PutAgreedTerms("digest-r", site.AgreedTerms{}),
			appendOne(tx, "rel-r", "x"),
			tx.AddItem("rel:rel-r", policy.DataItem{Type: "x", Time: t0}),
			tx.Link("session-r", "rel-r"),
		} {
			if step != nil {
				return step
			}
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Exchange returned %v, want fn's error", err)
	}
	if _, err := s.GetRecord("rec-r"); !errors.Is(err, site.ErrNotFound) {
		t.Errorf("record kept after a failed exchange: %v", err)
	}
	if _, found, _ := s.GetNonce("n-r"); found {
		t.Error("nonce kept after a failed exchange")
	}
	if _, found, _ := s.AgreedTerms("digest-r"); found {
		t.Error("agreed terms kept after a failed exchange")
	}
	if h, _ := s.History("rel-r"); len(h) != 0 {
		t.Errorf("history kept after a failed exchange: %+v", h)
	}
	if items, _ := s.Items("rel:rel-r"); len(items) != 0 {
		t.Errorf("items kept after a failed exchange: %+v", items)
	}
	if sessions, _ := s.Sessions("rel-r"); len(sessions) != 0 {
		t.Errorf("link kept after a failed exchange: %+v", sessions)
	}
}

func testNonces(t *testing.T, s site.Store) {
	n := site.Nonce{Nonce: "proposal:abc", BodyDigest: "digest", Status: 200, Answer: []byte(`{"status":"accepted"}` + "\n"), Expires: t0}
	if err := s.Exchange("rel-n", func(tx site.Tx) error { return tx.AddNonce(n) }); err != nil {
		t.Fatal(err)
	}
	got, found, err := s.GetNonce(n.Nonce)
	if err != nil || !found || got.BodyDigest != n.BodyDigest || got.Status != 200 || string(got.Answer) != string(n.Answer) || !got.Expires.Equal(t0) {
		t.Fatalf("GetNonce = %+v %v %v", got, found, err)
	}
	// Adding it again, even from another relationship, is refused.
	var inside error
	err = s.Exchange("rel-other", func(tx site.Tx) error {
		if _, found, err := tx.GetNonce(n.Nonce); err != nil || !found {
			return fmt.Errorf("tx.GetNonce: found=%v err=%v", found, err)
		}
		inside = tx.AddNonce(n)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(inside, site.ErrNonceUsed) {
		t.Errorf("second AddNonce = %v, want ErrNonceUsed", inside)
	}
	later := site.Nonce{Nonce: "request:def", BodyDigest: "d2", Expires: t0.Add(time.Hour)}
	if err := s.Exchange("rel-n", func(tx site.Tx) error { return tx.AddNonce(later) }); err != nil {
		t.Fatal(err)
	}
	if err := s.ForgetNonces(t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.GetNonce(n.Nonce); found {
		t.Error("ForgetNonces kept an expired nonce")
	}
	if _, found, _ := s.GetNonce(later.Nonce); !found {
		t.Error("ForgetNonces dropped a nonce that had not expired")
	}
}

func testItems(t *testing.T, s site.Store) {
	for i := range 3 {
		if err := s.AddItem("session:s1", policy.DataItem{Type: fmt.Sprint("view-", i), Time: t0}); err != nil {
			t.Fatal(err)
		}
	}
	err := s.Exchange("rel-i", func(tx site.Tx) error {
		if err := tx.AddItem("rel:rel-i", policy.DataItem{Type: "agreement", Time: t0, Data: map[string]string{"k": "v"}}); err != nil {
			return err
		}
		if err := tx.Link("s1", "rel-i"); err != nil {
			return err
		}
		if err := tx.Link("s1", "rel-i"); err != nil { // linking twice is linking once
			return err
		}
		if sessions, err := tx.Sessions("rel-i"); err != nil || len(sessions) != 1 || sessions[0] != "s1" {
			return fmt.Errorf("inside the exchange, Sessions = %v, %v", sessions, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	items, err := s.Items("session:s1")
	if err != nil || len(items) != 3 || items[0].Type != "view-0" || items[2].Type != "view-2" {
		t.Errorf("Items(session:s1) = %+v, %v", items, err)
	}
	items, err = s.Items("rel:rel-i")
	if err != nil || len(items) != 1 || items[0].Data["k"] != "v" || !items[0].Time.Equal(t0) {
		t.Errorf("Items(rel:rel-i) = %+v, %v", items, err)
	}
	if sessions, err := s.Sessions("rel-i"); err != nil || len(sessions) != 1 || sessions[0] != "s1" {
		t.Errorf("Sessions = %v, %v", sessions, err)
	}
}

// testConcurrentHistory: exchanges on one relationship from many goroutines
// are serialised, so every event lands on the chain, in order.
func testConcurrentHistory(t *testing.T, s site.Store) {
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				errs <- s.Exchange("rel-c", func(tx site.Tx) error { return appendOne(tx, "rel-c", fmt.Sprintf("%d-%d", w, i)) })
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	chain, err := s.History("rel-c")
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != workers*each {
		t.Fatalf("chain has %d events, want %d", len(chain), workers*each)
	}
	if err := policy.VerifyChain(chain); err != nil {
		t.Fatal(err)
	}
}

// testConcurrentNonce: exchanges on different relationships racing to add
// one nonce: exactly one adds it; every other one, run again if need be,
// finds it.
func testConcurrentNonce(t *testing.T, s site.Store) {
	const racers = 8
	var added, found atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, racers)
	for r := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var won bool
			err := s.Exchange(fmt.Sprint("rel-race-", r), func(tx site.Tx) error {
				won = false
				_, seen, err := tx.GetNonce("proposal:race")
				if err != nil || seen {
					return err
				}
				if err := tx.AddRecord(record(fmt.Sprint("rec-race-", r), fmt.Sprint("rel-race-", r))); err != nil {
					return err
				}
				if err := tx.AddNonce(site.Nonce{Nonce: "proposal:race", BodyDigest: fmt.Sprint(r), Status: 200, Expires: t0}); err != nil {
					return err
				}
				won = true
				return nil
			})
			if won {
				added.Add(1)
			} else if err == nil {
				found.Add(1)
			}
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if added.Load() != 1 || found.Load() != racers-1 {
		t.Fatalf("%d exchanges added the nonce and %d found it; want 1 and %d", added.Load(), found.Load(), racers-1)
	}
	n, _, _ := s.GetNonce("proposal:race")
	records := 0
	for r := range racers {
		if _, err := s.GetRecord(fmt.Sprint("rec-race-", r)); err == nil {
			records++
			if n.BodyDigest != fmt.Sprint(r) {
				t.Errorf("the record kept is racer %d's, the nonce racer %s's", r, n.BodyDigest)
			}
		}
	}
	if records != 1 {
		t.Errorf("%d racers' records were kept, want only the winner's", records)
	}
}

var (
	onRequest = policy.Obligations{Access: policy.LevelOnRequest, Deletion: policy.LevelOnRequest, DataReturn: policy.LevelOnRequest}
	offerA    = policy.Offer{ID: "a", Terms: policy.Terms{Tracking: policy.TrackingSession, Purposes: []policy.Purpose{policy.PurposeService},
		Sharing: policy.SharingProcessors, Retention: "P7D", Identity: policy.IdentityPseudonymous, Contact: policy.ContactTransactional}, Obligations: onRequest}
	offerB = policy.Offer{ID: "b", Terms: policy.Terms{Tracking: policy.TrackingFirstParty, Purposes: []policy.Purpose{policy.PurposeService, policy.PurposeAnalytics},
		Sharing: policy.SharingProcessors, Retention: "P30D", Identity: policy.IdentityPseudonymous, Contact: policy.ContactTransactional}, Obligations: onRequest}
)

// proposer is one user key proposing to a vendor kept in the store under
// test, through the vendor's own handler.
type proposer struct {
	v    *site.Vendor
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newProposer(t *testing.T, s site.Store) *proposer {
	t.Helper()
	_, siteKey, _ := ed25519.GenerateKey(nil)
	v, err := site.New(site.Config{Origin: "https://shop.test", Controller: policy.Controller{Name: "Shop", Contact: "privacy@shop.test"},
		PolicyURL: "https://shop.test/privacy", Offers: []policy.Offer{offerA, offerB}, PrivateKey: siteKey, Store: s})
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, err := policy.NewPairwiseKey()
	if err != nil {
		t.Fatal(err)
	}
	return &proposer{v: v, pub: pub, priv: priv}
}

// propose sends a proposal for offer and returns the HTTP status and the
// accepted record's id ("" if none).
func (p *proposer) propose(t *testing.T, offer policy.Offer) (int, string) {
	t.Helper()
	_, _, digest := p.v.Terms()
	a := policy.Agreement{V: policy.Version, Site: p.v.Origin(), TermsDigest: digest, Offer: offer.ID, Terms: offer.Terms,
		Obligations: offer.Obligations, UserKey: policy.EncodeKey(p.pub), SiteKey: p.v.PublicKey(), Nonce: policy.NewNonce(),
		Created: time.Now().UTC().Truncate(time.Second)}
	sig, err := policy.SignAgreement(a, p.priv)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(policy.Proposal{V: policy.Version, Type: "proposal", Agreement: a, UserSignature: sig})
	req := httptest.NewRequest(http.MethodPost, p.v.Origin()+site.DefaultAgreementPath, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", policy.MediaType)
	rec := httptest.NewRecorder()
	p.v.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return rec.Code, ""
	}
	var ans policy.Answer
	if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil || ans.Record == nil {
		t.Fatalf("answer %s: %v", rec.Body, err)
	}
	return rec.Code, ans.Record.ID
}

// testRenegotiationSupersedes: the same key agreeing to other terms ends
// the agreement it held, in the same exchange: one key, one agreement in
// force. A retry of the new proposal ends nothing.
func testRenegotiationSupersedes(t *testing.T, s site.Store) {
	p := newProposer(t, s)
	_, first := p.propose(t, offerA)
	_, second := p.propose(t, offerB)
	if first == "" || second == "" || first == second {
		t.Fatalf("records %q, %q", first, second)
	}
	old, err := s.GetRecord(first)
	if err != nil || old.Ended.IsZero() || old.EndedBy != "user" {
		t.Errorf("the replaced record is still in force: %+v %v", old, err)
	}
	if cur, err := s.GetRecord(second); err != nil || !cur.Ended.IsZero() {
		t.Errorf("the new record: %+v %v", cur, err)
	}
	chain, err := s.History(policy.EncodeKey(p.pub))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range chain {
		got = append(got, e.Type+" "+e.Agreement)
	}
	want := []string{policy.EventNegotiated + " " + first, policy.EventEnded + " " + first, policy.EventRenegotiated + " " + second}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("history %v, want %v", got, want)
	}
	if len(chain) == 3 && chain[1].Detail != "superseded by "+second {
		t.Errorf("ended event says %q", chain[1].Detail)
	}
	if err := policy.VerifyChain(chain); err != nil {
		t.Errorf("history does not verify: %v", err)
	}
	// The same terms again: the same record, nothing ended.
	if _, again := p.propose(t, offerB); again != second {
		t.Errorf("retry got record %q, want %q", again, second)
	}
	if cur, _ := s.GetRecord(second); !cur.Ended.IsZero() {
		t.Error("a retry of the agreement in force ended it")
	}
}

// failingAddRecord is a store whose exchanges fail when they add a record.
type failingAddRecord struct {
	site.Store
	fail atomic.Bool
}

func (f *failingAddRecord) Exchange(rel string, fn func(site.Tx) error) error {
	return f.Store.Exchange(rel, func(tx site.Tx) error { return fn(failingTx{tx, f}) })
}

type failingTx struct {
	site.Tx
	f *failingAddRecord
}

func (t failingTx) AddRecord(r site.StoredRecord) error {
	if t.f.fail.Load() {
		return errors.New("disk full")
	}
	return t.Tx.AddRecord(r)
}

// testSupersedeRollsBack: when the new record cannot be stored, the one in
// force is not ended either.
func testSupersedeRollsBack(t *testing.T, s site.Store) {
	f := &failingAddRecord{Store: s}
	p := newProposer(t, f)
	_, first := p.propose(t, offerA)
	f.fail.Store(true)
	if code, _ := p.propose(t, offerB); code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", code)
	}
	if old, err := s.GetRecord(first); err != nil || !old.Ended.IsZero() {
		t.Errorf("the record in force was ended by an exchange that failed: %+v %v", old, err)
	}
	if chain, err := s.History(policy.EncodeKey(p.pub)); err != nil || len(chain) != 1 {
		t.Errorf("history after a failed exchange: %d events, %v", len(chain), err)
	}
}
