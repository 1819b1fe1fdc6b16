package policy

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// ParseOrigin returns the canonical form of a web origin,
// scheme://host[:port], as DNT-D uses it to name a site: lowercase, no
// default port, no path, query, fragment or userinfo, ASCII host (IDNs in
// their A-label form). The scheme is https; http is allowed only for loopback
// hosts (localhost, *.localhost, 127.0.0.0/8, [::1]), for development.
// A single trailing "/" is accepted and dropped.
func ParseOrigin(s string) (string, error) { return parseOrigin(s, false) }

// ParseObservedOrigin is ParseOrigin for an origin a page was seen to
// contact (the compliance watch, PROTOCOL.md 12.1): there http is allowed
// for any host, since the agent only names it and never sends to it.
func ParseObservedOrigin(s string) (string, error) { return parseOrigin(s, true) }

func parseOrigin(s string, anyHTTP bool) (string, error) {
	bad := func(msg string) (string, error) {
		return "", &ParseError{Path: "", Err: &detailError{kind: ErrInvalidValue, msg: "origin " + strconv.Quote(s) + ": " + msg}}
	}
	if len(s) > 300 {
		return bad("longer than 300 bytes")
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return bad(`must be scheme://host[:port]`)
	}
	scheme = strings.ToLower(scheme)
	if scheme != "https" && scheme != "http" {
		return bad("scheme must be https (or http for loopback)")
	}
	rest = strings.TrimSuffix(rest, "/")
	if strings.ContainsAny(rest, "/?#@\\ \t\r\n%") {
		return bad("must not contain a path, query, fragment, userinfo or escapes")
	}
	host, port := rest, ""
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return bad("unterminated IPv6 literal")
		}
		host = rest[:end+1]
		after := rest[end+1:]
		if after != "" {
			if !strings.HasPrefix(after, ":") {
				return bad("junk after IPv6 literal")
			}
			port = after[1:]
		}
	} else if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		host, port = rest[:i], rest[i+1:]
	}
	host = strings.ToLower(host)
	if err := checkHost(host); err != nil {
		return bad(err.Error())
	}
	if port != "" || strings.HasSuffix(rest, ":") {
		if port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "" || port[0] == '0' {
			return bad("port must be a decimal number 1-65535 without leading zeros")
		}
		n, _ := strconv.Atoi(port)
		if n < 1 || n > 65535 {
			return bad("port must be 1-65535")
		}
		if (scheme == "https" && n == 443) || (scheme == "http" && n == 80) {
			port = ""
		}
	}
	if scheme == "http" && !anyHTTP && !IsLoopbackHost(host) {
		return bad("http is allowed only for loopback hosts; use https")
	}
	out := scheme + "://" + host
	if port != "" {
		out += ":" + port
	}
	return out, nil
}

func checkHost(host string) error {
	if host == "" {
		return errors.New("empty host")
	}
	if strings.HasPrefix(host, "[") {
		a, err := netip.ParseAddr(host[1 : len(host)-1])
		if err != nil || !a.Is6() || a.Zone() != "" || a.Is4In6() || "["+a.String()+"]" != host {
			return errors.New("invalid or non-canonical IPv6 literal")
		}
		return nil
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if !a.Is4() || a.String() != host {
			return errors.New("invalid IP literal")
		}
		return nil
	}
	if len(host) > 253 {
		return errors.New("host longer than 253 bytes")
	}
	labels := strings.Split(host, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return errors.New("host must be ASCII letters, digits, hyphens and dots (IDNs as A-labels)")
		}
	}
	// An all-numeric last label would be a malformed IPv4 address.
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return errors.New("invalid IPv4 address")
	}
	return nil
}

// IsLoopbackHost reports whether a canonical host is a loopback name or
// address: localhost, *.localhost, 127.0.0.0/8 or [::1].
func IsLoopbackHost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsLoopback()
}
