package pgstore_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
	"github.com/rbutton/rbutton/site/pgstore"
	"github.com/rbutton/rbutton/site/pgstore/pgtest"
	"github.com/rbutton/rbutton/site/storetest"
)

func open(t *testing.T, dsn string) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) site.Store { return open(t, pgtest.DSN(t)) })
}

// TestStoreTwoPools runs the concurrency checks with exchanges spread over
// two pools, as two vendor processes would.
func TestStoreTwoPools(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, b := open(t, dsn), open(t, dsn)
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Exchange("rel", func(tx site.Tx) error {
				chain, err := tx.History("rel")
				if err != nil {
					return err
				}
				next, err := policy.AppendEvent(chain, policy.Event{Type: policy.EventConflict, Time: t0})
				if err != nil {
					return err
				}
				return tx.AppendHistory("rel", next[len(next)-1])
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	chain, err := a.History("rel")
	if err != nil || len(chain) != n || policy.VerifyChain(chain) != nil {
		t.Fatalf("chain of %d events (%v), want %d", len(chain), err, n)
	}
}

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// TestMigrate: a fresh database gets every migration once, whoever starts
// first; reopening applies nothing; a newer schema is refused.
func TestMigrate(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	applied := make([][]string, 4)
	errs := make([]error, 4)
	for i := range applied {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool, err := pgxpool.New(ctx, dsn)
			if err != nil {
				errs[i] = err
				return
			}
			defer pool.Close()
			applied[i], errs[i] = pgstore.Migrate(ctx, pool)
		}()
	}
	wg.Wait()
	total := 0
	for i := range applied {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		total += len(applied[i])
	}
	if total != pgstore.SchemaVersion() {
		t.Fatalf("%d migrations applied in all, want %d once: %v", total, pgstore.SchemaVersion(), applied)
	}
	s := open(t, dsn)
	var version int
	if err := s.Pool().QueryRow(ctx, "SELECT max(version) FROM dntd_schema").Scan(&version); err != nil || version != pgstore.SchemaVersion() {
		t.Fatalf("schema version %d (%v), want %d", version, err, pgstore.SchemaVersion())
	}
	if _, err := s.Pool().Exec(ctx, "INSERT INTO dntd_schema (version, name) VALUES ($1, 'from the future')", version+1); err != nil {
		t.Fatal(err)
	}
	if _, err := pgstore.Open(ctx, dsn); err == nil || !strings.Contains(err.Error(), "newer than this program") {
		t.Errorf("opening a newer schema: %v", err)
	}
}

// TestAppendOnly: the database itself refuses to change or delete records,
// ends and history, and to append an event that does not continue the chain.
func TestAppendOnly(t *testing.T) {
	s := open(t, pgtest.DSN(t))
	ctx := context.Background()
	rec := site.StoredRecord{Record: policy.Record{ID: "rec-1", Agreement: policy.Agreement{UserKey: "rel"}}}
	chain := mustAppend(t, nil, policy.Event{Type: policy.EventNegotiated, Time: t0, Detail: "accepted"})
	chain = mustAppend(t, chain, policy.Event{Type: policy.EventEnded, Time: t0, Detail: "ended"})
	err := s.Exchange("rel", func(tx site.Tx) error {
		if err := tx.AddRecord(rec); err != nil {
			return err
		}
		if err := tx.EndRecord("rec-1", t0, "site"); err != nil {
			return err
		}
		return tx.AppendHistory("rel", chain...)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		"UPDATE dntd_records SET user_key = 'other'",
		"DELETE FROM dntd_records",
		"UPDATE dntd_record_ends SET ended_by = 'user'",
		"DELETE FROM dntd_record_ends",
		"UPDATE dntd_history SET event = '{}'",
		"DELETE FROM dntd_history",
	} {
		if _, err := s.Pool().Exec(ctx, sql); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v", sql, err)
		}
	}
	// An event that skips a place, or names another predecessor, is refused.
	next := mustAppend(t, chain, policy.Event{Type: policy.EventDataReturned, Time: t0, Detail: "returned"})
	wrongPrev, gap := next[2], next[2]
	wrongPrev.Prev = chain[0].Hash
	gap.Seq = 3
	for name, e := range map[string]policy.Event{"wrong predecessor": wrongPrev, "gap": gap} {
		if err := s.Exchange("rel", func(tx site.Tx) error { return tx.AppendHistory("rel", e) }); err == nil {
			t.Errorf("%s: appended", name)
		}
	}
	if h, _ := s.History("rel"); len(h) != 2 || policy.VerifyChain(h) != nil {
		t.Errorf("history now %+v", h)
	}
}

func mustAppend(t *testing.T, chain []policy.Event, e policy.Event) []policy.Event {
	t.Helper()
	out, err := policy.AppendEvent(chain, e)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
