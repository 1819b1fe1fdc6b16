package install

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	t.Parallel()
	for _, f := range []Flavour{Chromium, Firefox} {
		b, err := Render(f, "/opt/rbutton/rbutton", DefaultExtensionID, DefaultFirefoxID)
		if err != nil {
			t.Fatal(err)
		}
		var m Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m.Name != HostName || m.Type != "stdio" || m.Path != "/opt/rbutton/rbutton" {
			t.Errorf("manifest %+v", m)
		}
		if (f == Chromium) != (len(m.AllowedOrigins) == 1) || (f == Firefox) != (len(m.AllowedExtensions) == 1) {
			t.Errorf("flavour %d: %+v", f, m)
		}
	}
	bad := []struct {
		f            Flavour
		exe, id, fid string
	}{
		{Chromium, "rel/path", DefaultExtensionID, DefaultFirefoxID},
		{Chromium, "/x", "ABC", DefaultFirefoxID},
		{Chromium, "/x", strings.Repeat("q", 32), DefaultFirefoxID},
		{Firefox, "/x", DefaultExtensionID, "no at sign"},
		{Firefox, "/x", DefaultExtensionID, `a"b@c`},
	}
	for _, b := range bad {
		if _, err := Render(b.f, b.exe, b.id, b.fid); err == nil {
			t.Errorf("Render(%+v) accepted", b)
		}
	}
}

func TestCheckAll(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	exe := filepath.Join(home, "rbutton")
	os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755)
	udd := filepath.Join(home, "profile")
	opts := Options{Exe: exe, UserDataDir: udd, Home: home}
	if _, err := Install(opts); err != nil {
		t.Fatal(err)
	}
	checks := CheckAll(opts)
	if len(checks) != 1 || !checks[0].Present || checks[0].Problem != "" {
		t.Fatalf("checks %+v", checks)
	}
	opts.ExtensionID = strings.Repeat("b", 32)
	if c := CheckAll(opts); c[0].Problem == "" {
		t.Errorf("wrong extension id not reported")
	}
	os.WriteFile(filepath.Join(udd, "NativeMessagingHosts", HostName+".json"), []byte("{"), 0o644)
	if c := CheckAll(opts); !strings.Contains(c[0].Problem, "does not parse") {
		t.Errorf("broken manifest: %+v", c)
	}
}

// TestWindowsRegistrationsAreOwn: on Windows no two browsers share a
// registry key or a manifest, so installing or uninstalling one (Brave,
// Vivaldi) never rewrites or removes another's (Chrome's).
func TestWindowsRegistrationsAreOwn(t *testing.T) {
	t.Parallel()
	keys, dirs := map[string]string{}, map[string]string{}
	for _, b := range windowsLocations(`C:\Users\u\AppData\Local`, `C:\Users\u\AppData\Roaming`) {
		if b.RegistryKey == "" {
			t.Errorf("%s has no registry key", b.Name)
		}
		if other, dup := keys[b.RegistryKey]; dup {
			t.Errorf("%s and %s share the registry key %s", b.Name, other, b.RegistryKey)
		}
		if other, dup := dirs[b.ManifestDir]; dup {
			t.Errorf("%s and %s share the manifest directory %s", b.Name, other, b.ManifestDir)
		}
		keys[b.RegistryKey], dirs[b.ManifestDir] = b.Name, b.Name
	}
	if len(keys) != len(BrowserNames) {
		t.Errorf("%d Windows registrations for %d browsers", len(keys), len(BrowserNames))
	}
}

// TestHostNameValid holds HostName to the browsers' rule for native-messaging
// host names: dot-separated lowercase letters, digits and underscores.
func TestHostNameValid(t *testing.T) {
	t.Parallel()
	if !regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)*$`).MatchString(HostName) {
		t.Errorf("HostName %q is not a valid native-messaging host name", HostName)
	}
}
