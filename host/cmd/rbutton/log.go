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
func openLog() zerolog.Logger {
	p := logPath()
	if p == "" {
		return zerolog.Nop()
	}
	w, err := openPathWriter(p)
	if err != nil {
		return zerolog.Nop()
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	l := zerolog.New(w).With().Timestamp().Int("pid", os.Getpid()).Logger().Level(zerolog.InfoLevel)
	if os.Getenv("RBUTTON_DEBUG") != "" {
		l = l.Level(zerolog.DebugLevel)
	}
	return l
}

// pathWriter appends each log line to the file at a path, opening it for
// that line only: a host the browser keeps running (one port for many
// messages) writes into the file a scrub (forget, in another process) or a
// rotation put in place, never holds the log open (on Windows an open file
// cannot be renamed over, which the scrub does), and rotates the log once it
// passes maxLog. Lines are few (one or two per message).
type pathWriter struct {
	mu   sync.Mutex
	path string
}

func openPathWriter(path string) (*pathWriter, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	w := &pathWriter{path: path}
	f, err := w.open()
	if err != nil {
		return nil, err
	}
	return w, f.Close()
}

// open opens the path for appending, rotating it to .1 first when it is
// above maxLog.
func (w *pathWriter) open() (*os.File, error) {
	if fi, err := os.Stat(w.path); err == nil && fi.Size() > maxLog {
		os.Rename(w.path, w.path+".1")
	}
	return os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
}

// Write writes one log line.
func (w *pathWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f, err := w.open()
	if err != nil {
		return 0, err
	}
	n, err := f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
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
