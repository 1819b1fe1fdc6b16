package install

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows/registry"
)

// Locations returns the per-user registrations on Windows (see
// windowsLocations).
func Locations(home string) []Browser {
	local := os.Getenv("LOCALAPPDATA")
	if local == "" {
		local = filepath.Join(home, "AppData", "Local")
	}
	return windowsLocations(local, os.Getenv("APPDATA"))
}

func isRegistered(b Browser, path string) bool {
	if b.RegistryKey == "" {
		return true
	}
	k, err := registry.OpenKey(registry.CURRENT_USER, b.RegistryKey, registry.QUERY_VALUE)
	if err != nil {
		return false
	}
	defer k.Close()
	v, _, err := k.GetStringValue("")
	return err == nil && strings.EqualFold(v, path)
}

func register(b Browser, path string) error {
	if b.RegistryKey == "" {
		return nil
	}
	k, _, err := registry.CreateKey(registry.CURRENT_USER, b.RegistryKey, registry.SET_VALUE)
	if err != nil {
		return err
	}
	defer k.Close()
	return k.SetStringValue("", path)
}

func unregister(b Browser) error {
	if b.RegistryKey == "" {
		return nil
	}
	err := registry.DeleteKey(registry.CURRENT_USER, b.RegistryKey)
	if errors.Is(err, registry.ErrNotExist) {
		return nil
	}
	return err
}
