package main

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// The helper child: touches childMiB of memory, holds it briefly, exits.
func init() {
	if os.Getenv("RBUTTON_BENCH_RSS_CHILD") != "1" {
		return
	}
	b := make([]byte, childMiB<<20)
	for i := range b {
		b[i] = byte(i)
	}
	time.Sleep(500 * time.Millisecond) // many sampling periods
	os.Exit(int(b[len(b)-1]) & 0)
}

const childMiB, parentMiB = 48, 256

// A child's peak is its own, not the (much larger) peak of this process.
func TestWatchPeakMeasuresTheChild(t *testing.T) {
	ballast := make([]byte, parentMiB<<20)
	for i := range ballast {
		ballast[i] = 1
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RBUTTON_BENCH_RSS_CHILD=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := watchPeak(cmd.Process.Pid)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	got, anon := w.peak()
	if anon < childMiB<<20 || anon > got {
		t.Errorf("child anonymous peak %s, want at least %d MiB and at most its RSS peak %s", fmtBytes(anon), childMiB, fmtBytes(got))
	}
	if got < childMiB<<20 || got >= parentMiB<<20 {
		t.Fatalf("child peak %s, want at least %d MiB (what it touched) and well under this process's %d MiB", fmtBytes(got), childMiB, parentMiB)
	}
	if ballast[len(ballast)-1] != 1 {
		t.Fatal("ballast lost")
	}
}
