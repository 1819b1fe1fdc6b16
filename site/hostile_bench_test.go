package site_test

import (
	"net/http"
	"testing"

	"github.com/rbutton/rbutton/bench"
	"github.com/rbutton/rbutton/site"
)

// BenchmarkPostBeforeAuth compares what the agreement endpoint spends on a
// well-formed proposal with a bad signature (the first sub-benchmark) with
// hostile bodies that fill the size limits (bench.HostileBodies).
func BenchmarkPostBeforeAuth(b *testing.B) {
	ts := startSite(b, func(c *site.Config) { c.RateLimit = site.RateLimit{Every: -1} })
	u := newUser(b)
	doc, _, _ := ts.Terms()
	h := ts.Handler()
	for _, body := range bench.HostileBodies(u.proposal(b, u.agreement(ts, basicOffer))) {
		b.Run(body.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if bench.Post(h, doc.Endpoints.Agreement, body.Body) == http.StatusOK {
					b.Fatalf("%s was accepted", body.Name)
				}
			}
		})
	}
}
