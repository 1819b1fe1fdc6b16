package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// peakWatcher follows a child's peak resident set size (VmHWM in
// /proc/<pid>/status) while it runs.
//
// getrusage cannot be used for a child of this process: Go starts children
// with clone(CLONE_VM|CLONE_VFORK), and at execve Linux folds the high-water
// mark of the memory the child was sharing (this process's, with the vendors
// in it) into the child's ru_maxrss, so every child reported this process's
// peak. VmHWM belongs to the child's own address space, created by execve.
// It only grows and is gone once the child exits, so it is sampled every
// peakSampleEvery; the last sample is at most that long before the exit.
type peakWatcher struct {
	stop chan struct{}
	done chan [2]float64
}

const peakSampleEvery = 5 * time.Millisecond

func watchPeak(pid int) *peakWatcher {
	w := &peakWatcher{stop: make(chan struct{}), done: make(chan [2]float64, 1)}
	path := fmt.Sprintf("/proc/%d/status", pid)
	go func() {
		var peak [2]float64 // VmHWM, highest RssAnon sampled
		t := time.NewTicker(peakSampleEvery)
		defer t.Stop()
		for {
			if hwm, anon, ok := readStatus(path); ok {
				peak[0], peak[1] = max(peak[0], hwm), max(peak[1], anon)
			}
			select {
			case <-w.stop:
				w.done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// peak stops sampling (call it once the child has exited) and returns the
// highest VmHWM seen and the highest anonymous memory (RssAnon: heap and
// stacks, without mapped files such as the database) sampled, in bytes.
func (w *peakWatcher) peak() (rss, anon float64) {
	close(w.stop)
	p := <-w.done
	return p[0], p[1]
}

// readStatus reads VmHWM and RssAnon (in bytes) from a /proc/<pid>/status
// file; false once the process has gone or released its memory.
func readStatus(path string) (hwm, anon float64, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, false
	}
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, _ := bytes.Cut(sc.Bytes(), []byte(":"))
		var dst *float64
		switch string(name) {
		case "VmHWM":
			dst = &hwm
		case "RssAnon":
			dst = &anon
		default:
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, 0, false
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return 0, 0, false
		}
		*dst = float64(kb) * 1024
		found++
	}
	return hwm, anon, found == 2
}

// minorFaults returns the minor page faults this process has taken: a
// first touch of a page of a file mapping that is in the page cache (and of
// fresh anonymous memory).
func minorFaults() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Minflt
}
