package store

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rbutton/rbutton/policy"
)

// Forget deletes a site from the B+tree, but bbolt keeps the bytes in free
// pages; Compact must leave none of them in the file, and keep the rest.
func TestCompactRemovesForgottenBytes(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	u := testTerms(t)
	const gone, kept = "https://forget-me-please.example", "https://keep-me.example"
	err := db.Update(func(tx *Tx) error {
		for _, site := range []string{gone, kept} {
			if err := tx.PutRelationship(Relationship{Site: site, State: StateAgreed, MyTerms: &u}); err != nil {
				return err
			}
			if _, err := tx.AppendEvent(site, policy.Event{Type: policy.EventNegotiated, Time: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *Tx) error { _, err := tx.Forget(gone); return err }); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(db.Path)
	if !bytes.Contains(raw, []byte("forget-me-please")) {
		t.Log("bbolt left no trace of the forgotten site before compaction this time")
	}
	// The copy a crashed compaction left behind holds old data too.
	leftover := filepath.Join(filepath.Dir(db.Path), "."+filepath.Base(db.Path)+".compact")
	if err := os.WriteFile(leftover, []byte("forget-me-please, from a compaction that crashed"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := db.Compact()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = os.ReadFile(db.Path)
	if bytes.Contains(raw, []byte("forget-me-please")) {
		t.Fatalf("the forgotten site's bytes are still in the file after compaction")
	}
	if res.Before == 0 || res.After == 0 || res.After > res.Before {
		t.Errorf("sizes %+v", res)
	}
	fi, _ := os.Stat(db.Path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("compacted file mode %v, want 0600", fi.Mode().Perm())
	}
	db.View(func(tx *Tx) error {
		r, err := tx.Relationship(kept)
		h, _ := tx.History(kept)
		if err != nil || r == nil || len(h) != 1 {
			t.Errorf("kept site after compaction: %+v %v %d events", r, err, len(h))
		}
		return nil
	})
	if info, err := db.Check(); err != nil || info.Schema != SchemaVersion {
		t.Errorf("check after compaction: %+v %v", info, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(db.Path))
	if len(entries) != 1 {
		t.Errorf("left files beside the database: %v", entries)
	}
}

// A writer that opened the file before Compact replaced it, and waited for
// its lock meanwhile, must write to the new file, not the replaced one.
func TestWriteDuringCompactIsKept(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	u := testTerms(t)
	if err := db.Update(func(tx *Tx) error { return tx.PutDefaults(u) }); err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		site := "https://written-during-compaction.example"
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		wg.Add(2)
		go func() { defer wg.Done(); _, err := db.Compact(); errs <- err }()
		go func() {
			defer wg.Done()
			errs <- New(db.Path).Update(func(tx *Tx) error {
				return tx.PutRelationship(Relationship{Site: site, State: StateConflict})
			})
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		var r *Relationship
		db.View(func(tx *Tx) (err error) { r, err = tx.Relationship(site); return })
		if r == nil {
			t.Fatalf("round %d: the write made while compacting is lost", round)
		}
		db.Update(func(tx *Tx) error { _, err := tx.Forget(site); return err })
	}
}
