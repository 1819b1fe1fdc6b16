// Package store keeps the r-button host's state in one bbolt file.
//
// Every operation takes the file's lock, runs one transaction and lets the
// lock go again, so the many host processes a browser spawns (one per port,
// one per sendNativeMessage) and the CLI share the file without holding its
// lock while they wait for input. A write opens and closes the file; a read
// reuses a read-only mapping kept between reads for a moment (reader.go),
// taking and releasing the shared lock on it each time. Taking the lock
// waits at most DB.Timeout and then fails with ErrBusy.
//
// Layout (all values are versioned JSON objects {"v":1,…}; relationships
// are {"v":2,"crc32c":…,…}, relvalue.go):
//
//	meta/
//	  schema                      uint64 big-endian, SchemaVersion
//	  generation                  uint64 big-endian, Tx.Generation (absent = 0)
//	terms/
//	  defaults                    policy.UserTerms
//	exceptions/
//	  <site origin>               policy.UserTerms
//	relationships/
//	  <site origin>               Relationship
//	history/
//	  <site origin>/              bucket per site
//	    <seq uint64 big-endian>   policy.Event (hash-chained)
//	keys/
//	  <site origin>               Key: the pairwise Ed25519 key for that site
//	backoff/
//	  <site origin>               Backoff: failures and next allowed attempt
//
// bbolt never shrinks its file and keeps deleted values in free pages until
// they are reused; Compact rewrites the file so that forgotten data is gone.
//
// A file written by a newer schema is refused (ErrNewerSchema); a file that
// is not a valid bbolt database is reported as ErrCorrupt and left in place,
// never recreated.
package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the schema this code writes.
const SchemaVersion = 1

// Errors. Wrapped in *Error with the file's path.
var (
	ErrBusy        = errors.New("database is busy (another r-button process holds it)")
	ErrCorrupt     = errors.New("database file is corrupt")
	ErrNewerSchema = errors.New("database was written by a newer r-button")
)

// Error is a failure opening or using the database file.
type Error struct {
	Path string
	Err  error
}

func (e *Error) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Advice says what the user can do about err, a failure from this package;
// "" when there is nothing to add. The file is never repaired or replaced
// for the user: it may be the only copy of their agreements.
func Advice(err error) string {
	var se *Error
	path := "the database file"
	if errors.As(err, &se) && se.Path != "" {
		path = se.Path
	}
	var ve *ValueError
	switch {
	case errors.As(err, &ve) && ve.Bucket == string(bucketRelationships) && errors.Is(err, ErrCorrupt):
		return fmt.Sprintf("the rest of %s may be sound: 'rbutton forget %s' removes the damaged relationship (the site is not told: its agreement can no longer be read), and the next visit negotiates afresh", path, ve.Key)
	case errors.Is(err, ErrCorrupt):
		return fmt.Sprintf("keep the file for recovery and start afresh: 'mv %s %s.corrupt'; agreements are then negotiated again on your next visits, and sites keep their signed copies", path, path)
	case errors.Is(err, ErrNewerSchema):
		return "a newer rbutton wrote this file: install that version again (or newer) rather than this one"
	case errors.Is(err, ErrBusy):
		return "another rbutton process holds the database; close the browsers using r-button, or wait, and try again"
	}
	return ""
}

var (
	bucketMeta          = []byte("meta")
	bucketTerms         = []byte("terms")
	bucketExceptions    = []byte("exceptions")
	bucketRelationships = []byte("relationships")
	bucketHistory       = []byte("history")
	bucketKeys          = []byte("keys")
	bucketBackoff       = []byte("backoff")
	keySchema           = []byte("schema")
	keyGeneration       = []byte("generation")
	keyDefaults         = []byte("defaults")
)

// DefaultTimeout is how long an operation waits for the file lock.
const DefaultTimeout = 2 * time.Second

// DB names the database file. It holds no open handle.
type DB struct {
	Path    string
	Timeout time.Duration
}

// New returns a DB for the file at path.
func New(path string) *DB { return &DB{Path: path, Timeout: DefaultTimeout} }

