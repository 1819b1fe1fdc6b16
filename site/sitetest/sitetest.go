// Package sitetest serves real vendors (the site library) on loopback for
// the tests of code that talks to one, and notes the agreements they
// accept. It is for tests only.
package sitetest

import (
	"crypto/ed25519"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/rbutton/rbutton/site"
)

// Serve makes a vendor from cfg on a fresh loopback port (cfg.Origin and,
// when unset, cfg.PrivateKey are filled in) and serves its handler,
// wrapped by wrap when not nil, until the test ends. A test holds, drops or
// inspects exchanges in wrap, and closes the server to make the site
// unreachable.
func Serve(t testing.TB, cfg site.Config, wrap func(http.Handler) http.Handler) (*site.Vendor, *httptest.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Origin = "http://" + ln.Addr().String()
	if cfg.PrivateKey == nil {
		if _, cfg.PrivateKey, err = ed25519.GenerateKey(nil); err != nil {
			t.Fatal(err)
		}
	}
	v, err := site.New(cfg)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	h := v.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	srv.Start()
	t.Cleanup(srv.Close)
	return v, srv
}

// Recording is a store that notes the records its exchanges add, once
// each, in order, when the exchange commits: the agreements a vendor
// accepted.
type Recording struct {
	site.Store
	mu  sync.Mutex
	ids []string
}

// NewRecording wraps s (a memory store when nil).
func NewRecording(s site.Store) *Recording {
	if s == nil {
		s = site.NewMemoryStore()
	}
	return &Recording{Store: s}
}

func (r *Recording) Exchange(rel string, fn func(site.Tx) error) error {
	var added []string
	err := r.Store.Exchange(rel, func(tx site.Tx) error {
		added = added[:0] // the store may run fn again
		return fn(recordingTx{tx, &added})
	})
	if err == nil && len(added) > 0 {
		r.mu.Lock()
		for _, id := range added {
			if !slices.Contains(r.ids, id) {
				r.ids = append(r.ids, id)
			}
		}
		r.mu.Unlock()
	}
	return err
}

// IDs returns the ids of the records accepted so far, in order.
func (r *Recording) IDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids)
}

type recordingTx struct {
	site.Tx
	added *[]string
}

func (t recordingTx) AddRecord(sr site.StoredRecord) error {
	if err := t.Tx.AddRecord(sr); err != nil {
		return err
	}
	*t.added = append(*t.added, sr.Record.ID)
	return nil
}
