package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site/pgstore"
	"github.com/rbutton/rbutton/site/pgstore/pgtest"
	"github.com/rbutton/rbutton/site/sidecar"
)

// pgConfig is one rbutton-vendor of a site served by several, all sharing
// one PostgreSQL database: the same origin, key and terms document.
const pgConfig = `
listen = %q
origin = %q
upstream = %q
keyFile = %q
policy = "https://shop.example/privacy"
lastUpdate = 2026-12-01T00:00:00Z
[controller]
name = "Many Servers Shop"
contact = "privacy@shop.example"
[[offers]]
id = "basic"
summary = "Service and first-party analytics."
[offers.terms]
tracking = "first-party"
purposes = ["service", "analytics"]
sharing = "processors"
retention = "P30D"
identity = "pseudonymous"
contact = "transactional"
[offers.obligations]
access = "on-request"
deletion = "on-request"
dataReturn = "on-request"
[store]
kind = "postgres"
dsn = %q
[rateLimit]
every = "off"
`

// pgSite is one site served by rbutton-vendor processes over one database.
type pgSite struct {
	t        *testing.T
	dir, dsn string
	origin   string // what browsers and agents see (the requests go to a process's own address)
	upstream string
	key      string
}

func newPGSite(t *testing.T) *pgSite {
	t.Helper()
	dsn := pgtest.DSN(t)
	up := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><title>app</title><p>hello")
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go up.Serve(ln)
	t.Cleanup(func() { up.Close() })
	dir := t.TempDir()
	s := &pgSite{t: t, dir: dir, dsn: dsn, origin: "http://127.0.0.1:9", upstream: "http://" + ln.Addr().String(), key: filepath.Join(dir, "vendor.key")}
	if _, err := sidecar.WriteNewKey(s.key); err != nil {
		t.Fatal(err)
	}
	return s
}

// start runs one more rbutton-vendor process for the site; it returns the
// process and the address it serves on.
func (s *pgSite) start(name string) (*process, string) {
	s.t.Helper()
	addr := freePort(s.t)
	config := filepath.Join(s.dir, name+".toml")
	if err := os.WriteFile(config, fmt.Appendf(nil, pgConfig, addr, s.origin, s.upstream, s.key, s.dsn), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return startVendor(s.t, config), addr
}

// at returns a client whose requests to the site's origin reach addr, as a
// load balancer in front of the processes would send them.
func at(addr string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: 64,
	}}
}

type reply struct {
	status int
	body   []byte
	header http.Header
}

func send(c *http.Client, method, url string, body []byte, header map[string]string) (reply, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", policy.MediaType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, b, resp.Header}, err
}

// visitor is an agent's side of one relationship with the site.
type visitor struct {
	priv ed25519PrivateKey
	key  string
}

type ed25519PrivateKey = []byte

func newVisitor(t testing.TB) visitor {
	pub, priv, err := policy.NewPairwiseKey()
	if err != nil {
		t.Fatal(err)
	}
	return visitor{priv, policy.EncodeKey(pub)}
}

// terms fetches the site's terms document through c.
func (s *pgSite) terms(c *http.Client) (*policy.TermsDocument, string) {
	s.t.Helper()
	r, err := send(c, "GET", s.origin+policy.WellKnownPath, nil, nil)
	if err != nil || r.status != 200 {
		s.t.Fatalf("terms: %d %v %s", r.status, err, r.body)
	}
	doc, err := policy.ParseTermsDocument(r.body)
	if err != nil {
		s.t.Fatal(err)
	}
	return doc, policy.Digest(r.body)
}

