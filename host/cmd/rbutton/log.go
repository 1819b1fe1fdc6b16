package main

import (
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
)

// maxLog is the size above which the log is rotated to .1 at start.
const maxLog = 1 << 20

// logPath is $RBUTTON_LOG, else <user cache dir>/rbutton/rbutton.log.
func logPath() string {
	if p := os.Getenv("RBUTTON_LOG"); p != "" {
		return p
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "rbutton", "rbutton.log")
}

// openLog opens the log file (never stdout). If it cannot, logging is off:
// a host that cannot log must still work.
func openLog() (zerolog.Logger, func()) {
	p := logPath()
	if p == "" {
		return zerolog.Nop(), func() {}
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return zerolog.Nop(), func() {}
	}
	if fi, err := os.Stat(p); err == nil && fi.Size() > maxLog {
		os.Rename(p, p+".1")
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return zerolog.Nop(), func() {}
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	var w io.Writer = f
	l := zerolog.New(w).With().Timestamp().Int("pid", os.Getpid()).Logger().Level(zerolog.InfoLevel)
	if os.Getenv("RBUTTON_DEBUG") != "" {
		l = l.Level(zerolog.DebugLevel)
	}
	return l, func() { f.Close() }
}
