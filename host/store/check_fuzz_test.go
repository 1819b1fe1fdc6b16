package store

import (
	"encoding/binary"
	"errors"
	"hash/fnv"
	"os"
	"path/filepath"
	"testing"
)

// FuzzCheckOpenFile feeds the header check arbitrary files, grown from a
// real database and the damaged ones of damagedFiles. Both meta checksums
// are made right again first, so that the fuzzer reaches past them to the
// sizes, page numbers and page headers the check reads. The check must
// never panic; a file it refuses must be ErrCorrupt; and a file it accepts
// must be safe to open: DB.Check (bbolt's read-only open and its walk over
// every page) then returns, whatever it finds, instead of crashing.
func FuzzCheckOpenFile(f *testing.F) {
	db := newDB(f)
	if err := db.Update(func(tx *Tx) error { return tx.PutDefaults(testTerms(f)) }); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(db.Path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(good[:40])
	f.Add([]byte("{\"this is\": \"not a database\"}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		resign(b)
		path := filepath.Join(t.TempDir(), "rbutton.db")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		file, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		cerr := checkOpenFile(file)
		file.Close()
		if cerr != nil {
			if !errors.Is(cerr, ErrCorrupt) {
				t.Fatalf("refused with %v, want ErrCorrupt", cerr)
			}
			return
		}
		New(path).Check() // must return
	})
}

// resign recomputes the checksum of each meta page b holds (page size
// taken from the first), as bbolt computes it.
func resign(b []byte) {
	if len(b) < pageHeaderSize+metaSize {
		return
	}
	ps := int(binary.LittleEndian.Uint32(b[pageHeaderSize+8:]))
	for _, off := range []int{pageHeaderSize, ps + pageHeaderSize} {
		if ps <= 0 || off < 0 || off+metaSize > len(b) {
			continue
		}
		m := b[off : off+metaSize]
		h := fnv.New64a()
		h.Write(m[:metaChecksumAt])
		binary.LittleEndian.PutUint64(m[metaChecksumAt:], h.Sum64())
	}
}
