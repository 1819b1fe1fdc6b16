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
	log, closeLog := openLog()
	log.Info().Msg("fresh")
	closeLog()
	rotated, err := os.ReadFile(p + ".1")
	if err != nil || string(rotated) != old {
		t.Fatalf("old log not rotated to .1: %v", err)
	}
	cur, _ := os.ReadFile(p)
	if !strings.Contains(string(cur), `"message":"fresh"`) || len(cur) > 1000 {
		t.Errorf("current log: %q", cur)
	}
	// Below the cap, the log is appended to.
	log, closeLog = openLog()
	log.Info().Msg("second")
	closeLog()
	cur, _ = os.ReadFile(p)
	if !strings.Contains(string(cur), "fresh") || !strings.Contains(string(cur), "second") {
		t.Errorf("log not appended: %q", cur)
	}
}
