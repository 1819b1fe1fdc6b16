package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rbutton/rbutton/bench"
	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
	"github.com/rbutton/rbutton/site/boltstore"
	"github.com/rbutton/rbutton/site/pgstore"
	"github.com/rbutton/rbutton/site/pgstore/pgtest"
	"github.com/rbutton/rbutton/site/sidecar"
)

// Section 7: the vendor side under load. A closed loop of many distinct
// agents (real Ed25519 keys, real signed proposals, each from a fresh key)
// POSTs proposals over loopback HTTP to four set-ups, interleaved, each run
// a fresh window: the site library in process on the bbolt store and on the
// PostgreSQL store, and one and two rbutton-vendor processes on PostgreSQL.
// PostgreSQL is a throwaway server (scripts/postgres.sh, as make test
// starts), with fsync on: an acknowledged agreement is on disk.

const (
	vendorWorkers = 16              // concurrent agents in the closed loop
	vendorWindow  = 4 * time.Second // measured per set-up and run
	vendorOrigin  = "http://127.0.0.1:9"
	vendorPoolDSN = " pool_max_conns=16"
)

var vendorOffer = policy.Offer{ID: "basic", Summary: "Service and first-party analytics.",
	Terms: policy.Terms{Tracking: policy.TrackingFirstParty, Purposes: []policy.Purpose{policy.PurposeService, policy.PurposeAnalytics},
		Sharing: policy.SharingProcessors, Retention: "P30D", Identity: policy.IdentityPseudonymous, Contact: policy.ContactTransactional},
	Obligations: policy.Obligations{Access: policy.LevelOnRequest, Deletion: policy.LevelOnRequest, DataReturn: policy.LevelOnRequest}}

// vendorSetup is one way of serving the site: addresses to spread the load
// over, and the processes whose CPU is the vendor's.
type vendorSetup struct {
	name  string
	addrs []string
	pids  []int
	stop  func()
}

// loadResult is one window of closed-loop load against a set-up.
type loadResult struct {
	accepted  int
	errors    int
	elapsed   time.Duration
	latencies []time.Duration
	vendorCPU time.Duration // CPU of the vendor processes (0 when in process)
	pgCPU     time.Duration // CPU of the PostgreSQL server's processes
}

func (r loadResult) rate() float64 { return float64(r.accepted) / r.elapsed.Seconds() }

