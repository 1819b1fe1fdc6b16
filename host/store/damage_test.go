package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"strings"
	"testing"
	"time"
)

// damagedFile builds a real database with some relationships, then damages
// it one way. Each kind names what checkOpenFile must say.
func damagedFiles(t *testing.T) map[string]struct {
	bytes []byte
	says  string
} {
	t.Helper()
	db := newDB(t)
	u := testTerms(t)
	if err := db.Update(func(tx *Tx) error {
		if err := tx.PutDefaults(u); err != nil {
			return err
		}
		for i := range 200 {
			site := fmt.Sprintf("https://shop%03d.example", i)
			r := Relationship{Site: site, State: StateAgreed, Since: time.Now(), Updated: time.Now(), MyTerms: &u,
				TermsDigest: strings.Repeat("x", 200)}
			if err := tx.PutRelationship(r); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(db.Path)
	if err != nil {
		t.Fatal(err)
	}
	if len(good) < 8*4096 {
		t.Fatalf("test database is only %d bytes", len(good))
	}
	pageSize := int(binary.LittleEndian.Uint32(good[pageHeaderSize+8:]))
	wrongMagic := bytes.Clone(good)
	for _, off := range []int{pageHeaderSize, pageSize + pageHeaderSize} {
		binary.LittleEndian.PutUint32(wrongMagic[off:], 0xDEADBEEF)
	}
	badSums := bytes.Clone(good)
	for _, off := range []int{pageHeaderSize, pageSize + pageHeaderSize} {
		badSums[off+metaChecksumAt] ^= 0xff
	}
	return map[string]struct {
		bytes []byte
		says  string
	}{
		"truncated":         {good[:len(good)/2], "the file is truncated"},
		"truncated-to-meta": {good[:2*pageSize+100], "the file is truncated"},
		"header-only":       {good[:40], "too short"},
		"zero-length":       {nil, "empty"},
		"text":              {[]byte("{\"this is\": \"not a database\"}\n" + strings.Repeat("text ", 2000)), "not a database file"},
		"wrong-magic":       {wrongMagic, "not a database file"},
		"bad-checksums":     {badSums, "fail their checksum"},
	}
}

// TestDamagedFiles: every operation on a damaged file fails with ErrCorrupt
// naming the file and the damage, never crashes (a truncated file used to
// be a SIGBUS), and leaves the file exactly as it was.
func TestDamagedFiles(t *testing.T) {
	t.Parallel()
	for kind, d := range damagedFiles(t) {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			db := newDB(t)
			os.MkdirAll(db.Path[:strings.LastIndex(db.Path, "/")], 0o700)
			if err := os.WriteFile(db.Path, d.bytes, 0o600); err != nil {
				t.Fatal(err)
			}
			ops := map[string]func() error{
				"view": func() error {
					return db.View(func(tx *Tx) error { _, err := tx.Relationships(); return err })
				},
				"update": func() error {
					return db.Update(func(tx *Tx) error { return tx.PutDefaults(testTerms(t)) })
				},
				"check":   func() error { _, err := db.Check(); return err },
				"compact": func() error { _, err := db.Compact(); return err },
			}
			for name, op := range ops {
				err := op()
				var se *Error
				if !errors.Is(err, ErrCorrupt) || !errors.As(err, &se) || se.Path != db.Path {
					t.Errorf("%s: err = %v, want ErrCorrupt for %s", name, err, db.Path)
					continue
				}
				if !strings.Contains(err.Error(), d.says) {
					t.Errorf("%s: %v does not say %q", name, err, d.says)
				}
				if a := Advice(err); !strings.Contains(a, "mv "+db.Path) {
					t.Errorf("%s: advice %q does not say how to move the file aside", name, a)
				}
			}
			after, err := os.ReadFile(db.Path)
			if err != nil || !bytes.Equal(after, d.bytes) {
				t.Errorf("the damaged file was changed (%d bytes → %d, %v)", len(d.bytes), len(after), err)
			}
		})
	}
}

// TestGeneration: the counter moves with every change a browser must act
// on, once per transaction, and not with bookkeeping such as backoff.
func TestGeneration(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	gen := func() uint64 {
		var g uint64
		if err := db.View(func(tx *Tx) error { g = tx.Generation(); return nil }); err != nil {
			t.Fatal(err)
		}
		return g
	}
	u := testTerms(t)
	site := "https://shop.example"
	steps := []struct {
		name  string
		moves bool
		fn    func(tx *Tx) error
	}{
		{"defaults", true, func(tx *Tx) error { return tx.PutDefaults(u) }},
		{"exception", true, func(tx *Tx) error { return tx.PutException(site, u) }},
		{"exception cleared", true, func(tx *Tx) error { _, err := tx.DeleteException(site); return err }},
		{"no exception to clear", false, func(tx *Tx) error { _, err := tx.DeleteException(site); return err }},
		{"backoff", false, func(tx *Tx) error { return tx.PutBackoff(site, Backoff{Failures: 1}) }},
		{"new relationship", true, func(tx *Tx) error {
			return tx.PutRelationship(Relationship{Site: site, State: StateAgreed, AgreedDigest: "a"})
		}},
		{"same state and digest", false, func(tx *Tx) error {
			return tx.PutRelationship(Relationship{Site: site, State: StateAgreed, AgreedDigest: "a", Updated: time.Now()})
		}},
		{"new agreed digest", true, func(tx *Tx) error {
			return tx.PutRelationship(Relationship{Site: site, State: StateAgreed, AgreedDigest: "b"})
		}},
		{"two changes, one transaction", true, func(tx *Tx) error {
			if err := tx.PutRelationship(Relationship{Site: site, State: StateEnded}); err != nil {
				return err
			}
			return tx.PutDefaults(u)
		}},
		{"forget", true, func(tx *Tx) error { _, err := tx.Forget(site); return err }},
		{"forget nothing", false, func(tx *Tx) error { _, err := tx.Forget(site); return err }},
	}
	last := gen()
	for _, s := range steps {
		if err := db.Update(s.fn); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		g := gen()
		switch {
		case s.moves && g != last+1:
			t.Errorf("%s: generation %d → %d, want +1", s.name, last, g)
		case !s.moves && g != last:
			t.Errorf("%s: generation %d → %d, want unchanged", s.name, last, g)
		}
		last = g
	}
}

// freelistNotAFreelist returns a copy of a real database file whose
// headers are valid but whose free-page list is the root bucket's leaf
// page: bbolt panics inside Open on it.
func freelistNotAFreelist(t *testing.T) (*DB, []byte) {
	t.Helper()
	db := newDB(t)
	if err := db.Update(func(tx *Tx) error { return tx.PutDefaults(testTerms(t)) }); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(db.Path)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := int(binary.LittleEndian.Uint32(b[pageHeaderSize+8:]))
	for _, off := range []int{pageHeaderSize, pageSize + pageHeaderSize} {
		m := b[off : off+metaSize]
		root := binary.LittleEndian.Uint64(m[16:])
		binary.LittleEndian.PutUint64(m[32:], root)
		h := fnv.New64a()
		h.Write(m[:metaChecksumAt])
		binary.LittleEndian.PutUint64(m[metaChecksumAt:], h.Sum64())
	}
	if err := os.WriteFile(db.Path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return db, b
}

// TestPanicInOpenIsCorrupt: the guard around bolt.Open turns bbolt's panic
// on such a file into ErrCorrupt naming the file, instead of a crash.
func TestPanicInOpenIsCorrupt(t *testing.T) {
	db, _ := freelistNotAFreelist(t)
	bdb, _, err := db.boltOpen(false, nil)
	var se *Error
	if !errors.Is(err, ErrCorrupt) || !errors.As(err, &se) || se.Path != db.Path {
		if bdb != nil {
			bdb.Close()
		}
		t.Fatalf("bolt.Open on a freelist that is not one: %v, want ErrCorrupt naming the file", err)
	}
	if !strings.Contains(err.Error(), "freelist") {
		t.Errorf("error does not carry bbolt's reason: %v", err)
	}
}

// TestFreelistNotAFreelist: checkOpenFile refuses that file before bbolt sees
// it, so every call fails the same clear way (no lock left held by a
// panicked Open), and the file is left as it was.
func TestFreelistNotAFreelist(t *testing.T) {
	db, b := freelistNotAFreelist(t)
	for i := range 2 {
		err := db.Update(func(tx *Tx) error { return tx.PutDefaults(testTerms(t)) })
		var se *Error
		if !errors.Is(err, ErrCorrupt) || !errors.As(err, &se) || se.Path != db.Path || !strings.Contains(err.Error(), "free-page list") {
			t.Fatalf("update %d: %v, want ErrCorrupt naming the file and the free-page list", i, err)
		}
		if err := db.View(func(tx *Tx) error { return nil }); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("view %d: %v, want ErrCorrupt", i, err)
		}
	}
	after, _ := os.ReadFile(db.Path)
	if !bytes.Equal(after, b) {
		t.Error("the damaged file was changed")
	}
}
