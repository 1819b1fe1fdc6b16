// Package storetest checks that a site.Store keeps the promises the Vendor
// relies on: atomic exchanges, one answer per nonce, histories appended in
// order, also when many goroutines exchange at once. Every store in this
// repository runs it; so can a site's own.
package storetest

import (
	"errors"
	"fmt"
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