// DefaultPath is $RBUTTON_DB, else <user config dir>/rbutton/rbutton.db.
func DefaultPath() (string, error) {
	if p := os.Getenv("RBUTTON_DB"); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("locating the database: %w", err)
	}
	return filepath.Join(dir, "rbutton", "rbutton.db"), nil
}

// View runs fn in a read-only transaction.
func (d *DB) View(fn func(*Tx) error) error { return d.do(false, fn) }

// Update runs fn in a read-write transaction, committed if fn returns nil.
func (d *DB) Update(fn func(*Tx) error) error { return d.do(true, fn) }

// errNeedsWriter makes a read fall back to a read-write open.
var errNeedsWriter = errors.New("file needs a writer first")

func (d *DB) do(write bool, fn func(*Tx) error) (err error) {
	// Damage found in one value (a Tx method's error) names the file too.
	defer func() {
		var se *Error
		if (errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNewerSchema)) && !errors.As(err, &se) {
			err = &Error{Path: d.Path, Err: err}
		}
	}()
	if !write {
		if err := d.viewReadOnly(fn); !errors.Is(err, errNeedsWriter) {
			return err
		}
	}
	return d.with(false, func(db *bolt.DB) error {
		if err := d.migrate(db); err != nil {
			return err
		}
		run := func(tx *bolt.Tx) error { return fn(&Tx{tx: tx}) }
		if write {
			return db.Update(run)
		}
		return db.View(run)
	})
}

// viewReadOnly runs a read on a file opened read-only: a shared lock, so
// readers never wait for each other, and no load of bbolt's whole free-page
// list, which every read-write open does (BENCHMARKS.md, store growth). The
// read-only handle is kept between reads (reader.go). It returns
// errNeedsWriter when the file does not exist or is empty, or its schema is
// not current: creating and migrating are a writer's job, and a writer
// reports an empty file as damage.
func (d *DB) viewReadOnly(fn func(*Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	r, err := d.acquireReader()
	if err != nil {
		return err
	}
	defer func() {
		// One damaged value is no reason to distrust the mapping.
		var ve *ValueError
		r.release(errors.Is(err, ErrCorrupt) && !errors.As(err, &ve))
	}()
	// Runs before release: a panic (damage bbolt trips over, or a fault
	// on a page of a file damaged under the mapping) becomes ErrCorrupt,
	// said as checkOpenFile says it where it can, and the handle is closed
	// rather than kept.
	defer func() {
		if p := recover(); p != nil {
			cause := r.damaged()
			if cause == nil {
				cause = fmt.Errorf("%w: %v", ErrCorrupt, p)
			}
			err = &Error{Path: d.Path, Err: cause}
		}
	}()
	err = r.db.View(func(tx *bolt.Tx) error {
		if schemaOf(tx) != SchemaVersion {
			return errNeedsWriter
		}
		return fn(&Tx{tx: tx})
	})
	var se *Error
	if err != nil && !errors.As(err, &se) && isBoltError(err) {
		return d.wrap(err)
	}
	return err
}

// with opens the file, runs fn and closes the file again, reporting bbolt's
// errors (and its panics on some page-level corruption) as *Error.
//
// checkOpenFile (in boltOpen) refuses files whose pages bbolt would read
// past the end; should damage inside the file still make bbolt touch an unmapped
// page, SetPanicOnFault turns the fault into a panic recovered here rather
// than a crash.
func (d *DB) with(readOnly bool, fn func(*bolt.DB) error) (err error) {
	// Installed before the file is opened: bbolt can panic inside Open
	// too (a freelist page that is not one).
	defer func() {
		if r := recover(); r != nil {
			err = &Error{Path: d.Path, Err: fmt.Errorf("%w: %v", ErrCorrupt, r)}
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	db, err := d.open(readOnly)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = d.wrap(cerr)
		}
	}()
	err = fn(db)
	var se *Error
	if err != nil && !errors.As(err, &se) && isBoltError(err) {
		return d.wrap(err)
	}
	return err
}

func (d *DB) timeout() time.Duration {
	if d.Timeout <= 0 {
		return DefaultTimeout
	}
	return d.Timeout
}

func (d *DB) open(readOnly bool) (*bolt.DB, error) {
	dir := filepath.Dir(d.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, &Error{Path: d.Path, Err: err}
	}
	if err := d.create(); err != nil {
		return nil, err
	}
	// Compact replaces the file while holding its lock: whoever got the
	// lock of the replaced file opens again, up to a few times.
	for range 5 {
		db, file, err := d.boltOpen(readOnly, checkOpenFile)
		if err != nil {
			return nil, err
		}
		if sameFile(file, d.Path) {
			return db, nil
		}
		db.Close()
	}
	return nil, &Error{Path: d.Path, Err: ErrBusy}
}

// boltOpen opens the existing file with bbolt and returns the *os.File
// bbolt uses. check, if not nil, runs on that descriptor, with the file's
// lock held, before bbolt reads or maps anything (one open per operation,
// not one for the check and one for bbolt); its error is returned, wrapped,
// and the file closed.
//
// A panic inside bolt.Open (damage check does not see) becomes ErrCorrupt
// and the file bbolt opened is closed. bbolt's memory map of it cannot be
// reached from here, and it keeps the file's lock until this process exits:
// checkOpenFile refuses the damage known to panic there (a freelist or root
// page of the wrong type) before bbolt sees it.
func (d *DB) boltOpen(readOnly bool, check func(*os.File) error) (db *bolt.DB, file *os.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			if file != nil {
				file.Close()
			}
			db, file, err = nil, nil, &Error{Path: d.Path, Err: fmt.Errorf("%w: %v", ErrCorrupt, r)}
		}
	}()
	db, err = bolt.Open(d.Path, 0o600, &bolt.Options{Timeout: d.timeout(), ReadOnly: readOnly,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			// d.create made the file; bbolt must not make an empty one
			// in its place should it have gone since.
			f, err := os.OpenFile(name, flag&^os.O_CREATE, perm)
			if err != nil {
				return nil, err
			}
			// The lock bbolt takes next, taken first: a check without it
			// can read the headers of one commit and a page another
			// writer has reused since.
			if err := lockFile(f.Fd(), !readOnly, d.timeout()); err != nil {
				f.Close()
				if errors.Is(err, errLockTimeout) {
					err = bolterrors.ErrTimeout
				}
				return nil, err
			}
			if check != nil {
				if err := check(f); err != nil {
					f.Close()
					return nil, err
				}
			}
			file = f
			return f, nil
		}})
	if err != nil {
		return nil, nil, d.wrap(err)
	}
	return db, file, nil
}

