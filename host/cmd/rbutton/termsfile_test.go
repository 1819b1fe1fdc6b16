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
