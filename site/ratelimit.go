package site

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/rbutton/rbutton/policy"
)

// RateLimit bounds the POST requests (proposals, data-return and end
// requests) one client address may make, as PROTOCOL.md 10.8 asks of sites:
// each of them costs the vendor a signature check and, for a proposal, a
// store write, while costing the sender almost nothing. A client over the
// limit gets 429 rate_limited with Retry-After. The terms document is not
// limited: it is static and cacheable.
type RateLimit struct {
	// Every is the sustained rate, one request per Every. Zero means
	// DefaultRateLimit's; negative turns limiting off.
	Every time.Duration
	// Burst is how many requests a client may make at once. Zero means
	// DefaultRateLimit's.
	Burst int
	// ClientAddress names the client a request counts against. Nil means
	// the IP address of r.RemoteAddr; behind a reverse proxy, return the
	// address the proxy forwarded.
	ClientAddress func(r *http.Request) string
}

// DefaultRateLimit lets an agent negotiate, fetch its data and end a
// relationship many times over, and a household behind one address share it,
// while a flood from one address is answered 429 within a second.
var DefaultRateLimit = RateLimit{Every: time.Second, Burst: 30}

// maxTrackedClients bounds the limiter's memory: past it, clients whose
// buckets have refilled are forgotten, and if that is not enough, all are.
const maxTrackedClients = 100_000

type bucket struct {
	tokens float64
	last   time.Time
}

// limiter is a token bucket per client address.
type limiter struct {
	every   time.Duration // <= 0: off
	burst   float64
	address func(*http.Request) string
	now     func() time.Time

	mu      sync.Mutex
	clients map[string]*bucket
}

func newLimiter(cfg RateLimit, now func() time.Time) *limiter {
	if cfg.Every == 0 {
		cfg.Every = DefaultRateLimit.Every
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultRateLimit.Burst
	}
	if cfg.ClientAddress == nil {
		cfg.ClientAddress = remoteIP
	}
	return &limiter{every: cfg.Every, burst: float64(cfg.Burst), address: cfg.ClientAddress, now: now, clients: map[string]*bucket{}}
}

func remoteIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// take spends one token of r's client; when none is left it returns false
// and how long until one is.
func (l *limiter) take(r *http.Request) (bool, time.Duration) {
	if l.every <= 0 {
		return true, 0
	}
	addr := l.address(r)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.clients[addr]
	if !ok {
		if len(l.clients) >= maxTrackedClients {
			l.forgetIdle(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.clients[addr] = b
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+float64(elapsed)/float64(l.every))
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(l.every))
}

// forgetIdle drops the buckets that have refilled (a fresh bucket is the
// same); if every client is active, it drops them all rather than grow.
func (l *limiter) forgetIdle(now time.Time) {
	full := time.Duration(l.burst * float64(l.every))
	for addr, b := range l.clients {
		if now.Sub(b.last) >= full {
			delete(l.clients, addr)
		}
	}
	if len(l.clients) >= maxTrackedClients {
		clear(l.clients)
	}
}

// admit applies the rate limit to a POST; when it refuses, it has written
// the 429 answer.
func (v *Vendor) admit(w http.ResponseWriter, r *http.Request) bool {
	ok, wait := v.limit.take(r)
	if ok {
		return true
	}
	secs := max(1, int((wait+time.Second-1)/time.Second))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	v.logf("← %s from %s → rate limited (retry after %ds)", r.URL.Path, v.limit.address(r), secs)
	writeError(w, http.StatusTooManyRequests, policy.CodeRateLimited,
		"too many requests from this address; try again after "+strconv.Itoa(secs)+" s", "")
	return false
}
