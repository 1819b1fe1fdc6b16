package install

import "path/filepath"

// Locations returns the per-user manifest locations on macOS.
func Locations(home string) []Browser {
	as := filepath.Join(home, "Library", "Application Support")
	chromium := func(name, title, dir string) Browser {
		d := filepath.Join(as, dir)
		return Browser{Name: name, Title: title, Flavour: Chromium, ConfigDir: d, ManifestDir: filepath.Join(d, "NativeMessagingHosts")}
	}
	return []Browser{
		chromium("chrome", "Google Chrome", "Google/Chrome"),
		chromium("chromium", "Chromium", "Chromium"),
		chromium("brave", "Brave", "BraveSoftware/Brave-Browser"),
		chromium("edge", "Microsoft Edge", "Microsoft Edge"),
		chromium("vivaldi", "Vivaldi", "Vivaldi"),
		{Name: "firefox", Title: "Firefox", Flavour: Firefox, ConfigDir: filepath.Join(as, "Firefox"),
			ManifestDir: filepath.Join(as, "Mozilla", "NativeMessagingHosts")},
	}
}
