package site

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// A flood from ever new addresses must not grow the limiter without bound.
func TestLimiterMemoryIsBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(RateLimit{Every: time.Second, Burst: 2}, func() time.Time { return now })
	r := &http.Request{}
	for i := range maxTrackedClients + 5000 {
		r.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:443", i>>16&255, i>>8&255, i&255)
		if ok, _ := l.take(r); !ok {
			t.Fatalf("a new address was refused at %d", i)
		}
		if i%1000 == 0 {
			now = now.Add(time.Millisecond)
		}
	}
	if n := len(l.clients); n > maxTrackedClients {
		t.Fatalf("%d clients tracked, bound %d", n, maxTrackedClients)
	}
	// Idle clients (refilled buckets) are what is forgotten first.
	now = now.Add(time.Hour)
	r.RemoteAddr = "192.0.2.1:1"
	l.take(r)
	l.forgetIdle(now)
	if len(l.clients) != 1 {
		t.Errorf("after everyone idled, %d clients tracked, want the 1 just seen", len(l.clients))
	}
}
