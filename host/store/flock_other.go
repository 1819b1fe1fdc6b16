//go:build !(linux || darwin)

package store

import (
	"errors"
	"time"
)

// keepMapped: elsewhere (Windows cannot rename over an open file; some
// BSDs' mappings do not see other processes' writes) every read opens and
// closes the file.
const keepMapped = false

// lockFile does nothing here: bbolt takes its own lock (LockFileEx on
// Windows) after checkOpenFile has run, so the check runs unlocked, and a
// writer committing meanwhile can make it see a torn state.
func lockFile(uintptr, bool, time.Duration) error { return nil }

// unlockFile is never reached where keepMapped is false.
func unlockFile(uintptr) error { return errors.New("read handles are not kept on this platform") }
