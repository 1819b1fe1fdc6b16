//go:build !linux

package main

import "time"

// peakWatcher measures nothing off Linux (the bench runs on Linux).
type peakWatcher struct{}

const peakSampleEvery time.Duration = 0

func watchPeak(int) *peakWatcher               { return &peakWatcher{} }
func (*peakWatcher) peak() (rss, anon float64) { return 0, 0 }

func minorFaults() int64 { return 0 }
