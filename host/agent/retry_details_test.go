package agent

import (
	"crypto/ed25519"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
)

// downUpVendor is the site library on a loopback port that can be shut
// down (connections refused) and started again on the same port.
type downUpVendor struct {
	v      *site.Vendor
	origin string
	addr   string
	mu     sync.Mutex
	srv    *http.Server
	emails []string // what its CRM took, in order
}

func newDownUpVendor(t *testing.T) *downUpVendor {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &downUpVendor{addr: ln.Addr().String()}
	d.origin = "http://" + d.addr
	_, priv, _ := ed25519.GenerateKey(nil)
	d.v, err = site.New(site.Config{Origin: d.origin, Controller: policy.Controller{Name: "Flaky Shop", Contact: "privacy@flaky.test"},
		PolicyURL: "https://flaky.test/privacy", Offers: []policy.Offer{basicOffer}, PrivateKey: priv, RateLimit: site.RateLimit{Every: -1},
		Details: func(u site.DetailsUpdate) error {
			d.mu.Lock()
			defer d.mu.Unlock()
			d.emails = append(d.emails, u.Details.Email)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	d.serve(ln)
	t.Cleanup(d.down)
	return d
}

func (d *downUpVendor) serve(ln net.Listener) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.srv = &http.Server{Handler: d.v.Handler()}
	go d.srv.Serve(ln)
}

func (d *downUpVendor) down() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.srv != nil {
		d.srv.Close()
		d.srv = nil
	}
}

func (d *downUpVendor) up(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", d.addr)
	if err != nil {
		t.Fatalf("listening again on %s: %v", d.addr, err)
	}
	d.serve(ln)
}

func (d *downUpVendor) took() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.emails...)
}

// An update a site could not take is retried with backoff by later calls
// that contact sites, without the user pushing again, and delivered once
// the site is back; `changes` tells the extension when one is due.
func TestUndeliveredUpdateRetriedAlongsideLaterCalls(t *testing.T) {
	a := newAgent(t)
	var clock struct {
		sync.Mutex
		t time.Time
	}
	clock.t = time.Now().UTC()
	a.Now = func() time.Time { clock.Lock(); defer clock.Unlock(); return clock.t }
	advance := func(d time.Duration) { clock.Lock(); clock.t = clock.t.Add(d); clock.Unlock() }

	flaky := newDownUpVendor(t)
	other := newRealVendor(t, basicOffer) // another site the user visits
	mustCall[ProfileView](t, a, proto.TypeProfileSet, map[string]any{"details": map[string]any{"email": "one@example.org"}})
	_, _, digest := flaky.v.Terms()
	if rel := mustCall[store.Relationship](t, a, proto.TypeNegotiate, map[string]any{"site": flaky.origin, "advertisement": policy.ResponseHeaderValue(digest)}); rel.State != store.StateAgreed {
		t.Fatalf("negotiate: %s", rel.State)
	}
	mustCall[ShareView](t, a, proto.TypeProfileShare, map[string]any{"site": flaky.origin})

	flaky.down()
	mustCall[ProfileView](t, a, proto.TypeProfileSet, map[string]any{"details": map[string]any{"email": "two@example.org"}})
	res := mustCall[PushResult](t, a, proto.TypeProfilePush, nil)
	if res.Retrying != 1 || res.Sites[0].Error == nil || res.Sites[0].Error.Code != proto.CodeSiteUnreachable {
		t.Fatalf("push to a site that is down: %+v", res)
	}
	due := func() bool {
		return mustCall[ChangesResult](t, a, proto.TypeChanges, map[string]any{"since": 0}).DetailsDue
	}
	owed := func() *store.Pending {
		v := mustCall[ProfileView](t, a, proto.TypeProfileGet, nil)
		for _, s := range v.Sites {
			if s.Site == flaky.origin {
				return s.Pending
			}
		}
		return nil
	}
	visit := func() { other.negotiate(t, a) } // contacts a site: retries alongside

	// Before its retry time: not due, and a later call does not send it.
	if due() {
		t.Fatal("changes says an update is due before its retry time")
	}
	visit()
	if p := owed(); p == nil || p.Attempts != 1 {
		t.Fatalf("owed before its retry time: %+v", p)
	}

	// Due, site still down: the later call retries it, and the wait doubles.
	advance(BackoffBase + time.Second)
	if !due() {
		t.Fatal("changes does not say the update is due")
	}
	visit()
	p := owed()
	if p == nil || p.Attempts != 2 || !strings.HasPrefix(p.LastError, proto.CodeSiteUnreachable) || p.Next.Sub(a.now()) <= BackoffBase {
		t.Fatalf("after a retry with the site down: %+v", p)
	}
	if due() {
		t.Fatal("due again at once after a failed retry")
	}

	// The site is back: the next due retry delivers, the history says so once.
	flaky.up(t)
	advance(2*BackoffBase + time.Second)
	visit()
	if p := owed(); p != nil {
		t.Fatalf("still owed once the site is back: %+v", p)
	}
	if got := flaky.took(); len(got) != 2 || got[1] != "two@example.org" {
		t.Fatalf("the site took %v", got)
	}
	h := history(t, a, flaky.origin)
	var failed int
	for _, e := range h {
		if e == policy.EventDetailsFailed {
			failed++
		}
	}
	if h[len(h)-1] != policy.EventDetailsUpdated || failed != 1 {
		t.Fatalf("history %v: want one details-failed, then details-updated", h)
	}
	if due() {
		t.Fatal("due after delivery")
	}
}

// A call contacting sites sends at most retryAlongside updates; the rest
// wait, longest due first.
func TestPushMaxSendsLongestDueFirst(t *testing.T) {
	a := newAgent(t)
	vendors := make([]*realVendor, 3)
	mustCall[ProfileView](t, a, proto.TypeProfileSet, map[string]any{"details": map[string]any{"email": "one@example.org"}})
	for i := range vendors {
		vendors[i] = newRealVendor(t, basicOffer)
		vendors[i].negotiate(t, a)
		mustCall[ShareView](t, a, proto.TypeProfileShare, map[string]any{"site": vendors[i].origin})
	}
	mustCall[ProfileView](t, a, proto.TypeProfileSet, map[string]any{"details": map[string]any{"email": "two@example.org"}})
	// Make vendors[2] the longest due.
	err := a.DB.Update(func(tx *store.Tx) error {
		sh, err := tx.Share(vendors[2].origin)
		if err != nil || sh == nil || sh.Pending == nil {
			return errors.Join(err, errors.New("no pending update"))
		}
		sh.Pending.Next = sh.Pending.Next.Add(-time.Minute)
		return tx.PutShare(vendors[2].origin, *sh)
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Push(t.Context(), PushOptions{Max: 1})
	if err != nil || res.Delivered != 1 || res.Waiting != 2 || res.Total != 3 {
		t.Fatalf("push with Max 1: %+v %v", res, err)
	}
	for _, o := range res.Sites {
		if (o.Outcome == PushDelivered) != (o.Site == vendors[2].origin) {
			t.Errorf("%s: %s", o.Site, o.Outcome)
		}
	}
}
