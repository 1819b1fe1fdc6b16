package main

import "os"

// reserveStdout keeps os.Stdout for frames and sends Go-level prints to
// stderr. Windows has no dup2 of the standard handles worth the risk here.
func reserveStdout() (*os.File, error) {
	out := os.Stdout
	os.Stdout = os.Stderr
	return out, nil
}
