package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// kept reports whether this process keeps a read handle on path.
func kept(path string) bool {
	r := readerFor(path)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.db != nil
}

// readDefaults is a read that goes through the kept handle.
func readDefaults(db *DB) error {
	return db.View(func(tx *Tx) error { _, err := tx.Defaults(); return err })
}

// TestDamageUnderKeptHandle: a file damaged in place after a read mapped it
// (same file, same or another size) is refused by the next read, update,
// check and compaction with the same clear error as a file found damaged at
// open, never a crash; the file is left as it was, and once it is good
// again reads work again.
func TestDamageUnderKeptHandle(t *testing.T) {
	if !keepMapped {
		t.Skip("read handles are not kept on this platform")
	}
	t.Parallel()
	for kind, d := range damagedFiles(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			db := newDB(t)
			if err := db.Update(func(tx *Tx) error { return tx.PutDefaults(testTerms(t)) }); err != nil {
				t.Fatal(err)
			}
			if err := readDefaults(db); err != nil {
				t.Fatal(err)
			}
			if !kept(db.Path) {
				t.Fatal("the read kept no handle")
			}
			good, err := os.ReadFile(db.Path)
			if err != nil {
				t.Fatal(err)
			}
			// In place: the kept handle's descriptor sees the damage.
			overwrite := func(b []byte) {
				t.Helper()
				f, err := os.OpenFile(db.Path, os.O_WRONLY|os.O_TRUNC, 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.Write(b); err != nil {
					t.Fatal(err)
				}
				f.Close()
			}
			overwrite(d.bytes)
			for name, op := range map[string]func() error{
				"view":   func() error { return readDefaults(db) },
				"update": func() error { return db.Update(func(tx *Tx) error { return tx.PutDefaults(testTerms(t)) }) },
				"check":  func() error { _, err := db.Check(); return err },
				"view again": func() error {
					return db.View(func(tx *Tx) error { _, err := tx.Relationships(); return err })
				},
				"compact": func() error { _, err := db.Compact(); return err },
			} {
				err := op()
				var se *Error
				if !errors.Is(err, ErrCorrupt) || !errors.As(err, &se) || se.Path != db.Path || !strings.Contains(err.Error(), d.says) {
					t.Errorf("%s: err = %v, want ErrCorrupt for %s saying %q", name, err, db.Path, d.says)
				}
			}
			if after, _ := os.ReadFile(db.Path); !bytes.Equal(after, d.bytes) {
				t.Errorf("the damaged file was changed (%d bytes → %d)", len(d.bytes), len(after))
			}
			overwrite(good)
			if err := readDefaults(db); err != nil {
				t.Errorf("after the file was mended: %v", err)
			}
		})
	}
}

// TestSameSizeDamageUnderKeptHandle: damage that leaves the file's size as
// it was (the kept handle's mapping still fits) is refused all the same,
// also when it leaves the modification time as it was.
func TestSameSizeDamageUnderKeptHandle(t *testing.T) {
	t.Parallel()
	type damage struct {
		name, says string
		damage     func(b []byte, pageSize int)
		sameTick   bool
	}
	cases := []damage{
		{name: "bad-checksums", says: "fail their checksum", damage: func(b []byte, ps int) {
			for _, off := range []int{pageHeaderSize, ps + pageHeaderSize} {
				b[off+metaChecksumAt] ^= 0xff
			}
		}},
		{name: "wrong-magic", says: "not a database file", damage: func(b []byte, ps int) {
			for _, off := range []int{pageHeaderSize, ps + pageHeaderSize} {
				copy(b[off:], "nope")
			}
		}},
		{name: "claims-more-pages", says: "truncated", damage: func(b []byte, ps int) {
			for _, off := range []int{pageHeaderSize, ps + pageHeaderSize} {
				m := b[off : off+metaSize]
				binary.LittleEndian.PutUint64(m[40:], binary.LittleEndian.Uint64(m[40:])*4)
				h := fnv.New64a()
				h.Write(m[:metaChecksumAt])
				binary.LittleEndian.PutUint64(m[metaChecksumAt:], h.Sum64())
			}
		}},
	}
	// Damage bbolt trips over is said in the same words when the kept
	// handle did not see the file change. (A header that claims more pages
	// than the file holds is not: bbolt reads what is there.)
	for _, c := range cases[:2] {
		c.name, c.sameTick = c.name+"-same-tick", true
		cases = append(cases, c)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db := newDB(t)
			if err := db.Update(func(tx *Tx) error { return tx.PutDefaults(testTerms(t)) }); err != nil {
				t.Fatal(err)
			}
			if err := readDefaults(db); err != nil {
				t.Fatal(err)
			}
			good, err := os.ReadFile(db.Path)
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(db.Path)
			if err != nil {
				t.Fatal(err)
			}
			mtime := fi.ModTime()
			bad := bytes.Clone(good)
			c.damage(bad, int(binary.LittleEndian.Uint32(good[pageHeaderSize+8:])))
			f, err := os.OpenFile(db.Path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteAt(bad, 0)
			f.Close()
			if c.sameTick {
				// As if written within the clock tick of the last
				// check: the kept handle sees no new modification time.
				if err := os.Chtimes(db.Path, time.Time{}, mtime); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 2 {
				err := readDefaults(db)
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.says) {
					t.Errorf("read %d: %v, want ErrCorrupt saying %q", i, err, c.says)
				}
			}
			if after, _ := os.ReadFile(db.Path); !bytes.Equal(after, bad) {
				t.Error("the damaged file was changed")
			}
		})
	}
}

