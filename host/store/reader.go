package store

import (
	"errors"
	"os"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Reads keep their read-only bbolt handle open between transactions, on the
// platforms where keepMapped is true. Opening a bbolt file and closing it
// again costs about ten system calls, and the munmap of the close is a TLB
// shoot-down on every CPU the process has run on, an inter-processor
// interrupt that on a shared virtual machine waits for the other CPU to be
// scheduled: together most of a look-up's time (BENCHMARKS.md, sections 1
// and 3).
//
// Between reads the handle holds no lock: every read takes the shared lock
// on its descriptor, checks that the path still names the mapped file and
// that the file still has the size it had when it was mapped (a writer that
// grows the file, or Compact that replaces it, makes the next read open
// afresh), runs checkOpenFile on it as an open does if it was written since
// the last check (its modification time changed: three reads of header
// pages, a third of a look-up, saved while nothing writes), reads and lets
// the lock go. The mapping reads what other processes write because it is a
// shared mapping of the file (as bbolt's own reads after its writes rely
// on). Damage the modification time does not show (written within the
// clock tick of the last check) still cannot crash the process: bbolt
// checks the header pages' checksums and page kinds as it reads, and
// viewReadOnly recovers its panics and faults.
//
// A handle unused for idleClose is closed, so that a process keeps neither a
// mapping nor a file that Compact replaced (a forgotten site's bytes) for
// longer than that.
const idleClose = time.Second

// readers holds the reader of each database path in this process.
var readers struct {
	sync.Mutex
	m map[string]*reader
}

// reader is the read-only handle of one database file.
type reader struct {
	mu     sync.Mutex
	db     *bolt.DB
	file   *os.File    // bbolt's descriptor
	fd     uintptr     // file.Fd(), taken once: each call of Fd costs two fcntl
	opened os.FileInfo // the file as bbolt mapped it (identity and size)
	// checked is the file's modification time when its header pages were
	// last checked: reads check them again only after a write.
	checked time.Time
	users   int  // reads in progress; the shared lock is held while > 0
	broken  bool // a read found damage: close, do not keep
	idle    *time.Timer
}

func readerFor(path string) *reader {
	readers.Lock()
	defer readers.Unlock()
	if readers.m == nil {
		readers.m = map[string]*reader{}
	}
	r := readers.m[path]
	if r == nil {
		r = &reader{}
		readers.m[path] = r
	}
	return r
}

// acquireReader returns d's reader with its shared lock held and the file
// checked, ready for one read; release must follow. It returns
// errNeedsWriter when there is no file or it is empty.
func (d *DB) acquireReader() (*reader, error) {
	r := readerFor(d.Path)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.users > 0 {
		// Another read holds the lock and has checked the file; no writer
		// can have changed it since.
		r.users++
		return r, nil
	}
	// Compact replaces the file while holding its lock: whoever got the
	// lock of the replaced file opens again, up to a few times.
	for range 5 {
		if r.db != nil {
			if err := lockFile(r.fd, false, d.timeout()); err != nil {
				r.close()
				if errors.Is(err, errLockTimeout) {
					err = ErrBusy
				}
				return nil, &Error{Path: d.Path, Err: err}
			}
			if fi, ok := r.current(d.Path); ok {
				// Written since the last check (by a writer, or damaged
				// in place): check the header pages again.
				if !fi.ModTime().Equal(r.checked) {
					if err := checkFileAt(r.file, fi.Size()); err != nil {
						r.close()
						return nil, d.wrap(err)
					}
					r.checked = fi.ModTime()
				}
				r.users = 1
				return r, nil
			}
			r.close() // closing the descriptor lets its lock go
		}
		if fi, err := os.Stat(d.Path); err != nil || fi.Size() == 0 {
			return nil, errNeedsWriter
		}
		db, file, err := d.boltOpen(true, checkOpenFile)
		if err != nil {
			return nil, err
		}
		fi, ok := sameFileInfo(file, d.Path)
		if !ok {
			db.Close()
			continue
		}
		r.db, r.file, r.fd, r.opened, r.checked, r.users = db, file, file.Fd(), fi, fi.ModTime(), 1
		return r, nil
	}
	return nil, &Error{Path: d.Path, Err: ErrBusy}
}

// current reports whether the path still names r's file at the size it was
// mapped with, and the file's information. One stat of the path: the
// descriptor's identity was taken when it was opened.
func (r *reader) current(path string) (os.FileInfo, bool) {
	fi, err := os.Stat(path)
	return fi, err == nil && os.SameFile(fi, r.opened) && fi.Size() == r.opened.Size()
}

// damaged says what is wrong with r's file after bbolt panicked reading
// it, as checkOpenFile says it (at the file's size now: it may have been
// cut under the read), or nil if it finds nothing wrong or cannot look.
func (r *reader) damaged() error {
	if err := checkOpenFile(r.file); errors.Is(err, ErrCorrupt) {
		return err
	}
	return nil
}

// release ends one read. The last one lets the lock go and keeps the handle
// for the next read, or closes it if a read found damage or the platform
// cannot keep it.
func (r *reader) release(damaged bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.broken = r.broken || damaged
	r.users--
	if r.users > 0 {
		return
	}
	if r.broken && keepMapped {
		r.discard()
		return
	}
	if !keepMapped {
		r.close()
		return
	}
	if err := unlockFile(r.fd); err != nil {
		r.close()
		return
	}
	if r.idle == nil {
		r.idle = time.AfterFunc(idleClose, r.closeIdle)
	} else {
		r.idle.Reset(idleClose)
	}
}

func (r *reader) closeIdle() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.users == 0 {
		r.close()
	}
}

// close closes the handle (and with its descriptor any lock on it).
func (r *reader) close() {
	if r.db != nil {
		r.db.Close()
	}
	r.db, r.file, r.fd, r.opened, r.checked, r.broken = nil, nil, 0, nil, time.Time{}, false
}

// discard drops a handle a read found damage through. Its lock goes at
// once; bbolt's Close runs on its own, because a panic inside bbolt's Begin
// (meta pages that went bad under the mapping) leaves bbolt's meta lock
// held, and Close would wait for it forever.
func (r *reader) discard() {
	unlockFile(r.fd)
	db := r.db
	r.db, r.file, r.fd, r.opened, r.checked, r.broken = nil, nil, 0, nil, time.Time{}, false
	if db != nil {
		go db.Close()
	}
}

// closeReader closes this process's reader of path if no read is using it:
// Compact calls it once the old file is replaced, so that this process does
// not keep the replaced file alive until the reader idles out.
func closeReader(path string) {
	readers.Lock()
	r := readers.m[path]
	readers.Unlock()
	if r != nil {
		r.closeIdle()
	}
}

// sameFileInfo reports whether path still names the file f has open, and
// that file's information.
func sameFileInfo(f *os.File, path string) (os.FileInfo, bool) {
	a, err := f.Stat()
	if err != nil {
		return nil, false
	}
	b, err := os.Stat(path)
	return a, err == nil && os.SameFile(a, b)
}

// errLockTimeout is lockFile's error after its timeout.
var errLockTimeout = errors.New("timed out waiting for the database lock")
