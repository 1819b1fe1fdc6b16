// Package install registers the r-button host with browsers, following
// each browser's native-messaging host rules:
//
//   - Chromium family (Chrome, Chromium, Brave, Edge, Vivaldi):
//     https://developer.chrome.com/docs/extensions/develop/concepts/native-messaging#native-messaging-host-location
//   - Firefox:
//     https://developer.mozilla.org/docs/Mozilla/Add-ons/WebExtensions/Native_manifests
//
// On Linux and macOS a manifest file in the browser's per-user
// NativeMessagingHosts directory is the registration; on Windows the
// manifest lives under %LOCALAPPDATA%\rbutton and a per-user (HKCU)
// registry key points at it. Only per-user installs are supported.
package install

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// HostName is the native-messaging host name the extension connects to.
const HostName = "org.rbutton.host"

// DefaultExtensionID is the extension's ID in Chromium browsers, pinned by
// the "key" in extension/manifest.json (extension/EXTENSION_ID).
const DefaultExtensionID = "dhmbjedachdddjmenlajomonjiflkflk"

// DefaultFirefoxID is the extension's add-on ID in Firefox.
const DefaultFirefoxID = "r-button@rbutton.org"

// Flavour is the manifest format a browser reads.
type Flavour int

const (
	Chromium Flavour = iota // allowed_origins
	Firefox                 // allowed_extensions
)

// Browser is one browser's registration location.
type Browser struct {
	Name        string // chrome, chromium, brave, edge, vivaldi, firefox
	Title       string
	Flavour     Flavour
	ConfigDir   string // exists when the browser has been used
	ManifestDir string // where the manifest is written
	RegistryKey string // Windows only: HKCU key naming the manifest
}

// BrowserNames lists the supported browsers.
var BrowserNames = []string{"chrome", "chromium", "brave", "edge", "vivaldi", "firefox"}

var ErrUnknown = errors.New("unknown browser")

// The patterns are compiled when install runs, not whenever the binary
// starts: host mode never needs them. TestHostNameValid checks HostName
// against the browsers' rule for host names.
var (
	chromeIDRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-p]{32}$`) })
	firefoxIDRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^([A-Za-z0-9._+-]*@[A-Za-z0-9._-]+|\{[0-9a-fA-F-]{36}\})$`)
	})
)

// Manifest is a native-messaging host manifest.
type Manifest struct {
	Name              string   `json:"name"`
	Description       string   `json:"description"`
	Path              string   `json:"path"`
	Type              string   `json:"type"`
	AllowedOrigins    []string `json:"allowed_origins,omitempty"`
	AllowedExtensions []string `json:"allowed_extensions,omitempty"`
}

// Render returns the manifest bytes for flavour.
func Render(f Flavour, exe, chromeID, firefoxID string) ([]byte, error) {
	if !filepath.IsAbs(exe) {
		return nil, fmt.Errorf("host path %q is not absolute", exe)
	}
	m := Manifest{Name: HostName, Description: "r-button: DNT-D agreements with the sites you visit", Path: exe, Type: "stdio"}
	switch f {
	case Chromium:
		if !chromeIDRE().MatchString(chromeID) {
			return nil, fmt.Errorf("invalid extension id %q: want 32 letters a-p", chromeID)
		}
		m.AllowedOrigins = []string{"chrome-extension://" + chromeID + "/"}
	case Firefox:
		if !firefoxIDRE().MatchString(firefoxID) {
			return nil, fmt.Errorf("invalid firefox add-on id %q", firefoxID)
		}
		m.AllowedExtensions = []string{firefoxID}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Options select what to install.
type Options struct {
	Exe         string   // absolute path of the host binary
	ExtensionID string   // Chromium extension id
	FirefoxID   string   // Firefox add-on id
	Browsers    []string // names; empty means every browser whose config dir exists
	UserDataDir string   // a Chromium --user-data-dir: write only DIR/NativeMessagingHosts
	DryRun      bool
	Home        string // $HOME (tests); empty means os.UserHomeDir
}

// Status of one browser after Install or Uninstall.
const (
	StatusInstalled        = "installed"
	StatusUpdated          = "updated"
	StatusAlreadyInstalled = "already installed"
	StatusWouldInstall     = "would install"
	StatusRemoved          = "removed"
	StatusNotInstalled     = "not installed"
	StatusWouldRemove      = "would remove"
)

// Result is what happened for one browser.
type Result struct {
	Browser  string `json:"browser"`
	Manifest string `json:"manifest"`
	Status   string `json:"status"`
}

func (o *Options) defaults() error {
	if o.ExtensionID == "" {
		o.ExtensionID = DefaultExtensionID
	}
	if o.FirefoxID == "" {
		o.FirefoxID = DefaultFirefoxID
	}
	if o.Home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return err
		}
		o.Home = h
	}
	return nil
}

// ManifestPath returns where b's manifest lives.
func (b Browser) ManifestPath() string { return filepath.Join(b.ManifestDir, HostName+".json") }

