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

// lockShared takes the shared lock bbolt's read-only Open takes (flock), on
// the descriptor bbolt opened (fd), waiting at most timeout as bbolt does.
func lockShared(fd uintptr, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(fd), syscall.LOCK_SH|syscall.LOCK_NB)
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
