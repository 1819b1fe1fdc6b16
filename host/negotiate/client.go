// Package negotiate is the r-button agent's HTTP side of DNT-D v1
// (PROTOCOL.md, "Exchange"): it fetches a site's terms document, proposes an
// agreement, follows at most one counter-offer, verifies the dual-signed
// record, and sends signed data-return and end requests.
//
// Sites are untrusted. The client:
//   - speaks HTTPS only, except to loopback origins (localhost, *.localhost,
//     127.0.0.0/8, [::1]), which may use plain HTTP for development;
//   - only ever contacts the origin the user visited: endpoints are paths,
//     absolute URLs are refused, and no redirect is followed;
//   - refuses a public name that resolves to a private, loopback, link-local
//     or otherwise non-public address (checked after resolution, on the
//     address actually dialled), allowing loopback only for loopback origins;
//   - sends no cookies, credentials or proxy authentication (no jar, no
//     proxy: environment proxies are ignored);
//   - caps every body at MaxBody bytes and every exchange at Timeout.
package negotiate

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/policy"
)

// Error is a failure talking to a site. Code is one of the proto site_*
// codes.
type Error struct {
	Code string
	Err  error
	// RetryAfter is how long the site asked the agent to wait (429 with
	// Retry-After), zero if it did not.
	RetryAfter time.Duration
	// SiteCode is the code of the site's error document (PROTOCOL.md
	// 10.6), when it answered with one; SiteDigest its termsDigest.
	SiteCode, SiteDigest string
}

// SiteCode returns the code of the site's error document behind err
// (policy.CodeNotFound, policy.CodeEnded, …), or "".
func SiteCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.SiteCode
	}
	return ""
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// Defaults for Client.
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultTimeout        = 10 * time.Second
	DefaultMaxBody        = policy.MaxTermsDocument
)

// Client talks to sites. The zero value uses the defaults.
type Client struct {
	ConnectTimeout time.Duration // per connection attempt
	Timeout        time.Duration // per HTTP exchange, body included
	MaxBody        int64         // per response body
	// RootCAs, if set, replaces the system roots (tests).
	RootCAs *x509.CertPool
	// LookupIP, if set, replaces DNS resolution (tests).
	LookupIP func(ctx context.Context, host string) ([]netip.Addr, error)
	// Now, if set, replaces time.Now.
	Now func() time.Time
	// NegotiateTimeout bounds one whole Negotiate; zero means
	// DefaultNegotiateTimeout.
	NegotiateTimeout time.Duration
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) maxBody() int64 {
	if c.MaxBody > 0 {
		return c.MaxBody
	}
	return DefaultMaxBody
}

// allowedAddr reports whether dialling ip is acceptable for an origin
// whose host is (loopbackOrigin) or is not a loopback name.
func allowedAddr(ip netip.Addr, loopbackOrigin bool) bool {
	ip = ip.Unmap()
	if loopbackOrigin {
		return ip.IsLoopback()
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || !ip.IsValid() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
}

func (c *Client) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{ip}, nil
	}
	if c.LookupIP != nil {
		return c.LookupIP(ctx, host)
	}
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

func (c *Client) dial(loopbackOrigin bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		ips, err := c.lookup(ctx, host)
		if err != nil {
			return nil, errorf(proto.CodeSiteUnreachable, "resolving %s: %v", host, err)
		}
		timeout := c.ConnectTimeout
		if timeout <= 0 {
			timeout = DefaultConnectTimeout
		}
		d := net.Dialer{
			Timeout: timeout,
			// Checked again on the address actually dialled.
			Control: func(_, address string, _ syscall.RawConn) error {
				ap, err := netip.ParseAddrPort(address)
				if err != nil || !allowedAddr(ap.Addr(), loopbackOrigin) {
					return errorf(proto.CodeSitePrivateAddress, "refusing to connect to %s for %s", address, host)
				}
				return nil
			},
		}
		var lastErr error = errorf(proto.CodeSiteUnreachable, "%s has no address", host)
		for _, ip := range ips {
			if !allowedAddr(ip, loopbackOrigin) {
				lastErr = errorf(proto.CodeSitePrivateAddress, "%s resolves to the non-public address %s", host, ip)
				continue
			}
			conn, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
			if err == nil {
				return conn, nil
			}
			lastErr = err
		}
		return nil, lastErr
	}
}

