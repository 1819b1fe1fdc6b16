//go:build !windows

package install

import "os"

// On Linux and macOS the manifest file is the registration.

func isRegistered(_ Browser, path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func register(Browser, string) error { return nil }
func unregister(Browser) error       { return nil }