// TestKeptHandleFollowsTheFile: reads through a kept handle see what
// another handle wrote, a file that grew, and a file put in place of the
// old one (as Compact does, or a restore from a backup).
func TestKeptHandleFollowsTheFile(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	site := "https://shop.example"
	put := func(db *DB, state string) {
		t.Helper()
		if err := db.Update(func(tx *Tx) error {
			return tx.PutRelationship(Relationship{Site: site, State: state})
		}); err != nil {
			t.Fatal(err)
		}
	}
	state := func() string {
		t.Helper()
		var r *Relationship
		if err := db.View(func(tx *Tx) (err error) { r, err = tx.Relationship(site); return }); err != nil {
			t.Fatal(err)
		}
		if r == nil {
			return ""
		}
		return r.State
	}
	put(db, StateAgreed)
	if got := state(); got != StateAgreed {
		t.Fatalf("state %q, want %q", got, StateAgreed)
	}
	put(db, StateEnded)
	if got := state(); got != StateEnded {
		t.Errorf("after a write: state %q, want %q", got, StateEnded)
	}
	// Enough to make bbolt grow the file past what the handle mapped.
	before, _ := os.Stat(db.Path)
	if err := db.Update(func(tx *Tx) error {
		for i := range 2000 {
			if err := tx.PutBackoff("https://"+strings.Repeat("x", 100)+string(rune('a'+i%26))+".example/"+time.Duration(i).String(), Backoff{Failures: i}); err != nil {
				return err
			}
		}
		return tx.PutRelationship(Relationship{Site: site, State: StateConflict})
	}); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(db.Path); after.Size() <= before.Size() {
		t.Fatalf("the file did not grow (%d → %d bytes)", before.Size(), after.Size())
	}
	if got := state(); got != StateConflict {
		t.Errorf("after the file grew: state %q, want %q", got, StateConflict)
	}
	other := New(filepath.Join(t.TempDir(), "other.db"))
	put(other, StateAgreed)
	if err := os.Rename(other.Path, db.Path); err != nil {
		t.Fatal(err)
	}
	if got := state(); got != StateAgreed {
		t.Errorf("after the file was replaced: state %q, want %q", got, StateAgreed)
	}
}

// TestKeptHandleHoldsNoLock: between reads no lock is held, so a writer in
// another process (here: another descriptor) gets the file at once; while
// a writer holds it, a read through the kept handle waits and then says
// busy.
func TestKeptHandleHoldsNoLock(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	db.Timeout = 100 * time.Millisecond
	if err := db.Update(func(tx *Tx) error { return tx.PutDefaults(testTerms(t)) }); err != nil {
		t.Fatal(err)
	}
	if err := readDefaults(db); err != nil {
		t.Fatal(err)
	}
	held, err := bolt.Open(db.Path, 0o600, &bolt.Options{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("a writer cannot take the file after a read: %v", err)
	}
	err = readDefaults(db)
	held.Close()
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("read while a writer holds the file: %v, want ErrBusy", err)
	}
	if err := readDefaults(db); err != nil {
		t.Fatalf("after the writer let go: %v", err)
	}
}

