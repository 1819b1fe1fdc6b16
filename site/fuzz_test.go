package site_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
)

// FuzzProposal feeds arbitrary bodies to the agreement endpoint: every
// answer must be a well-formed answer or error document, never a panic,
// and nothing unsigned may be stored.
func FuzzProposal(f *testing.F) {
	// Thousands of proposals from one address: the rate limit would answer
	// most of them (ratelimit_test.go covers it); this fuzzes the rest.
	ts := startSite(f, func(c *site.Config) { c.RateLimit = site.RateLimit{Every: -1} })
	u := newUser(f)
	valid := u.proposal(f, u.agreement(ts, basicOffer))
	f.Add(valid)
	f.Add(bytes.Replace(valid, []byte(`"offer":"basic"`), []byte(`"offer":"gold"`), 1))
	f.Add([]byte(`{"v":1,"type":"proposal","agreement":{},"userSignature":""}`))
	f.Add([]byte(`{"v":1,"type":"proposal","agreement":{"v":1,"v":2}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte("\xff"))
	handler := ts.Handler()
	doc, _, _ := ts.Terms()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", ts.URL+doc.Endpoints.Agreement, bytes.NewReader(body))
		req.Header.Set("Content-Type", policy.MediaType)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			if _, err := policy.ParseAnswer(rec.Body.Bytes()); err != nil {
				t.Fatalf("200 answer does not parse: %v\n%s", err, rec.Body)
			}
		case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge:
			if _, err := policy.ParseErrorDocument(rec.Body.Bytes()); err != nil {
				t.Fatalf("%d error document does not parse: %v\n%s", rec.Code, err, rec.Body)
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}

// FuzzSignals: the request-header parser never panics and only reports an
// agreed digest for a well-formed 32-byte value.
func FuzzSignals(f *testing.F) {
	for _, s := range []string{"v=1", "v=1, agreed=:" + policy.Digest(nil) + ":", "v=2", "v=1, agreed=:AA==:", "", ",,", "v=1;a=:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Sec-DNT-D", header)
		s := site.ReadSignals(req)
		if s.Agreed != "" && (!s.DNTD || len(s.Agreed) != 44) {
			t.Fatalf("%q gave %+v", header, s)
		}
	})
}