// targets returns the browsers to act on.
func (o *Options) targets() ([]Browser, error) {
	if o.UserDataDir != "" {
		dir, err := filepath.Abs(o.UserDataDir)
		if err != nil {
			return nil, err
		}
		return []Browser{{Name: "user-data-dir", Title: "Chromium profile " + dir, Flavour: Chromium,
			ConfigDir: dir, ManifestDir: filepath.Join(dir, "NativeMessagingHosts")}}, nil
	}
	all := Locations(o.Home)
	if len(o.Browsers) == 0 {
		var found []Browser
		for _, b := range all {
			if _, err := os.Stat(b.ConfigDir); err == nil {
				found = append(found, b)
			}
		}
		return found, nil
	}
	var out []Browser
	for _, name := range o.Browsers {
		b, ok := find(all, strings.ToLower(name))
		if !ok {
			return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknown, name, strings.Join(BrowserNames, ", "))
		}
		out = append(out, b)
	}
	return out, nil
}

func find(all []Browser, name string) (Browser, bool) {
	for _, b := range all {
		if b.Name == name {
			return b, true
		}
	}
	return Browser{}, false
}

// Install writes (or checks) the manifest for each target browser.
func Install(o Options) ([]Result, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	targets, err := o.targets()
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, b := range targets {
		want, err := Render(b.Flavour, o.Exe, o.ExtensionID, o.FirefoxID)
		if err != nil {
			return out, err
		}
		path := b.ManifestPath()
		r := Result{Browser: b.Name, Manifest: path}
		have, rerr := os.ReadFile(path)
		registered := isRegistered(b, path)
		switch {
		case rerr == nil && bytes.Equal(have, want) && registered:
			r.Status = StatusAlreadyInstalled
		case o.DryRun:
			r.Status = StatusWouldInstall
		default:
			if err := writeAtomic(path, want); err != nil {
				return out, fmt.Errorf("%s: %w", b.Name, err)
			}
			if err := register(b, path); err != nil {
				return out, fmt.Errorf("%s: %w", b.Name, err)
			}
			r.Status = StatusInstalled
			if rerr == nil {
				r.Status = StatusUpdated
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// Uninstall removes the manifest (and registry key) for each target
// browser; with no browsers named, from every known browser.
func Uninstall(o Options) ([]Result, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	var targets []Browser
	if len(o.Browsers) == 0 && o.UserDataDir == "" {
		targets = Locations(o.Home)
	} else {
		var err error
		if targets, err = o.targets(); err != nil {
			return nil, err
		}
	}
	var out []Result
	for _, b := range targets {
		path := b.ManifestPath()
		r := Result{Browser: b.Name, Manifest: path, Status: StatusNotInstalled}
		_, serr := os.Stat(path)
		if serr == nil || isRegistered(b, path) {
			r.Status = StatusRemoved
			if o.DryRun {
				r.Status = StatusWouldRemove
			} else {
				if err := unregister(b); err != nil {
					return out, fmt.Errorf("%s: %w", b.Name, err)
				}
				if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
					return out, fmt.Errorf("%s: %w", b.Name, err)
				}
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// Check is doctor's view of one browser's registration.
type Check struct {
	Browser  string `json:"browser"`
	Manifest string `json:"manifest"`
	Present  bool   `json:"present"`
	Problem  string `json:"problem,omitempty"` // empty when present and correct
}

// CheckAll inspects every known browser's manifest.
func CheckAll(o Options) []Check {
	if err := o.defaults(); err != nil {
		return nil
	}
	var out []Check
	targets := Locations(o.Home)
	if o.UserDataDir != "" {
		targets, _ = o.targets()
	}
	for _, b := range targets {
		path := b.ManifestPath()
		c := Check{Browser: b.Name, Manifest: path}
		data, err := os.ReadFile(path)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				c.Problem = err.Error()
			}
			out = append(out, c)
			continue
		}
		c.Present = true
		c.Problem = checkManifest(b, data, o)
		if c.Problem == "" && !isRegistered(b, path) {
			c.Problem = "manifest present but not registered"
		}
		out = append(out, c)
	}
	return out
}

func checkManifest(b Browser, data []byte, o Options) string {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return "manifest does not parse: " + err.Error()
	}
	if m.Name != HostName || m.Type != "stdio" {
		return fmt.Sprintf("manifest names %q type %q, want %q stdio", m.Name, m.Type, HostName)
	}
	if !samePath(m.Path, o.Exe) {
		return fmt.Sprintf("manifest points at %s, not this binary %s", m.Path, o.Exe)
	}
	if _, err := os.Stat(m.Path); err != nil {
		return "host binary missing: " + err.Error()
	}
	switch b.Flavour {
	case Chromium:
		want := "chrome-extension://" + o.ExtensionID + "/"
		if len(m.AllowedOrigins) == 0 || !contains(m.AllowedOrigins, want) {
			return fmt.Sprintf("allowed_origins %v lacks %s", m.AllowedOrigins, want)
		}
	case Firefox:
		if !contains(m.AllowedExtensions, o.FirefoxID) {
			return fmt.Sprintf("allowed_extensions %v lacks %s", m.AllowedExtensions, o.FirefoxID)
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func samePath(a, b string) bool {
	if a == b {
		return true
	}
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}

// writeAtomic writes data to path via a temporary file and rename, so a
// browser never reads a half-written manifest.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".rbutton-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