// TestKeptHandleIsClosed: the handle is closed once unused for idleClose,
// and at once by this process's own compaction, so that a replaced file
// (a forgotten site's bytes) is not kept alive.
func TestKeptHandleIsClosed(t *testing.T) {
	if !keepMapped {
		t.Skip("read handles are not kept on this platform")
	}
	t.Parallel()
	db := newDB(t)
	if err := db.Update(func(tx *Tx) error { return tx.PutDefaults(testTerms(t)) }); err != nil {
		t.Fatal(err)
	}
	if err := readDefaults(db); err != nil || !kept(db.Path) {
		t.Fatalf("the read kept no handle (%v)", err)
	}
	if _, err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	if kept(db.Path) {
		t.Error("compaction left this process's read handle on the replaced file")
	}
	if err := readDefaults(db); err != nil || !kept(db.Path) {
		t.Fatalf("the read kept no handle (%v)", err)
	}
	deadline := time.Now().Add(idleClose + 5*time.Second)
	for kept(db.Path) && time.Now().Before(deadline) {
		time.Sleep(idleClose / 10)
	}
	if kept(db.Path) {
		t.Errorf("the handle is still open %v after the last read", idleClose+5*time.Second)
	}
}

// TestConcurrentReadsShareTheHandle: reads overlapping in one process share
// one handle and its lock, and writes in between take turns with them; the
// race detector watches the bookkeeping.
func TestConcurrentReadsShareTheHandle(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	if err := db.Update(func(tx *Tx) error { return tx.PutDefaults(testTerms(t)) }); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				var err error
				if i == 0 && j%4 == 0 {
					err = db.Update(func(tx *Tx) error { return tx.PutBackoff("https://a.example", Backoff{Failures: j}) })
				} else {
					err = db.View(func(tx *Tx) error {
						if d, err := tx.Defaults(); err != nil || d == nil {
							return errors.Join(err, errors.New("no defaults"))
						}
						return nil
					})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestCheckWaitsForTheWriter: the header check runs under the file's lock,
// so it never judges the half-written state of a writer's commit (a file
// caught between two commits once read as "the root page holds no data").
// Here a writer holds the lock over a torn file and mends it before letting
// go: every kind of open must wait and then find the file good.
func TestCheckWaitsForTheWriter(t *testing.T) {
	if !keepMapped {
		t.Skip("the check runs before bbolt's own lock on this platform")
	}
	t.Parallel()
	_, torn := freelistNotAFreelist(t)
	for name, op := range map[string]func(*DB) error{
		"view": func(db *DB) error { return readDefaults(db) },
		"update": func(db *DB) error {
			return db.Update(func(tx *Tx) error { return tx.PutBackoff("https://a.example", Backoff{}) })
		},
		"check": func(db *DB) error { _, err := db.Check(); return err },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := newDB(t)
			if err := db.Update(func(tx *Tx) error { return tx.PutDefaults(testTerms(t)) }); err != nil {
				t.Fatal(err)
			}
			good, _ := os.ReadFile(db.Path)
			writer, err := bolt.Open(db.Path, 0o600, &bolt.Options{Timeout: time.Second}) // the lock
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(db.Path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			f.WriteAt(torn[:len(good)], 0)
			done := make(chan error, 1)
			go func() { done <- op(db) }()
			time.Sleep(200 * time.Millisecond) // the op is waiting for the lock
			f.WriteAt(good, 0)
			writer.Close()
			if err := <-done; err != nil {
				t.Errorf("%s while a writer held the file: %v, want it to wait and succeed", name, err)
			}
		})
	}
}

// BenchmarkKeptRead is one read through the kept handle with nothing to
// read: what every look-up pays on top of its own work (take the lock,
// follow the file, let the lock go).
func BenchmarkKeptRead(b *testing.B) {
	db := newDB(b)
	if err := db.Update(func(tx *Tx) error { return tx.PutDefaults(testTerms(b)) }); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := db.View(func(*Tx) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTruncatedDuringRead: a file cut short while a read is in progress
// through the kept mapping (by something that takes no lock) makes that read
// fail with ErrCorrupt saying so, and the handle is not kept.
func TestTruncatedDuringRead(t *testing.T) {
	if !keepMapped {
		t.Skip("read handles are not kept on this platform")
	}
	t.Parallel()
	db := newDB(t)
	u := testTerms(t)
	if err := db.Update(func(tx *Tx) error {
		for i := range 100 {
			r := Relationship{Site: fmt.Sprintf("https://s%d.example", i), State: StateAgreed, MyTerms: &u}
			if err := tx.PutRelationship(r); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := readDefaults(db); err != nil {
		t.Fatal(err)
	}
	err := db.View(func(tx *Tx) error {
		if err := os.Truncate(db.Path, 8192); err != nil {
			t.Fatal(err)
		}
		_, err := tx.Relationships()
		return err
	})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "the file is truncated: 8192 bytes") {
		t.Errorf("read of a file cut under it: %v, want ErrCorrupt saying it is truncated", err)
	}
	if kept(db.Path) {
		t.Error("the handle the fault went through was kept")
	}
}