func vendorSection(ctx context.Context, c *config, rep *report) error {
	dsn, stopPG, err := benchPostgres(c)
	if err != nil {
		return err
	}
	defer stopPG()
	bin := filepath.Join(c.scratch, "rbutton-vendor")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./site/cmd/rbutton-vendor")
	build.Dir, build.Stdout, build.Stderr = c.root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building rbutton-vendor: %w", err)
	}
	keyFile := filepath.Join(c.scratch, "vendor.key")
	if _, err := sidecar.WriteNewKey(keyFile); err != nil {
		return err
	}
	key, err := sidecar.LoadKey(keyFile)
	if err != nil {
		return err
	}
	upstream, upAddr, err := serveUpstream()
	if err != nil {
		return err
	}
	defer upstream.Close()

	setups := []func() (*vendorSetup, error){
		func() (*vendorSetup, error) { return libraryVendor(c, "library, bbolt", key, "") },
		func() (*vendorSetup, error) {
			return libraryVendor(c, "library, PostgreSQL", key, newDatabase(dsn, "bench_library"))
		},
		func() (*vendorSetup, error) {
			return sidecarVendors(ctx, c, bin, "1 rbutton-vendor, PostgreSQL", keyFile, upAddr, newDatabase(dsn, "bench_one"), 1)
		},
		func() (*vendorSetup, error) {
			return sidecarVendors(ctx, c, bin, "2 rbutton-vendor, PostgreSQL", keyFile, upAddr, newDatabase(dsn, "bench_two"), 2)
		},
	}
	started := make([]*vendorSetup, len(setups))
	defer func() {
		for _, s := range started {
			if s != nil {
				s.stop()
			}
		}
	}()
	for i, f := range setups {
		if started[i], err = f(); err != nil {
			return err
		}
	}
	runs := c.runs
	window := vendorWindow
	if c.quick {
		window = time.Second
	}
	results := make([][]loadResult, len(setups))
	for run := range runs {
		for i, s := range started {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r, err := closedLoop(s, window)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			fmt.Fprintf(os.Stderr, "rbutton-bench: vendor run %d, %s: %s accepted, p99 %s\n", run+1, s.name, fmtRate(r.rate()), fmtDur(bench.Percentile(r.latencies, 0.99)))
			results[i] = append(results[i], r)
		}
	}
	rates := func(rs []loadResult) []float64 {
		out := make([]float64, len(rs))
		for i, r := range rs {
			out[i] = r.rate()
		}
		return out
	}
	pct := func(rs []loadResult, q float64) time.Duration {
		var ds []time.Duration
		for _, r := range rs {
			ds = append(ds, bench.Percentile(r.latencies, q))
		}
		return bench.MedianDuration(ds)
	}
	boltRate := bench.Median(rates(results[0]))
	for i, s := range started {
		rs := results[i]
		rate := bench.Median(rates(rs))
		var ratios []float64
		for run := range rs {
			ratios = append(ratios, rs[run].rate()/results[0][run].rate())
		}
		x := row{section: 7, measure: "accepted proposals/s: " + s.name, value: fmtRate(rate),
			baseline: "bbolt " + fmtRate(boltRate) + ", p50 " + fmtDur(pct(rs, 0.5)) + ", p99 " + fmtDur(pct(rs, 0.99))}
		if i > 0 {
			ratio := bench.Median(ratios)
			x.ratio = fmtRatio(ratio)
			if strings.Contains(s.name, "PostgreSQL") {
				x.aim = "≥ 10× bbolt, p99 < 50 ms"
				x.met = yesNo(ratio >= 10 && pct(rs, 0.99) < 50*time.Millisecond)
			}
		}
		rep.add(x)
		errs := 0
		var vcpu, pcpu time.Duration
		accepted := 0
		for _, r := range rs {
			errs += r.errors
			vcpu += r.vendorCPU
			pcpu += r.pgCPU
			accepted += r.accepted
		}
		cost := ""
		if accepted > 0 && pcpu > 0 {
			cost = fmt.Sprintf(" PostgreSQL's processes spent %s of CPU per accepted proposal", fmtDur(pcpu/time.Duration(accepted)))
			if vcpu > 0 {
				cost += fmt.Sprintf(", the rbutton-vendor processes %s", fmtDur(vcpu/time.Duration(accepted)))
			}
			cost += "."
		}
		rep.note(7, "%s: %s accepted proposals/s (runs %s), p50 %s, p99 %s, %d failed requests.%s",
			s.name, fmtRate(rate), spreadRates(rates(rs)), fmtDur(pct(rs, 0.5)), fmtDur(pct(rs, 0.99)), errs, cost)
	}
	if err := hostilePostCost(rep, key); err != nil {
		return err
	}
	if err := strangerBytes(rep, key, dsn, c); err != nil {
		return err
	}
	rep.note(7, "Load: %d agents in a closed loop for %s per set-up and run, each proposal from a fresh Ed25519 key, "+
		"signed before the window; requests over loopback HTTP/1.1 with keep-alive; rate limit off. PostgreSQL %s with fsync on, "+
		"pgxpool of 16 connections per vendor process; both share this machine's CPUs with the load generator.",
		vendorWorkers, window, pgVersion(dsn))
	return nil
}

func spreadRates(xs []float64) string {
	if len(xs) == 0 {
		return ""
	}
	lo, hi := xs[0], xs[0]
	for _, x := range xs {
		lo, hi = min(lo, x), max(hi, x)
	}
	return fmtRate(lo) + "–" + fmtRate(hi)
}

// benchPostgres returns the DSN of a PostgreSQL server: RBUTTON_TEST_PG's,
// or a throwaway one started with scripts/postgres.sh (stopped by stop).
func benchPostgres(c *config) (dsn string, stop func(), err error) {
	if dsn := os.Getenv(pgtest.EnvDSN); dsn != "" {
		return dsn, func() {}, nil
	}
	script := filepath.Join(c.root, "scripts", "postgres.sh")
	out, err := exec.Command(script, "start").Output()
	if err != nil {
		return "", nil, fmt.Errorf("starting PostgreSQL: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		return "", nil, fmt.Errorf("scripts/postgres.sh start printed %q", out)
	}
	dir := lines[0]
	return lines[1], func() {
		cmd := exec.Command(script, "stop", dir)
		cmd.Stderr = os.Stderr
		cmd.Run()
	}, nil
}

// newDatabase creates a fresh database on the server and returns its DSN.
func newDatabase(server, name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err == nil {
		conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_, err = conn.Exec(ctx, "CREATE DATABASE "+name)
		conn.Close(ctx)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "rbutton-bench: create database %s: %v\n", name, err)
	}
	return pgtest.WithDatabase(server, name)
}

