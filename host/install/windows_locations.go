package install

import "path/filepath"

// windowsLocations are the per-user registrations on Windows, given
// %LOCALAPPDATA% and %APPDATA%. It is in a file without a build constraint
// so that tests on every platform check it (TestWindowsRegistrationsAreOwn).
//
// Manifests live under %LOCALAPPDATA%\rbutton\NativeMessagingHosts\<browser>,
// and each browser has its own HKCU key under its own vendor's tree
// (Software\<vendor path>\NativeMessagingHosts\<host>). Brave and Vivaldi
// are given theirs, not Chrome's: a key shared with Chrome would make
// installing for one browser rewrite Chrome's registration and uninstalling
// it remove Chrome's.
func windowsLocations(local, appData string) []Browser {
	base := filepath.Join(local, "rbutton", "NativeMessagingHosts")
	b := func(name, title string, f Flavour, cfg, key, dir string) Browser {
		return Browser{Name: name, Title: title, Flavour: f, ConfigDir: filepath.Join(local, cfg),
			ManifestDir: filepath.Join(base, dir), RegistryKey: key + `\NativeMessagingHosts\` + HostName}
	}
	return []Browser{
		b("chrome", "Google Chrome", Chromium, `Google\Chrome`, `Software\Google\Chrome`, "chrome"),
		b("chromium", "Chromium", Chromium, `Chromium`, `Software\Chromium`, "chromium"),
		b("brave", "Brave", Chromium, `BraveSoftware\Brave-Browser`, `Software\BraveSoftware\Brave-Browser`, "brave"),
		b("edge", "Microsoft Edge", Chromium, `Microsoft\Edge`, `Software\Microsoft\Edge`, "edge"),
		b("vivaldi", "Vivaldi", Chromium, `Vivaldi`, `Software\Vivaldi`, "vivaldi"),
		{Name: "firefox", Title: "Firefox", Flavour: Firefox, ConfigDir: filepath.Join(appData, "Mozilla", "Firefox"),
			ManifestDir: filepath.Join(base, "firefox"), RegistryKey: `Software\Mozilla\NativeMessagingHosts\` + HostName},
	}
}
