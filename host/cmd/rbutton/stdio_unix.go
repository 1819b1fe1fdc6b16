//go:build unix

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// reserveStdout returns a private duplicate of fd 1 for frames and points
// fd 1 at /dev/null, so nothing else (a panic, a library's print) can write
// into the frame stream.
func reserveStdout() (*os.File, error) {
	fd, err := unix.Dup(1)
	if err != nil {
		return nil, err
	}
	unix.CloseOnExec(fd)
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	defer null.Close()
	if err := dupOnto(int(null.Fd()), 1); err != nil {
		unix.Close(fd)
		return nil, err
	}
	os.Stdout = os.Stderr
	return os.NewFile(uintptr(fd), "frames"), nil
}