func pgVersion(dsn string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "?"
	}
	defer conn.Close(ctx)
	var v string
	conn.QueryRow(ctx, "SHOW server_version").Scan(&v)
	return v
}

func serveUpstream() (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><title>shop</title><p>hello")
	})}
	go srv.Serve(ln)
	return srv, "http://" + ln.Addr().String(), nil
}

// libraryVendor serves a site.Vendor in this process, on a bbolt file
// (dsn "") or PostgreSQL.
func libraryVendor(c *config, name string, key ed25519.PrivateKey, dsn string) (*vendorSetup, error) {
	var store site.Store
	var closeStore func()
	if dsn == "" {
		b, err := boltstore.Open(filepath.Join(c.scratch, "vendor.db"))
		if err != nil {
			return nil, err
		}
		store, closeStore = b, func() { b.Close() }
	} else {
		p, err := pgstore.Open(context.Background(), dsn+vendorPoolDSN)
		if err != nil {
			return nil, err
		}
		store, closeStore = p, p.Close
	}
	v, err := site.New(site.Config{Origin: vendorOrigin, Controller: policy.Controller{Name: "Bench Shop", Contact: "privacy@shop.example"},
		PolicyURL: "https://shop.example/privacy", Offers: []policy.Offer{vendorOffer}, PrivateKey: key, Store: store,
		RateLimit: site.RateLimit{Every: -1}})
	if err != nil {
		closeStore()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		closeStore()
		return nil, err
	}
	srv := &http.Server{Handler: v.Handler()}
	go srv.Serve(ln)
	return &vendorSetup{name: name, addrs: []string{ln.Addr().String()}, stop: func() { srv.Close(); closeStore() }}, nil
}