// checkOrigin returns the parsed origin and whether it is a loopback one.
func checkOrigin(origin string) (*url.URL, bool, error) {
	canon, err := policy.ParseOrigin(origin)
	if err != nil || canon != origin {
		u, perr := url.Parse(origin)
		if perr == nil && u.Scheme == "http" && !policy.IsLoopbackHost(u.Hostname()) {
			return nil, false, errorf(proto.CodeSiteInsecure, "refusing plain http to %s: only https, or http to a loopback host", origin)
		}
		if err == nil {
			err = fmt.Errorf("not canonical (want %s)", canon)
		}
		return nil, false, errorf(proto.CodeSiteInsecure, "invalid site origin %q: %v", origin, err)
	}
	u, err := url.Parse(origin)
	if err != nil {
		return nil, false, errorf(proto.CodeSiteInsecure, "invalid site origin %q: %v", origin, err)
	}
	loop := policy.IsLoopbackHost(u.Hostname())
	if u.Scheme != "https" && !(u.Scheme == "http" && loop) {
		return nil, false, errorf(proto.CodeSiteInsecure, "refusing %s: only https, or http to a loopback host", origin)
	}
	return u, loop, nil
}

// endpointURL joins an endpoint path to origin and checks the result is
// still on origin.
func endpointURL(origin *url.URL, path string) (string, error) {
	if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") || strings.ContainsAny(path, "\\#") {
		return "", errorf(proto.CodeSiteCrossOriginEndpoint, "endpoint %q is not a path on %s", path, origin)
	}
	u, err := url.Parse(origin.Scheme + "://" + origin.Host + path)
	if err != nil {
		return "", errorf(proto.CodeSiteCrossOriginEndpoint, "endpoint %q: %v", path, err)
	}
	if u.Scheme != origin.Scheme || u.Host != origin.Host || u.User != nil {
		return "", errorf(proto.CodeSiteCrossOriginEndpoint, "endpoint %q leaves %s", path, origin)
	}
	return u.String(), nil
}

// response is a site's answer, body fully read.
type response struct {
	status     int
	ctype      string
	body       []byte
	retryAfter time.Duration // from Retry-After on a 429 or 503
}

// MaxRetryAfter caps the wait a site's Retry-After can impose: a hostile or
// broken site must not silence the agent for good.
const MaxRetryAfter = time.Hour

// retryAfter reads Retry-After (delay-seconds or an HTTP-date, RFC 9110
// 10.2.3); zero when absent or unreadable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}

// do sends one request to rawURL (which must be on origin) and reads the
// capped body.
func (c *Client) do(ctx context.Context, origin string, method, rawURL string, body []byte) (*response, error) {
	return c.doAccept(ctx, origin, method, rawURL, policy.MediaType, c.maxBody(), body)
}

// doAccept is do with its own Accept value and body limit.
func (c *Client) doAccept(ctx context.Context, origin string, method, rawURL, accept string, max int64, body []byte) (*response, error) {
	ou, loop, err := checkOrigin(origin)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != ou.Scheme || u.Host != ou.Host || u.User != nil {
		return nil, errorf(proto.CodeSiteCrossOriginEndpoint, "%s is not on %s", rawURL, origin)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            c.dial(loop),
		TLSClientConfig:        &tls.Config{RootCAs: c.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    timeout,
		DisableKeepAlives:      true,
		MaxResponseHeaderBytes: 32 << 10,
		ForceAttemptHTTP2:      true,
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{
		Transport: tr,
		// No redirect is followed: a DNT-D endpoint has no reason to
		// redirect, and following one could leave the origin.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return nil, errorf(proto.CodeSiteProtocolError, "building request: %v", err)
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "rbutton/1")
	req.Header.Set("DNT", "1")
	req.Header.Set("Sec-GPC", "1")
	if body != nil {
		req.Header.Set("Content-Type", policy.MediaType)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, classify(rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return nil, errorf(proto.CodeSiteRedirect, "%s answered %d redirecting to %q; redirects are not followed", rawURL, resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp.ContentLength > max {
		return nil, errorf(proto.CodeSiteTooLarge, "%s sent %d bytes, more than the %d allowed", rawURL, resp.ContentLength, max)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, classify(rawURL, err)
	}
	if int64(len(b)) > max {
		return nil, errorf(proto.CodeSiteTooLarge, "%s sent more than the %d bytes allowed", rawURL, max)
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	r := &response{status: resp.StatusCode, ctype: ct, body: b}
	if r.status == http.StatusTooManyRequests || r.status == http.StatusServiceUnavailable {
		r.retryAfter = retryAfter(resp.Header, c.now())
	}
	return r, nil
}

func classify(rawURL string, err error) error {
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return errorf(proto.CodeSiteTimeout, "%s did not answer in time", rawURL)
	}
	if errors.Is(err, context.Canceled) {
		return errorf(proto.CodeSiteUnreachable, "request to %s canceled", rawURL)
	}
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ce) {
		return errorf(proto.CodeSiteInsecure, "%s: %v", rawURL, ce)
	}
	return errorf(proto.CodeSiteUnreachable, "%s: %v", rawURL, unwrapURL(err))
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
