package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLogRotation(t *testing.T) {
	p := filepath.Join(t.TempDir(), "logs", "rbutton.log")
	t.Setenv("RBUTTON_LOG", p)
	os.MkdirAll(filepath.Dir(p), 0o700)
	old := strings.Repeat("old line\n", maxLog/9+10)
	os.WriteFile(p, []byte(old), 0o600)
	log := openLog()
	log.Info().Msg("fresh")
	rotated, err := os.ReadFile(p + ".1")
	if err != nil || string(rotated) != old {
		t.Fatalf("old log not rotated to .1: %v", err)
	}
	cur, _ := os.ReadFile(p)
	if !strings.Contains(string(cur), `"message":"fresh"`) || len(cur) > 1000 {
		t.Errorf("current log: %q", cur)
	}
	// Below the cap, the log is appended to.
	log = openLog()
	log.Info().Msg("second")
	cur, _ = os.ReadFile(p)
	if !strings.Contains(string(cur), "fresh") || !strings.Contains(string(cur), "second") {
		t.Errorf("log not appended: %q", cur)
	}
}

// TestLogFollowsThePath: a host the browser keeps running writes on into
// the log a scrub (forget, in another process) put in place, not into the
// replaced file, and rotates a log that grew past maxLog while it ran.
func TestLogFollowsThePath(t *testing.T) {
	p := filepath.Join(t.TempDir(), "rbutton.log")
	t.Setenv("RBUTTON_LOG", p)
	log := openLog()
	log.Info().Str("site", "http://shop.example").Msg("negotiated")
	log.Info().Msg("kept")
	if n, err := scrubLog("shop.example"); err != nil || n != 1 {
		t.Fatalf("scrubLog = %d, %v; want 1 line", n, err)
	}
	log.Info().Msg("after the scrub")
	cur, _ := os.ReadFile(p)
	if strings.Contains(string(cur), "shop.example") || !strings.Contains(string(cur), "kept") || !strings.Contains(string(cur), "after the scrub") {
		t.Errorf("log after a scrub by another process: %q", cur)
	}

	// Grown past the cap by this process: the next line starts a new file.
	f, _ := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0o600)
	f.WriteString(strings.Repeat("x", maxLog) + "\n")
	f.Close()
	log.Info().Msg("fresh file")
	cur, _ = os.ReadFile(p)
	if len(cur) > 1000 || !strings.Contains(string(cur), "fresh file") {
		t.Errorf("log past the cap not rotated while running: %d bytes", len(cur))
	}
	if old, err := os.ReadFile(p + ".1"); err != nil || !strings.Contains(string(old), "after the scrub") {
		t.Errorf("rotated log: %v", err)
	}
}

// TestScrubLogMatchesTheHostOnly: forgetting shop.example removes the lines
// naming it (as an origin, a bare host, at a sentence's end) and keeps
// those of every other site whose name merely contains it.
func TestScrubLogMatchesTheHostOnly(t *testing.T) {
	p := filepath.Join(t.TempDir(), "rbutton.log")
	t.Setenv("RBUTTON_LOG", p)
	gone := []string{
		`{"site":"https://shop.example","message":"recording backoff"}`,
		`{"message":"resolving shop.example: no such host"}`,
		`{"message":"cannot reach shop.example."}`,
		`{"site":"http://shop.example/","message":"x"}`,
	}
	kept := []string{
		`{"site":"https://myshop.example","message":"recording backoff"}`,
		`{"site":"https://shop.example.com","message":"recording backoff"}`,
		`{"message":"resolving www.shop.example: no such host"}`,
		`{"site":"https://shop.example:8443","message":"another origin"}`,
		`{"site":"https://shop.example-two.test","message":"x"}`,
	}
	all := strings.Join(append(append([]string{}, gone...), kept...), "\n") + "\n"
	if err := os.WriteFile(p, []byte(all), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := scrubLog("shop.example")
	if err != nil || n != len(gone) {
		t.Errorf("scrubLog removed %d line(s), %v; want %d", n, err, len(gone))
	}
	b, _ := os.ReadFile(p)
	if got, want := string(b), strings.Join(kept, "\n")+"\n"; got != want {
		t.Errorf("log after scrub:\n%s\nwant:\n%s", got, want)
	}
	// A host with a port names that origin only.
	os.WriteFile(p, []byte("http://127.0.0.1:8441 x\nhttp://127.0.0.1:84410 y\n"), 0o600)
	if n, err := scrubLog("127.0.0.1:8441"); err != nil || n != 1 {
		t.Errorf("scrubLog(127.0.0.1:8441) removed %d, %v; want 1", n, err)
	}
}
