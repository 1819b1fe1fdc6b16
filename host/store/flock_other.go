//go:build !(linux || darwin)

package store

import (
	"errors"
	"time"
)

// keepMapped: elsewhere (Windows cannot rename over an open file; some
// BSDs' mappings do not see other processes' writes) every read opens and
// closes the file, and nothing below is reached.
const keepMapped = false

var errNotKept = errors.New("read handles are not kept on this platform")

func lockShared(uintptr, time.Duration) error { return errNotKept }

func unlockFile(uintptr) error { return errNotKept }
