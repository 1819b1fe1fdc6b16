//go:build linux || darwin

package store

import (
	"syscall"
	"time"
)

// keepMapped: on Linux and macOS a shared mapping of a file sees what other
// processes write to it, and an open file may be renamed over, so reads
// keep their handle (reader.go).
const keepMapped = true

// lockFile takes the lock bbolt's Open takes (flock: exclusive for a
// writer, shared for a reader) on descriptor fd, waiting at most timeout as
// bbolt does. bbolt taking it again on the same descriptor is a no-op.
func lockFile(fd uintptr, exclusive bool, timeout time.Duration) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(fd), how|syscall.LOCK_NB)
		if err != syscall.EWOULDBLOCK {
			return err
		}
		if time.Now().After(deadline) {
			return errLockTimeout
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// unlockFile lets the lock on fd go.
func unlockFile(fd uintptr) error {
	return syscall.Flock(int(fd), syscall.LOCK_UN)
}
