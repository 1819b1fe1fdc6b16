package main

import "golang.org/x/sys/unix"

// dupOnto makes newfd a copy of oldfd. Linux on arm64 has no dup2, only dup3.
func dupOnto(oldfd, newfd int) error { return unix.Dup3(oldfd, newfd, 0) }
