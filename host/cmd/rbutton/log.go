package main

import (
	"bytes"
	"errors"
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

// scrubLog removes every line that names host (a site's host, with its port
// if any) from the log and its rotated copy, so that forgetting a site
// leaves nothing of it in the files rbutton writes. It returns how many
// lines it removed. Lines another process appends while the file is being
// rewritten may be lost: this is a log.
func scrubLog(host string) (int, error) {
	p := logPath()
	if p == "" || host == "" {
		return 0, nil
	}
	removed := 0
	for _, name := range []string{p, p + ".1"} {
		b, err := os.ReadFile(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return removed, err
		}
		if !bytes.Contains(b, []byte(host)) {
			continue
		}
		var kept bytes.Buffer
		for line := range bytes.Lines(b) {
			if bytes.Contains(line, []byte(host)) {
				removed++
				continue
			}
			kept.Write(line)
		}
		tmp := name + ".scrub"
		if err := os.WriteFile(tmp, kept.Bytes(), 0o600); err != nil {
			os.Remove(tmp)
			return removed, err
		}
		if err := os.Rename(tmp, name); err != nil {
			os.Remove(tmp)
			return removed, err
		}
	}
	return removed, nil
}