// create makes a new database file when there is none. bbolt would create
// it in place, where another process could find it empty before bbolt has
// written its header; here it is built under a private name and linked into
// place whole, so an empty file at d.Path is always damage, never a file
// being created.
func (d *DB) create() error {
	if _, err := os.Lstat(d.Path); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := fmt.Sprintf("%s.new-%x", d.Path, rnd)
	db, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: d.timeout()})
	if err != nil {
		os.Remove(tmp)
		return &Error{Path: d.Path, Err: fmt.Errorf("creating the database: %w", err)}
	}
	err = db.Close()
	if err == nil {
		if lerr := os.Link(tmp, d.Path); lerr != nil && !errors.Is(lerr, os.ErrExist) {
			err = lerr
		}
	}
	os.Remove(tmp)
	if err != nil {
		return &Error{Path: d.Path, Err: fmt.Errorf("creating the database: %w", err)}
	}
	syncDir(filepath.Dir(d.Path))
	return nil
}

// sameFile reports whether path still names the file f has open.
func sameFile(f *os.File, path string) bool {
	if f == nil {
		return true
	}
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

func isBoltError(err error) bool {
	return errors.Is(err, bolterrors.ErrInvalid) || errors.Is(err, bolterrors.ErrChecksum) ||
		errors.Is(err, bolterrors.ErrVersionMismatch) || errors.Is(err, bolterrors.ErrTimeout) ||
		errors.Is(err, bolterrors.ErrInvalidMapping)
}

func (d *DB) wrap(err error) error {
	switch {
	case errors.Is(err, ErrCorrupt):
		return &Error{Path: d.Path, Err: err}
	case errors.Is(err, bolterrors.ErrTimeout):
		return &Error{Path: d.Path, Err: ErrBusy}
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum),
		errors.Is(err, bolterrors.ErrVersionMismatch), errors.Is(err, bolterrors.ErrInvalidMapping):
		return &Error{Path: d.Path, Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
	}
	// bbolt reports a file too short to hold its meta pages with a plain
	// error; any other open failure on an existing non-empty file is
	// treated as corruption so we never overwrite it.
	if fi, serr := os.Stat(d.Path); serr == nil && fi.Size() > 0 && !errors.Is(err, os.ErrPermission) {
		return &Error{Path: d.Path, Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
	}
	return &Error{Path: d.Path, Err: err}
}

// migration brings the schema from version-1 to version.
type migration struct {
	version int
	migrate func(*bolt.Tx) error
}

var migrations = []migration{
	{1, func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketTerms, bucketExceptions, bucketRelationships, bucketHistory, bucketKeys, bucketBackoff} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}},
}

