//go:build !linux

package main

import "os"

// childPeakRSS is not measured off Linux (the bench runs on Linux).
func childPeakRSS(*os.ProcessState) float64 { return 0 }
