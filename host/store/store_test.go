package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/rbutton/rbutton/policy"
)

func newDB(t testing.TB) *DB {
	t.Helper()
	return New(filepath.Join(t.TempDir(), "sub", "rbutton.db"))
}

func TestCreatesWithPrivatePermissions(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	if err := db.Update(func(tx *Tx) error { return tx.PutDefaults(testTerms(t)) }); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(db.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
	di, _ := os.Stat(filepath.Dir(db.Path))
	if di.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", di.Mode().Perm())
	}
	info, err := db.Check()
	if err != nil || info.Schema != SchemaVersion {
		t.Fatalf("check: %+v %v", info, err)
	}
}

func testTerms(t testing.TB) policy.UserTerms {
	u, ok := policy.Preset(policy.DefaultPreset)
	if !ok {
		t.Fatal("no default preset")
	}
	return u
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	site := "https://shop.example"
	u := testTerms(t)
	err := db.Update(func(tx *Tx) error {
		if err := tx.PutException(site, u); err != nil {
			return err
		}
		if err := tx.PutRelationship(Relationship{Site: site, State: StateConflict, MyTerms: &u}); err != nil {
			return err
		}
		for _, typ := range []string{policy.EventConflict, policy.EventTermsChanged, policy.EventNegotiated} {
			if _, err := tx.AppendEvent(site, policy.Event{Type: typ, Time: time.Now()}); err != nil {
				return err
			}
		}
		return tx.PutBackoff(site, Backoff{Failures: 2, Next: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *Tx) error {
		r, err := tx.Relationship(site)
		if err != nil || r == nil || r.State != StateConflict || r.Conflicts == nil {
			t.Errorf("relationship %+v %v", r, err)
		}
		h, err := tx.History(site)
		if err != nil || len(h) != 3 {
			t.Fatalf("history %+v %v", h, err)
		}
		if err := policy.VerifyChain(h); err != nil {
			t.Errorf("chain: %v", err)
		}
		if h[2].Seq != 2 || h[2].Prev != h[1].Hash {
			t.Errorf("chain links: %+v", h)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	if err := db.Update(func(tx *Tx) (err error) { found, err = tx.Forget(site); return }); err != nil || !found {
		t.Fatalf("forget: %v %v", found, err)
	}
	db.View(func(tx *Tx) error {
		r, _ := tx.Relationship(site)
		h, _ := tx.History(site)
		e, _ := tx.Exception(site)
		b, _ := tx.Backoff(site)
		if r != nil || len(h) != 0 || e != nil || b != nil {
			t.Errorf("forget left data: %v %v %v %v", r, h, e, b)
		}
		return nil
	})
}

func TestCorruptFileIsReportedAndKept(t *testing.T) {
	t.Parallel()
	for name, content := range map[string][]byte{
		"text":      []byte("this is not a database\n"),
		"zeros":     make([]byte, 64<<10),
		"truncated": nil, // filled below from a real database
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := newDB(t)
			if content == nil {
				if err := db.Update(func(tx *Tx) error { return tx.PutDefaults(testTerms(t)) }); err != nil {
					t.Fatal(err)
				}
				b, _ := os.ReadFile(db.Path)
				content = b[:1000]
			}
			os.MkdirAll(filepath.Dir(db.Path), 0o700)
			if err := os.WriteFile(db.Path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			err := db.View(func(tx *Tx) error { return nil })
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
			var se *Error
			if !errors.As(err, &se) || se.Path != db.Path {
				t.Errorf("error does not name the file: %v", err)
			}
			if err := db.Update(func(tx *Tx) error { return tx.PutDefaults(testTerms(t)) }); !errors.Is(err, ErrCorrupt) {
				t.Errorf("update err = %v", err)
			}
			after, _ := os.ReadFile(db.Path)
			if string(after) != string(content) {
				t.Errorf("corrupt file was modified")
			}
			if _, err := db.Check(); !errors.Is(err, ErrCorrupt) {
				t.Errorf("check err = %v", err)
			}
		})
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	if err := db.Update(func(tx *Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	raw, err := bolt.Open(db.Path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw.Update(func(tx *bolt.Tx) error {
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], SchemaVersion+1)
		return tx.Bucket(bucketMeta).Put(keySchema, v[:])
	})
	raw.Close()
	err = db.View(func(tx *Tx) error { return nil })
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("err = %v, want ErrNewerSchema", err)
	}
}

func TestBusy(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	db.Timeout = 100 * time.Millisecond
	if err := db.Update(func(tx *Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	held, err := bolt.Open(db.Path, 0o600, nil) // holds the lock
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *Tx) error { return nil })
	held.Close()
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy", err)
	}
	if err := db.View(func(tx *Tx) error { return nil }); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

func TestFailedUpdateWritesNothing(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	boom := errors.New("boom")
	err := db.Update(func(tx *Tx) error {
		tx.PutDefaults(testTerms(t))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	db.View(func(tx *Tx) error {
		if d, _ := tx.Defaults(); d != nil {
			t.Errorf("rolled-back write is visible")
		}
		return nil
	})
}

// TestNewFileIsNeverEmpty: a new database is built under a private name
// and linked into place, so processes racing to create it never see an
// empty file (which is damage: TestDamagedFiles in damage_test.go).
func TestNewFileIsNeverEmpty(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rbutton.db")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- New(path).View(func(tx *Tx) error { _, err := tx.Defaults(); return err })
		}()
		go func() {
			defer wg.Done()
			errs <- New(path).Update(func(tx *Tx) error { return tx.PutBackoff("https://a.example", Backoff{Failures: 1}) })
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	left, _ := filepath.Glob(path + ".new-*")
	if len(left) != 0 {
		t.Errorf("creation left %v behind", left)
	}
}

// relationship.get sends RelationshipJSON on as it is: it must be exactly
// what decoding the stored value and encoding it again would give.
func TestRelationshipJSON(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	u := testTerms(t)
	rel := Relationship{Site: "https://shop.example", State: StateAgreed, Since: time.Now(), Updated: time.Now(),
		TermsDigest: "sha-256=:x<&>:", MyTerms: &u, Exception: true, Error: &RelationshipError{Code: "c", Message: "m \"quoted\""}}
	raw := func(site, value string) error {
		return db.Update(func(tx *Tx) error { return tx.tx.Bucket(bucketRelationships).Put([]byte(site), []byte(value)) })
	}
	if err := db.Update(func(tx *Tx) error { return tx.PutRelationship(rel) }); err != nil {
		t.Fatal(err)
	}
	// A value written by another value version: decoded, then encoded.
	if err := raw("https://old.example", `{"site":"https://old.example","state":"conflict","dropped":true}`); err != nil {
		t.Fatal(err)
	}
	if err := raw("https://damaged.example", `{"v":1,"site":"https://dam`); err != nil {
		t.Fatal(err)
	}
	// A value written before relationships carried a checksum (version 1).
	v1 := rel
	v1.Site = "https://v1.example"
	members, _ := json.Marshal(v1)
	if err := raw(v1.Site, `{"v":1,`+string(members[1:])); err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *Tx) error {
		for _, site := range []string{rel.Site, "https://old.example", v1.Site} {
			got, err := tx.RelationshipJSON(site)
			if err != nil {
				t.Fatalf("%s: %v", site, err)
			}
			r, err := tx.Relationship(site)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(r)
			if !bytes.Equal(got, want) {
				t.Errorf("%s:\n got %s\nwant %s", site, got, want)
			}
		}
		if got, err := tx.RelationshipJSON("https://none.example"); got != nil || err != nil {
			t.Errorf("no relationship: %s %v", got, err)
		}
		if got, err := tx.RelationshipJSON("https://damaged.example"); !errors.Is(err, ErrCorrupt) {
			t.Errorf("damaged value: %s %v, want ErrCorrupt", got, err)
		}
		return nil
	})
}

// TestRelationshipChecksum: a stored relationship whose bytes changed after
// they were written (damage inside a string is still valid JSON) is refused
// by every reader with ErrCorrupt naming it, and the others still read.
func TestRelationshipChecksum(t *testing.T) {
	t.Parallel()
	u := testTerms(t)
	good := Relationship{Site: "https://good.example", State: StateAgreed, Since: time.Now(), Updated: time.Now(), MyTerms: &u}
	replace := func(old, new string) func(v []byte) []byte {
		return func(v []byte) []byte { return bytes.Replace(v, []byte(old), []byte(new), 1) }
	}
	for name, damage := range map[string]func(v []byte) []byte{
		"the version made 1":         replace(`{"v":2,`, `{"v":1,`),
		"the version made 3":         replace(`{"v":2,`, `{"v":3,`),
		"the checksum's name":        replace(`"crc32c"`, `"crc32d"`),
		"the checksum's name, again": replace(`"crc32c"`, `"Crc32c"`),
		"a letter of a string": func(v []byte) []byte {
			i := bytes.Index(v, []byte("bad.example"))
			v[i] = 'B'
			return v
		},
		"a byte of the checksum": func(v []byte) []byte {
			i := bytes.Index(v, []byte(`"crc32c":"`)) + len(`"crc32c":"`)
			v[i] ^= 1
			return v
		},
		"the checksum not hex": func(v []byte) []byte {
			i := bytes.Index(v, []byte(`"crc32c":"`)) + len(`"crc32c":"`)
			v[i] = 'z'
			return v
		},
		"a cut checksum": func(v []byte) []byte { return []byte(`{"v":2,"crc32c":"89ab"}`) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := newDB(t)
			bad := good
			bad.Site = "https://bad.example"
			if err := db.Update(func(tx *Tx) error {
				if err := tx.PutRelationship(good); err != nil {
					return err
				}
				if err := tx.PutRelationship(bad); err != nil {
					return err
				}
				b := tx.tx.Bucket(bucketRelationships)
				return b.Put([]byte(bad.Site), damage(bytes.Clone(b.Get([]byte(bad.Site)))))
			}); err != nil {
				t.Fatal(err)
			}
			view := func(fn func(tx *Tx) error) func() error { return func() error { return db.View(fn) } }
			for reader, read := range map[string]func() error{
				"RelationshipJSON": view(func(tx *Tx) error { _, err := tx.RelationshipJSON(bad.Site); return err }),
				"Relationship":     view(func(tx *Tx) error { _, err := tx.Relationship(bad.Site); return err }),
				"Relationships":    view(func(tx *Tx) error { _, err := tx.Relationships(); return err }),
				"Gist":             view(func(tx *Tx) error { _, err := tx.Gist(bad.Site); return err }),
				"EachGist":         view(func(tx *Tx) error { return tx.EachGist(func(Gist) error { return nil }) }),
			} {
				err := read()
				want, says := ErrCorrupt, "relationships/"+bad.Site+": checksum mismatch"
				if name == "the version made 3" {
					want, says = ErrNewerSchema, "relationships/"+bad.Site+": database was written by a newer r-button (value version 3)"
				}
				var se *Error
				if !errors.Is(err, want) || !strings.Contains(err.Error(), says) || !errors.As(err, &se) || se.Path != db.Path {
					t.Errorf("%s: %v, want %v naming %s and saying %q", reader, err, want, db.Path, says)
				}
			}
			db.View(func(tx *Tx) error {
				if got, err := tx.RelationshipJSON(good.Site); err != nil || !bytes.HasPrefix(got, []byte(`{"site":"https://good.example"`)) {
					t.Errorf("the undamaged relationship: %.60s %v", got, err)
				}
				return nil
			})
		})
	}
}
