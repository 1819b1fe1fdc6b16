package site

import (
	"container/list"
	"net"
	"net/http"
	"net/netip"
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
	// address the proxy forwarded. An IPv6 address counts by its /64
	// (IPv6PrefixBits), whichever function returned it.
	ClientAddress func(r *http.Request) string
}

// DefaultRateLimit lets an agent negotiate, fetch its data and end a
// relationship many times over, and a household behind one address share it,
// while a flood from one address is answered 429 within a second.
var DefaultRateLimit = RateLimit{Every: time.Second, Burst: 30}

// maxTrackedClients bounds the limiter's memory: past it, the client seen
// least recently is forgotten (its bucket would refill soonest), so a flood
// from ever new addresses cannot reset the buckets of clients still busy.
const maxTrackedClients = 100_000

// IPv6PrefixBits is how much of an IPv6 address names one client: a /64 is
// what one subscriber is given (RFC 6177), so rotating through the addresses
// of a prefix does not buy fresh buckets.
const IPv6PrefixBits = 64

type bucket struct {
	client string
	tokens float64
	last   time.Time
}

// limiter is a token bucket per client, the buckets in order of last use.
type limiter struct {
	every   time.Duration // <= 0: off
	burst   float64
	address func(*http.Request) string
	now     func() time.Time
	max     int // clients tracked at most

	mu      sync.Mutex
	clients map[string]*list.Element // of *bucket
	recent  *list.List               // most recently used first
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
	return &limiter{every: cfg.Every, burst: float64(cfg.Burst), address: cfg.ClientAddress, now: now,
		max: maxTrackedClients, clients: map[string]*list.Element{}, recent: list.New()}
}

func remoteIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// clientKey names the bucket an address counts against: an IPv4 address
// (also when mapped into IPv6) as itself, an IPv6 address by its /64. What
// is not an IP address (a custom ClientAddress's name) is used as it is.
func clientKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, err := ip.WithZone("").Prefix(IPv6PrefixBits)
	if err != nil {
		return addr
	}
	return p.String()
}

// take spends one token of r's client; when none is left it returns false
// and how long until one is.
func (l *limiter) take(r *http.Request) (bool, time.Duration) {
	if l.every <= 0 {
		return true, 0
	}
	key := clientKey(l.address(r))
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var b *bucket
	if e, ok := l.clients[key]; ok {
		l.recent.MoveToFront(e)
		b = e.Value.(*bucket)
	} else {
		for len(l.clients) >= l.max {
			oldest := l.recent.Back()
			l.recent.Remove(oldest)
			delete(l.clients, oldest.Value.(*bucket).client)
		}
		b = &bucket{client: key, tokens: l.burst, last: now}
		l.clients[key] = l.recent.PushFront(b)
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

// admit applies the rate limit to a POST; when it refuses, it has written
// the 429 answer.
func (v *Vendor) admit(w http.ResponseWriter, r *http.Request) bool {
	ok, wait := v.limit.take(r)
	if ok {
		return true
	}
	secs := max(1, int((wait+time.Second-1)/time.Second))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	v.logf("← %s from %s → rate limited (retry after %ds)", r.URL.Path, clientKey(v.limit.address(r)), secs)
	writeError(w, http.StatusTooManyRequests, policy.CodeRateLimited,
		"too many requests from this address; try again after "+strconv.Itoa(secs)+" s", "")
	return false
}
