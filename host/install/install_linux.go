package install

import (
	"os"
	"path/filepath"
)

// Locations returns the per-user manifest locations on Linux. Chromium
// browsers follow $XDG_CONFIG_HOME; Firefox always reads ~/.mozilla.
func Locations(home string) []Browser {
	cfg := os.Getenv("XDG_CONFIG_HOME")
	if cfg == "" || !filepath.IsAbs(cfg) {
		cfg = filepath.Join(home, ".config")
	}
	chromium := func(name, title, dir string) Browser {
		d := filepath.Join(cfg, dir)
		return Browser{Name: name, Title: title, Flavour: Chromium, ConfigDir: d, ManifestDir: filepath.Join(d, "NativeMessagingHosts")}
	}
	return []Browser{
		chromium("chrome", "Google Chrome", "google-chrome"),
		chromium("chromium", "Chromium", "chromium"),
		chromium("brave", "Brave", "BraveSoftware/Brave-Browser"),
		chromium("edge", "Microsoft Edge", "microsoft-edge"),
		chromium("vivaldi", "Vivaldi", "vivaldi"),
		{Name: "firefox", Title: "Firefox", Flavour: Firefox, ConfigDir: filepath.Join(home, ".mozilla"),
			ManifestDir: filepath.Join(home, ".mozilla", "native-messaging-hosts")},
	}
}
