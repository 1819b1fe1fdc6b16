package store

import (
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// CompactResult says what Compact did.
type CompactResult struct {
	Before, After int64 // file sizes in bytes
}

// Compact rewrites the database into a fresh file holding only live data
// and puts it in place of the old one. bbolt never shrinks a file and
// leaves deleted values in its free pages, so after Forget the forgotten
// site's bytes are still on disk until the file is compacted: "forget" must
// mean gone.
//
// It holds the writer's lock throughout. A process that opened the old file
// and waits for its lock notices, once it has the lock, that the path now
// names another file, and opens again (DB.open), so no write lands in the
// replaced file. A process's kept read handle (reader.go) notices the same
// at its next read; this process closes its own at once, and any other
// closes it within idleClose, so the replaced file's bytes do not outlive
// the compaction by more than that.
func (d *DB) Compact() (CompactResult, error) {
	var res CompactResult
	err := d.with(false, func(src *bolt.DB) error {
		if err := d.migrate(src); err != nil {
			return err
		}
		fi, err := os.Stat(d.Path)
		if err != nil {
			return &Error{Path: d.Path, Err: err}
		}
		res.Before = fi.Size()
		// One fixed name: the lock makes compactions take turns, and a
		// crashed one's copy (old data too) is removed by the next.
		tmp := filepath.Join(filepath.Dir(d.Path), "."+filepath.Base(d.Path)+".compact")
		os.Remove(tmp)
		dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: d.timeout()})
		if err != nil {
			return &Error{Path: tmp, Err: err}
		}
		if err := bolt.Compact(dst, src, 64<<20); err != nil {
			dst.Close()
			os.Remove(tmp)
			return &Error{Path: d.Path, Err: fmt.Errorf("compacting: %w", err)}
		}
		if err := dst.Close(); err != nil {
			os.Remove(tmp)
			return &Error{Path: tmp, Err: err}
		}
		if err := os.Rename(tmp, d.Path); err != nil {
			os.Remove(tmp)
			return &Error{Path: d.Path, Err: fmt.Errorf("replacing the file: %w", err)}
		}
		syncDir(filepath.Dir(d.Path))
		if fi, err := os.Stat(d.Path); err == nil {
			res.After = fi.Size()
		}
		return nil
	})
	if err == nil {
		closeReader(d.Path)
	}
	return res, err
}

// syncDir makes a rename in dir durable where the platform allows it.
func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		f.Sync()
		f.Close()
	}
}