const benchSidecarConfig = `
listen = %q
origin = %q
upstream = %q
keyFile = %q
policy = "https://shop.example/privacy"
lastUpdate = 2026-12-01T00:00:00Z
[controller]
name = "Bench Shop"
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

// sidecarVendors starts n rbutton-vendor processes serving one site from
// one database.
func sidecarVendors(ctx context.Context, c *config, bin, name, keyFile, upstream, dsn string, n int) (*vendorSetup, error) {
	s := &vendorSetup{name: name}
	var cmds []*exec.Cmd
	s.stop = func() {
		for _, cmd := range cmds {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.stop()
			return nil, err
		}
		addr := ln.Addr().String()
		ln.Close()
		config := filepath.Join(c.scratch, fmt.Sprintf("vendor-%d-%d.toml", n, i))
		if err := os.WriteFile(config, fmt.Appendf(nil, benchSidecarConfig, addr, vendorOrigin, upstream, keyFile, dsn+vendorPoolDSN), 0o600); err != nil {
			s.stop()
			return nil, err
		}
		cmd := exec.CommandContext(ctx, bin, "-quiet", config)
		pipe, err := cmd.StderrPipe()
		if err != nil {
			s.stop()
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			s.stop()
			return nil, err
		}
		cmds = append(cmds, cmd)
		ready := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(pipe)
			var log strings.Builder
			for sc.Scan() {
				log.WriteString(sc.Text() + "\n")
				if strings.HasPrefix(sc.Text(), "rbutton-vendor: serving ") {
					ready <- ""
				}
			}
			ready <- log.String()
		}()
		select {
		case msg := <-ready:
			if msg != "" {
				s.stop()
				return nil, fmt.Errorf("rbutton-vendor exited: %s", msg)
			}
		case <-time.After(30 * time.Second):
			s.stop()
			return nil, fmt.Errorf("rbutton-vendor did not start")
		}
		s.addrs = append(s.addrs, addr)
		s.pids = append(s.pids, cmd.Process.Pid)
	}
	return s, nil
}

// closedLoop runs vendorWorkers agents against s for window, spreading
// them over its addresses.
func closedLoop(s *vendorSetup, window time.Duration) (loadResult, error) {
	client := func(addr string) *http.Client {
		d := &net.Dialer{Timeout: 5 * time.Second}
		return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: vendorWorkers,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			}}}
	}
	clients := make([]*http.Client, len(s.addrs))
	for i, a := range s.addrs {
		clients[i] = client(a)
	}
	r, err := send(clients[0], "GET", vendorOrigin+policy.WellKnownPath, nil)
	if err != nil || r.status != 200 {
		return loadResult{}, fmt.Errorf("terms: %d %v", r.status, err)
	}
	doc, err := policy.ParseTermsDocument(r.body)
	if err != nil {
		return loadResult{}, err
	}
	digest := policy.Digest(r.body)
	// Enough proposals for a window at several thousand a second, signed
	// before it starts so the generator's signing does not compete.
	n := int(window.Seconds() * 4000)
	bodies := make([][]byte, n)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 2 {
				bodies[i] = benchProposal(doc, digest)
			}
		}()
	}
	wg.Wait()
	var next atomic.Int64
	var mu sync.Mutex
	res := loadResult{}
	var firstErr atomic.Value
	cpu0, pg0 := cpuOf(s.pids), postgresCPU()
	start := time.Now()
	deadline := start.Add(window)
	for w := range vendorWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := clients[w%len(clients)]
			var lat []time.Duration
			ok, bad := 0, 0
			for time.Now().Before(deadline) {
				i := int(next.Add(1)) - 1
				if i >= n {
					break
				}
				t0 := time.Now()
				r, err := send(c, "POST", vendorOrigin+doc.Endpoints.Agreement, bodies[i])
				if err == nil && r.status == 200 && bytes.Contains(r.body, acceptedMark) {
					ok++
					lat = append(lat, time.Since(t0))
				} else {
					bad++
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %v %.300s", r.status, err, r.body))
				}
			}
			mu.Lock()
			res.accepted += ok
			res.errors += bad
			res.latencies = append(res.latencies, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.vendorCPU, res.pgCPU = cpuOf(s.pids)-cpu0, postgresCPU()-pg0
	if res.accepted == 0 {
		return res, fmt.Errorf("no proposal accepted (%d failed; the first: %v)", res.errors, firstErr.Load())
	}
	return res, nil
}

func benchProposal(doc *policy.TermsDocument, digest string) []byte {
	return proposalFor(vendorOrigin, doc, digest)
}

func proposalFor(origin string, doc *policy.TermsDocument, digest string) []byte {
	pub, priv, _ := policy.NewPairwiseKey()
	a := policy.Agreement{V: 1, Site: origin, TermsDigest: digest, Offer: vendorOffer.ID, Terms: vendorOffer.Terms, Obligations: vendorOffer.Obligations,
		UserKey: policy.EncodeKey(pub), SiteKey: doc.PublicKey, Nonce: policy.NewNonce(), Created: time.Now().UTC().Truncate(time.Second)}
	sig, _ := policy.SignAgreement(a, priv)
	b, _ := json.Marshal(policy.Proposal{V: 1, Type: "proposal", Agreement: a, UserSignature: sig})
	return b
}

type reply struct {
	status int
	body   []byte
}

func send(c *http.Client, method, url string, body []byte) (reply, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", policy.MediaType)
	}
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, b}, err
}

// cpuOf sums the user and system CPU of processes (Linux /proc).
func cpuOf(pids []int) time.Duration {
	var total time.Duration
	for _, pid := range pids {
		total += procCPU(strconv.Itoa(pid))
	}
	return total
}

func procCPU(pid string) time.Duration {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+2:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// postgresCPU sums the CPU of every PostgreSQL server process.
func postgresCPU() time.Duration {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		total += procCPU(e.Name())
	}
	return total
}

// memoryOrigin is the origin of the requests bench.Post makes in memory.
const memoryOrigin = "https://example.com"

// hostilePostCost compares, in process (the library with its memory
// store), the CPU a hostile POST costs the vendor with a valid proposal's.
func hostilePostCost(rep *report, key ed25519.PrivateKey) error {
	v, err := site.New(site.Config{Origin: memoryOrigin, Controller: policy.Controller{Name: "Bench Shop", Contact: "privacy@shop.example"},
		PolicyURL: "https://shop.example/privacy", Offers: []policy.Offer{vendorOffer}, PrivateKey: key, RateLimit: site.RateLimit{Every: -1}})
	if err != nil {
		return err
	}
	doc, _, digest := v.Terms()
	h := v.Handler()
	const n = 400
	valid := make([][]byte, n)
	for i := range valid {
		valid[i] = proposalFor(memoryOrigin, doc, digest)
	}
	var validTimes []time.Duration
	for round := range 5 {
		t0 := time.Now()
		for i := round * n / 5; i < (round+1)*n/5; i++ {
			if st := bench.Post(h, doc.Endpoints.Agreement, valid[i]); st != 200 {
				return fmt.Errorf("valid proposal answered %d", st)
			}
		}
		validTimes = append(validTimes, time.Since(t0)/time.Duration(n/5))
	}
	validCost := bench.MedianDuration(validTimes)
	costs := bench.PostCosts(h, doc.Endpoints.Agreement, bench.HostileBodies(proposalFor(memoryOrigin, doc, digest)), 5, 50)
	var worst64, worstAny bench.PostCost
	for _, pc := range costs {
		if strings.Contains(pc.Name, "(64 KiB)") && pc.PerPost > worst64.PerPost {
			worst64 = pc
		}
		if pc.PerPost > worstAny.PerPost {
			worstAny = pc
		}
	}
	ratio := float64(worst64.PerPost) / float64(validCost)
	rep.add(row{section: 7, measure: "CPU of the costliest hostile 64 KiB POST (" + worst64.Name + ")", value: fmtDur(worst64.PerPost),
		baseline: "valid proposal " + fmtDur(validCost), ratio: fmtRatio(ratio), aim: "≤ 3×", met: yesNo(ratio <= 3)})
	rep.note(7, "Hostile POSTs, in process (the library on its memory store, one goroutine): a valid proposal (verify, sign, store) costs %s; "+
		"the costliest hostile body of all is %q at %s (%d), the costliest of 64 KiB %q at %s (%d).",
		fmtDur(validCost), worstAny.Name, fmtDur(worstAny.PerPost), worstAny.Status, worst64.Name, fmtDur(worst64.PerPost), worst64.Status)
	return nil
}

// strangerBytes measures what a refused stranger leaves in each store: a
// proposal of user terms none of the offers fits, from a fresh key.
func strangerBytes(rep *report, key ed25519.PrivateKey, server string, c *config) error {
	n := 2000
	if c.quick {
		n = 200
	}
	measure := func(store site.Store, size func() int64) (float64, error) {
		v, err := site.New(site.Config{Origin: memoryOrigin, Controller: policy.Controller{Name: "Bench Shop", Contact: "privacy@shop.example"},
			PolicyURL: "https://shop.example/privacy", Offers: []policy.Offer{vendorOffer}, PrivateKey: key, Store: store, RateLimit: site.RateLimit{Every: -1}})
		if err != nil {
			return 0, err
		}
		doc, _, digest := v.Terms()
		strict, _ := policy.Preset("service-only")
		h := v.Handler()
		before := size()
		for range n {
			pub, priv, _ := policy.NewPairwiseKey()
			a := policy.Agreement{V: 1, Site: memoryOrigin, TermsDigest: digest, Terms: strict.Terms, Obligations: strict.Obligations,
				UserKey: policy.EncodeKey(pub), SiteKey: doc.PublicKey, Nonce: policy.NewNonce(), Created: time.Now().UTC().Truncate(time.Second)}
			sig, _ := policy.SignAgreement(a, priv)
			b, _ := json.Marshal(policy.Proposal{V: 1, Type: "proposal", Agreement: a, UserSignature: sig})
			if st := bench.Post(h, doc.Endpoints.Agreement, b); st != 200 {
				return 0, fmt.Errorf("stranger's proposal answered %d", st)
			}
		}
		return float64(size()-before) / float64(n), nil
	}
	dsn := newDatabase(server, "bench_strangers")
	pg, err := pgstore.Open(context.Background(), dsn)
	if err != nil {
		return err
	}
	defer pg.Close()
	pgSize := func() int64 {
		var total int64
		pg.Pool().Exec(context.Background(), "CHECKPOINT")
		pg.Pool().QueryRow(context.Background(),
			"SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c WHERE c.relname LIKE 'dntd\\_%' AND c.relkind = 'r'").Scan(&total)
		return total
	}
	pgBytes, err := measure(pg, pgSize)
	if err != nil {
		return err
	}
	path := filepath.Join(c.scratch, "strangers.db")
	bolt, err := boltstore.Open(path)
	if err != nil {
		return err
	}
	defer bolt.Close()
	boltSize := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	boltBytes, err := measure(bolt, boltSize)
	if err != nil {
		return err
	}
	rep.add(row{section: 7, measure: "bytes stored per refused stranger (PostgreSQL tables)", value: fmtBytes(pgBytes),
		baseline: "bbolt file " + fmtBytes(boltBytes)})
	rep.note(7, "A refused stranger (%d proposals of the strictest preset's terms, each from a fresh key) leaves %s in PostgreSQL's dntd_ tables "+
		"and %s in a bbolt file: only its nonce and the answer kept with it, until the nonce expires (twice the clock skew after it was created).",
		n, fmtBytes(pgBytes), fmtBytes(boltBytes))
	return nil
}

// acceptedMark is how an accepted answer's status reads.
var acceptedMark = []byte(`"status":"` + policy.StatusAccepted + `"`)
