package main

import (
	"os"
	"syscall"
)

// childPeakRSS is a finished child's peak resident set size in bytes
// (getrusage; Linux reports ru_maxrss in KiB).
func childPeakRSS(ps *os.ProcessState) float64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return float64(ru.Maxrss) * 1024
	}
	return 0
}