// proposal is a signed proposal of the site's offer "basic".
func (v visitor) proposal(t testing.TB, origin string, doc *policy.TermsDocument, digest string) []byte {
	o := doc.Offer("basic")
	a := policy.Agreement{V: 1, Site: origin, TermsDigest: digest, Offer: o.ID, Terms: o.Terms, Obligations: o.Obligations,
		UserKey: v.key, SiteKey: doc.PublicKey, Nonce: policy.NewNonce(), Created: time.Now().UTC().Truncate(time.Second)}
	sig, err := policy.SignAgreement(a, v.priv)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(policy.Proposal{V: 1, Type: "proposal", Agreement: a, UserSignature: sig})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (v visitor) request(t testing.TB, typ, record string) []byte {
	r := policy.SignedRequest{V: 1, Type: typ, Record: record, Nonce: policy.NewNonce(), Created: time.Now().UTC().Truncate(time.Second)}
	if err := policy.SignRequest(&r, v.priv); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func accepted(r reply) (*policy.Record, error) {
	if r.status != 200 {
		return nil, fmt.Errorf("status %d: %s", r.status, r.body)
	}
	a, err := policy.ParseAnswer(r.body)
	if err != nil {
		return nil, err
	}
	if a.Status != policy.StatusAccepted || a.Record == nil {
		return nil, fmt.Errorf("answer %s, want accepted", r.body)
	}
	return a.Record, nil
}

// Two rbutton-vendor processes serve one site from one PostgreSQL: an
// agreement made through one is recognised (Tk: C), returned and ended
// through the other; many visitors proposing through both at once all get
// their agreement; one proposal sent to both at once gets one answer.
func TestTwoProcessesOnePostgres(t *testing.T) {
	t.Parallel()
	s := newPGSite(t)
	pa, addrA := s.start("a")
	pb, addrB := s.start("b")
	a, b := at(addrA), at(addrB)
	doc, digest := s.terms(a)
	if _, digestB := s.terms(b); digestB != digest {
		t.Fatalf("the two processes publish different terms documents")
	}
	doc.Endpoints = policy.Endpoints{Agreement: doc.Endpoints.Agreement, DataReturn: doc.Endpoints.DataReturn, End: doc.Endpoints.End}

	u := newVisitor(t)
	rec, err := accepted(must(send(a, "POST", s.origin+doc.Endpoints.Agreement, u.proposal(t, s.origin, doc, digest), nil)))
	if err != nil {
		t.Fatalf("proposal through a: %v\n%s", err, pa.log())
	}
	agreed := "v=1, agreed=:" + policy.AgreedDigest(rec.Agreement.Terms, rec.Agreement.Obligations) + ":"
	page := must(send(b, "GET", s.origin+"/", nil, map[string]string{"Accept": "text/html", "Sec-Fetch-Dest": "document", "Sec-DNT-D": agreed}))
	if page.header.Get("Tk") != "C" {
		t.Errorf("page through b: Tk %q, want C", page.header.Get("Tk"))
	}
	dr := must(send(b, "POST", s.origin+doc.Endpoints.DataReturn, u.request(t, policy.RequestDataReturn, rec.ID), nil))
	d, err := policy.ParseDataReturn(dr.body)
	if dr.status != 200 || err != nil || len(d.Items) != 1 || d.Items[0].Data["record"] != rec.ID {
		t.Fatalf("data return through b: %d %v %s\n%s", dr.status, err, dr.body, pb.log())
	}
	end := must(send(b, "POST", s.origin+doc.Endpoints.End, u.request(t, policy.RequestEnd, rec.ID), nil))
	if end.status != 200 {
		t.Fatalf("end through b: %d %s", end.status, end.body)
	}
	gone := must(send(a, "POST", s.origin+doc.Endpoints.DataReturn, u.request(t, policy.RequestDataReturn, rec.ID), nil))
	if e, err := policy.ParseErrorDocument(gone.body); gone.status != 410 || err != nil || e.Error != policy.CodeEnded {
		t.Fatalf("data return through a after the end through b: %d %s", gone.status, gone.body)
	}

	// Many visitors at once, alternating between the processes; and one
	// proposal (a retry) sent to both at once.
	const visitors = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*visitors)
	twin := make([]reply, 2)
	keys := make([]string, visitors)
	for i := range visitors {
		v := newVisitor(t)
		keys[i] = v.key
		body := v.proposal(t, s.origin, doc, digest)
		clients := []*http.Client{a, b}
		if i == 0 {
			for j, c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, err := send(c, "POST", s.origin+doc.Endpoints.Agreement, body, nil)
					twin[j] = r
					errs <- err
				}()
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := send(clients[i%2], "POST", s.origin+doc.Endpoints.Agreement, body, nil)
			if err == nil {
				_, err = accepted(r)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := accepted(twin[0]); err != nil || !bytes.Equal(twin[0].body, twin[1].body) {
		t.Fatalf("one proposal sent to both processes: %v\n%s\n%s", err, twin[0].body, twin[1].body)
	}
	store, err := pgstore.Open(context.Background(), s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var records, relationships int
	if err := store.Pool().QueryRow(context.Background(), "SELECT count(*), count(DISTINCT user_key) FROM dntd_records").Scan(&records, &relationships); err != nil {
		t.Fatal(err)
	}
	if records != visitors+1 || relationships != visitors+1 {
		t.Errorf("%d records for %d relationships, want %d of each", records, relationships, visitors+1)
	}
	for _, k := range keys {
		chain, err := store.History(k)
		if err != nil || len(chain) != 1 || policy.VerifyChain(chain) != nil {
			t.Errorf("history of %s: %+v %v", k, chain, err)
		}
	}
}

func must(r reply, err error) reply {
	if err != nil {
		panic(err)
	}
	return r
}

// A vendor process killed with SIGKILL while accepting proposals loses no
// agreement it acknowledged: each is in the database with its history, and
// the agent's retry of the same body, to the restarted process, gets the
// same bytes. A proposal whose connection dropped gets, on retry, one
// agreement: never a second.
func TestKilledVendorLosesNothingAcknowledged(t *testing.T) {
	t.Parallel()
	s := newPGSite(t)
	p, addr := s.start("a")
	c := at(addr)
	doc, digest := s.terms(c)

	type attempt struct {
		v     visitor
		body  []byte
		reply reply
		err   error
	}
	const workers = 8
	var (
		mu       sync.Mutex
		attempts []*attempt
		wg       sync.WaitGroup
	)
	acked := make(chan struct{}, 1<<16)
	stop := make(chan struct{})
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				v := newVisitor(t)
				at := &attempt{v: v, body: v.proposal(t, s.origin, doc, digest)}
				at.reply, at.err = send(c, "POST", s.origin+doc.Endpoints.Agreement, at.body, nil)
				mu.Lock()
				attempts = append(attempts, at)
				mu.Unlock()
				if at.err != nil {
					return // the process is gone
				}
				acked <- struct{}{}
			}
		}()
	}
	// Kill it in the middle of the load, once it has acknowledged a few.
	for range 30 {
		<-acked
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()

	p2, addr2 := s.start("a-restarted")
	c2 := at(addr2)
	store, err := pgstore.Open(context.Background(), s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var ok, dropped int
	for _, at := range attempts {
		if at.err == nil {
			ok++
			rec, err := accepted(at.reply)
			if err != nil {
				t.Fatalf("answer before the kill: %v", err)
			}
			sr, err := store.GetRecord(rec.ID)
			if err != nil || sr.Record.SiteSignature != rec.SiteSignature {
				t.Errorf("acknowledged agreement %s lost: %v", rec.ID, err)
			}
			chain, err := store.History(at.v.key)
			if err != nil || len(chain) != 1 || chain[0].Agreement != rec.ID {
				t.Errorf("history of an acknowledged agreement: %+v %v", chain, err)
			}
			again := must(send(c2, "POST", s.origin+doc.Endpoints.Agreement, at.body, nil))
			if again.status != at.reply.status || !bytes.Equal(again.body, at.reply.body) {
				t.Errorf("retry after the restart answered differently:\n%s\n%s", at.reply.body, again.body)
			}
			continue
		}
		// The connection dropped: the agent retries the same body.
		dropped++
		first := must(send(c2, "POST", s.origin+doc.Endpoints.Agreement, at.body, nil))
		if _, err := accepted(first); err != nil {
			t.Errorf("retry of a dropped proposal: %v\n%s", err, p2.log())
		}
		second := must(send(c2, "POST", s.origin+doc.Endpoints.Agreement, at.body, nil))
		if !bytes.Equal(first.body, second.body) {
			t.Errorf("two retries answered differently")
		}
		var n int
		if err := store.Pool().QueryRow(context.Background(), "SELECT count(*) FROM dntd_records WHERE user_key = $1", at.v.key).Scan(&n); err != nil || n != 1 {
			t.Errorf("%d records for a retried relationship (%v), want 1", n, err)
		}
	}
	if ok < 30 || dropped == 0 {
		t.Fatalf("%d acknowledged and %d dropped: the kill did not land mid-load", ok, dropped)
	}
	t.Logf("%d proposals acknowledged before the kill, %d dropped by it", ok, dropped)
}
