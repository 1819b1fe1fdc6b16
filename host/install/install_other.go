//go:build !linux && !darwin && !windows

package install

import "path/filepath"

// Locations on other Unix systems follow the Linux layout without XDG.
func Locations(home string) []Browser {
	cfg := filepath.Join(home, ".config")
	chromium := func(name, title, dir string) Browser {
		d := filepath.Join(cfg, dir)
		return Browser{Name: name, Title: title, Flavour: Chromium, ConfigDir: d, ManifestDir: filepath.Join(d, "NativeMessagingHosts")}
	}
	return []Browser{
		chromium("chrome", "Google Chrome", "google-chrome"),
		chromium("chromium", "Chromium", "chromium"),
		{Name: "firefox", Title: "Firefox", Flavour: Firefox, ConfigDir: filepath.Join(home, ".mozilla"),
			ManifestDir: filepath.Join(home, ".mozilla", "native-messaging-hosts")},
	}
}
