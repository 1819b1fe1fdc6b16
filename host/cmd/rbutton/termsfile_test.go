package main

import (
	"encoding/json"
	"testing"

	"github.com/rbutton/rbutton/policy"
)

// FuzzCheckTermsFile: the checker never panics, and accepts exactly what
// policy.ParseUserTerms accepts.
func FuzzCheckTermsFile(f *testing.F) {
	for _, p := range policy.Presets {
		b, _ := json.Marshal(p.Terms)
		f.Add(b)
	}
	f.Add([]byte(`{"v":1,"terms":{"tracking":"session",},"obligations":{}}`))
	f.Add([]byte(`{"v":1,"terms":{"purposes":["service","service"],"retention":"p1y"},"x":[1,{"y":null}]}`))
	f.Add([]byte(`[1,2,`))
	f.Fuzz(func(t *testing.T, b []byte) {
		problems := checkTermsFile(b)
		_, err := policy.ParseUserTerms(b)
		if (len(problems) == 0) != (err == nil) {
			t.Fatalf("checker found %v, ParseUserTerms says %v, for %q", problems, err, b)
		}
		for _, p := range problems {
			if p.Line < 1 || p.Col < 1 || p.Msg == "" {
				t.Fatalf("problem without a place or words: %+v", p)
			}
		}
	})
}

// TestSiteArg: sites as a person types them.
func TestSiteArg(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"shop.example":               "https://shop.example",
		"Shop.Example/":              "https://shop.example",
		"shop.example/basket?x=1":    "https://shop.example",
		"shop.example:8443":          "https://shop.example:8443",
		"127.0.0.1:8441":             "http://127.0.0.1:8441",
		"localhost:8080":             "http://localhost:8080",
		"shop.localhost":             "http://shop.localhost",
		"[::1]:8441":                 "http://[::1]:8441",
		"https://shop.example":       "https://shop.example",
		"http://127.0.0.1:8441/page": "http://127.0.0.1:8441",
		"http://shop.example":        "",
		"":                           "",
		"ftp://shop.example":         "",
	} {
		got, err := siteArg(in)
		if want == "" {
			if err == nil {
				t.Errorf("siteArg(%q) = %q, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("siteArg(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
