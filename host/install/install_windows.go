package install

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows/registry"
)

// Locations returns the per-user registrations on Windows. Manifests live
// under %LOCALAPPDATA%\rbutton\NativeMessagingHosts\<browser>; Brave and
// Vivaldi read Chrome's registry key.
func Locations(home string) []Browser {
	local := os.Getenv("LOCALAPPDATA")
	if local == "" {
		local = filepath.Join(home, "AppData", "Local")
	}
	base := filepath.Join(local, "rbutton", "NativeMessagingHosts")
	// Brave and Vivaldi share Chrome's key, so they share its manifest too.
	b := func(name, title string, f Flavour, cfg, key, dir string) Browser {
		return Browser{Name: name, Title: title, Flavour: f, ConfigDir: filepath.Join(local, cfg),
			ManifestDir: filepath.Join(base, dir), RegistryKey: key + `\NativeMessagingHosts\` + HostName}
	}
	return []Browser{
		b("chrome", "Google Chrome", Chromium, `Google\Chrome`, `Software\Google\Chrome`, "chrome"),
		b("chromium", "Chromium", Chromium, `Chromium`, `Software\Chromium`, "chromium"),
		b("brave", "Brave", Chromium, `BraveSoftware\Brave-Browser`, `Software\Google\Chrome`, "chrome"),
		b("edge", "Microsoft Edge", Chromium, `Microsoft\Edge`, `Software\Microsoft\Edge`, "edge"),
		b("vivaldi", "Vivaldi", Chromium, `Vivaldi`, `Software\Google\Chrome`, "chrome"),
		{Name: "firefox", Title: "Firefox", Flavour: Firefox, ConfigDir: filepath.Join(os.Getenv("APPDATA"), "Mozilla", "Firefox"),
			ManifestDir: filepath.Join(base, "firefox"), RegistryKey: `Software\Mozilla\NativeMessagingHosts\` + HostName},
	}
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
