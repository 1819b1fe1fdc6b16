package install

import (
	"encoding/json"
	"os"
	"path/filepath"
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