// schemaOf reports the schema version stored in the file (0 when new).
func schemaOf(tx *bolt.Tx) uint64 {
	b := tx.Bucket(bucketMeta)
	if b == nil {
		return 0
	}
	v := b.Get(keySchema)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// migrate runs the pending migrations, in order, in one transaction. It
// writes nothing (no fsync) when the schema is current.
func (d *DB) migrate(db *bolt.DB) error {
	var current uint64
	if err := db.View(func(tx *bolt.Tx) error { current = schemaOf(tx); return nil }); err != nil {
		return d.wrap(err)
	}
	if current == SchemaVersion {
		return nil
	}
	if current > SchemaVersion {
		return &Error{Path: d.Path, Err: fmt.Errorf("%w (schema %d, this version reads up to %d)", ErrNewerSchema, current, SchemaVersion)}
	}
	err := db.Update(func(tx *bolt.Tx) error {
		current := schemaOf(tx) // another process may have migrated meanwhile
		if current > SchemaVersion {
			return &Error{Path: d.Path, Err: ErrNewerSchema}
		}
		for _, m := range migrations {
			if uint64(m.version) <= current {
				continue
			}
			if err := m.migrate(tx); err != nil {
				return fmt.Errorf("migrating to schema %d: %w", m.version, err)
			}
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], SchemaVersion)
		return meta.Put(keySchema, v[:])
	})
	var se *Error
	if err != nil && !errors.As(err, &se) {
		return &Error{Path: d.Path, Err: err}
	}
	return err
}

// Info describes the file for `rbutton doctor`.
type Info struct {
	Path   string
	Schema uint64
	Sites  int
	Size   int64
}

// Check opens the file read-only, runs bbolt's consistency check and
// reports what it found. It does not create the file.
func (d *DB) Check() (info Info, err error) {
	info.Path = d.Path
	defer func() {
		if r := recover(); r != nil {
			err = &Error{Path: d.Path, Err: fmt.Errorf("%w: %v", ErrCorrupt, r)}
		}
	}()
	fi, err := os.Stat(d.Path)
	if err != nil {
		return info, &Error{Path: d.Path, Err: err}
	}
	info.Size = fi.Size()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	db, _, err := d.boltOpen(true, checkOpenFile)
	if err != nil {
		return info, err
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for cerr := range tx.Check() {
			return fmt.Errorf("%w: %v", ErrCorrupt, cerr)
		}
		info.Schema = schemaOf(tx)
		if b := tx.Bucket(bucketRelationships); b != nil {
			info.Sites = b.Stats().KeyN
		}
		return nil
	})
	if err != nil {
		return info, &Error{Path: d.Path, Err: err}
	}
	if info.Schema > SchemaVersion {
		return info, &Error{Path: d.Path, Err: ErrNewerSchema}
	}
	return info, nil
}

// marshal encodes a stored value. Every stored type carries its own
// "v" member, so values can evolve without a schema migration.
func marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(b) < 2 || b[0] != '{' {
		return nil, fmt.Errorf("store: value is not an object")
	}
	return b, nil
}
