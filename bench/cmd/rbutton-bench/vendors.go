package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rbutton/rbutton/site"
	"github.com/rbutton/rbutton/site/demo"
)

// vendors are the demo vendors (site/demo, the code behind
// bin/rbutton-demo-sites) served from this process, each behind a counter
// of the HTTP requests it receives. A separate counting proxy is not
// possible: a vendor refuses agreements naming any origin but its own, so
// whatever counts must sit at the vendor's own address.
type vendors struct {
	sites   *demo.Sites
	servers []*http.Server
	origins map[string]string

	mu       sync.Mutex
	requests map[string][]capturedRequest // by site name
	// pageTime is how long the shop took to serve its home page, to a
	// visitor whose Sec-DNT-D carried an agreed digest (true) and to others:
	// the vendor's own share of a page load (section 5).
	pageTime map[bool][]time.Duration
}

type capturedRequest struct {
	Method, Path, ContentType string
	Body                      []byte
}

func startVendors() (*vendors, error) {
	names := []string{"shop", "news", "changing", "plain", "echo"}
	lns := make([]net.Listener, len(names))
	ports := make([]int, len(names))
	for i := range names {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			for _, l := range lns[:i] {
				l.Close()
			}
			return nil, err
		}
		lns[i], ports[i] = ln, ln.Addr().(*net.TCPAddr).Port
	}
	sites, err := demo.Build(demo.Options{Addr: "127.0.0.1", ShopPort: ports[0], NewsPort: ports[1], ChangingPort: ports[2], PlainPort: ports[3], EchoPort: ports[4],
		// Section 4 sends dozens of proposals a second from loopback: it
		// measures the protocol, not the vendors' rate limit.
		RateLimit: site.RateLimit{Every: -1}})
	if err != nil {
		for _, l := range lns {
			l.Close()
		}
		return nil, fmt.Errorf("building the demo vendors: %w", err)
	}
	v := &vendors{sites: sites, origins: map[string]string{}, requests: map[string][]capturedRequest{}, pageTime: map[bool][]time.Duration{}}
	for i, s := range sites.List {
		if s.Addr != "127.0.0.1:"+strconv.Itoa(ports[i]) {
			v.close()
			return nil, fmt.Errorf("demo site %s is at %s, want port %d", s.Name, s.Addr, ports[i])
		}
		v.origins[s.Name] = s.Origin
		srv := &http.Server{Handler: v.count(s.Name, s.Handler), ReadHeaderTimeout: 10 * time.Second}
		v.servers = append(v.servers, srv)
		go srv.Serve(lns[i])
	}
	return v, nil
}

func (v *vendors) count(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := capturedRequest{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type")}
		if r.Body != nil && r.Method == http.MethodPost {
			b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			if err != nil {
				http.Error(w, "reading body", http.StatusBadRequest)
				return
			}
			c.Body = b
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		v.mu.Lock()
		v.requests[name] = append(v.requests[name], c)
		v.mu.Unlock()
		if name != "shop" || r.Method != http.MethodGet || r.URL.Path != "/" {
			h.ServeHTTP(w, r)
			return
		}
		t0 := time.Now()
		h.ServeHTTP(w, r)
		took := time.Since(t0)
		agreed := strings.Contains(r.Header.Get("Sec-DNT-D"), "agreed=")
		v.mu.Lock()
		v.pageTime[agreed] = append(v.pageTime[agreed], took)
		v.mu.Unlock()
	})
}

// take returns and forgets the requests name has received.
func (v *vendors) take(name string) []capturedRequest {
	v.mu.Lock()
	defer v.mu.Unlock()
	r := v.requests[name]
	delete(v.requests, name)
	return r
}

func (v *vendors) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, s := range v.servers {
		s.Shutdown(ctx)
	}
	v.sites.Close()
}
