package site

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// A flood from ever new addresses must not grow the limiter without bound,
// nor reset the bucket of a client that is still flooding: the client seen
// least recently is what is forgotten.
func TestLimiterMemoryIsBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(RateLimit{Every: time.Minute, Burst: 2}, func() time.Time { return now })
	l.max = 1000
	flooder := &http.Request{RemoteAddr: "203.0.113.9:1"}
	l.take(flooder)
	l.take(flooder)
	if ok, _ := l.take(flooder); ok {
		t.Fatal("the flooder's third request was let through")
	}
	r := &http.Request{}
	for i := range 5 * l.max {
		r.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:443", i>>16&255, i>>8&255, i&255)
		if ok, _ := l.take(r); !ok {
			t.Fatalf("a new address was refused at %d", i)
		}
		if i%100 == 0 { // the flooder keeps trying, and stays limited
			if ok, _ := l.take(flooder); ok {
				t.Fatalf("after %d other clients, the flooder's bucket was reset", i)
			}
		}
	}
	if n := len(l.clients); n > l.max || l.recent.Len() != n {
		t.Fatalf("%d clients tracked (%d in order), bound %d", n, l.recent.Len(), l.max)
	}
	// The oldest stranger was forgotten, the most recent is still counted.
	r.RemoteAddr = "10.0.0.0:443"
	if _, kept := l.clients[clientKey(remoteIP(r))]; kept {
		t.Error("the least recently seen client is still tracked")
	}
}

// Rotating through the addresses of one IPv6 /64 is one client; another
// /64, and IPv4 addresses, are others.
func TestLimiterKeysIPv6ByPrefix(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(RateLimit{Every: time.Minute, Burst: 3}, func() time.Time { return now })
	take := func(addr string) bool {
		ok, _ := l.take(&http.Request{RemoteAddr: addr})
		return ok
	}
	for i := range 3 {
		if !take(fmt.Sprintf("[2001:db8:1:2:%x::%x]:443", i, i+1)) {
			t.Fatalf("request %d within the burst refused", i)
		}
	}
	for _, addr := range []string{"[2001:db8:1:2:ffff:ffff:ffff:ffff]:1", "[2001:db8:1:2::1%eth0]:1", "[2001:db8:1:2:abcd::]:80"} {
		if take(addr) {
			t.Errorf("%s, in the same /64, was let through", addr)
		}
	}
	if !take("[2001:db8:1:3::1]:443") {
		t.Error("the next /64 was limited")
	}
	for range 3 {
		take("[::ffff:192.0.2.7]:1") // IPv4-mapped counts as the IPv4 address
	}
	if take("192.0.2.7:1") {
		t.Error("an IPv4 address and its IPv4-mapped form are counted apart")
	}
	if !take("192.0.2.8:1") {
		t.Error("the next IPv4 address was limited")
	}
	for addr, want := range map[string]string{
		"2001:db8::1":      "2001:db8::/64",
		"::ffff:192.0.2.1": "192.0.2.1",
		"client-a":         "client-a",
	} {
		if got := clientKey(addr); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", addr, got, want)
		}
	}
}
