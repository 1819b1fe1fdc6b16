package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// maxLog is the size above which the log is rotated to .1.
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
	w, err := openPathWriter(p)
	if err != nil {
		return zerolog.Nop(), func() {}
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	l := zerolog.New(w).With().Timestamp().Int("pid", os.Getpid()).Logger().Level(zerolog.InfoLevel)
	if os.Getenv("RBUTTON_DEBUG") != "" {
		l = l.Level(zerolog.DebugLevel)
	}
	return l, func() { w.Close() }
}

// pathWriter appends to the file at a path, and follows the path: a host
// the browser keeps running (one port for many messages) writes on into
// the file that a scrub (forget, in another process) or a rotation put in
// its place, not into the replaced one, and rotates the log itself once it
// passes maxLog.
type pathWriter struct {
	mu   sync.Mutex
	path string
	f    *os.File
	fi   os.FileInfo
}

func openPathWriter(path string) (*pathWriter, error) {
	w := &pathWriter{path: path}
	if err := w.reopen(); err != nil {
		return nil, err
	}
	return w, nil
}

// reopen opens the path for appending, rotating it to .1 first when it is
// above maxLog.
func (w *pathWriter) reopen() error {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	if err := os.MkdirAll(filepath.Dir(w.path), 0o700); err != nil {
		return err
	}
	if fi, err := os.Stat(w.path); err == nil && fi.Size() > maxLog {
		os.Rename(w.path, w.path+".1")
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	w.f, w.fi = f, fi
	return nil
}

// Write writes one log line. One stat of the path per line: lines are few
// (one or two per message).
func (w *pathWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if fi, err := os.Stat(w.path); w.f == nil || err != nil || !os.SameFile(fi, w.fi) || fi.Size() > maxLog {
		if err := w.reopen(); err != nil {
			return 0, err
		}
	}
	return w.f.Write(b)
}

func (w *pathWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// scrubLog removes every line that names host (a site's host, with its port
// if any, as in its origin) from the log and its rotated copy, so that
// forgetting a site leaves nothing of it in the files rbutton writes. Only
// that host counts: forgetting shop.example keeps the lines of
// myshop.example and shop.example.com. It returns how many lines it
// removed. Lines another process appends while the file is being rewritten
// may be lost: this is a log.
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
		if !namesHost(b, host) {
			continue
		}
		var kept bytes.Buffer
		for line := range bytes.Lines(b) {
			if namesHost(line, host) {
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

// namesHost reports whether text names host itself: an occurrence not
// preceded by a character of a host name and not followed by one (a
// sentence's final dot aside), nor by a port when host has none.
func namesHost(text []byte, host string) bool {
	h := []byte(host)
	hasPort := bytes.IndexByte(h, ':') >= 0
	for from := 0; ; {
		i := bytes.Index(text[from:], h)
		if i < 0 {
			return false
		}
		start, end := from+i, from+i+len(h)
		from = start + 1
		if start > 0 && hostByte(text[start-1]) {
			continue
		}
		if end < len(text) {
			next := text[end]
			switch {
			case next == '.' && (end+1 == len(text) || !hostByte(text[end+1]) || text[end+1] == '.'):
				// a sentence's full stop
			case hostByte(next):
				continue
			case next == ':' && !hasPort && end+1 < len(text) && text[end+1] >= '0' && text[end+1] <= '9':
				continue // the same host on another port is another origin
			}
		}
		return true
	}
}

func hostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-'
}
