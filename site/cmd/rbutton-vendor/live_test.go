package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dunglas/httpsfv"
	"github.com/rbutton/rbutton/host/negotiate"
	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site/sidecar"
)

// app is the upstream application: a site that knows nothing of DNT-D but
// the agreement header. It records a page view under the visitor's session
// when analytics is agreed, hands its records back through the items hook
// and deletes them when told of an end.
type app struct {
	mu      sync.Mutex
	seen    map[string][]string          // path → agreement headers received ("" for none)
	views   map[string][]policy.DataItem // session → page views
	ended   []sidecar.HookRelationship   // what the ended hook was told
	asked   []sidecar.HookRelationship   // what the items hook was told
	crm     []sidecar.HookDetails        // what the details hook took
	headers map[string]http.Header       // path → request headers received
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch r.URL.Path {
	case "/hooks/items":
		var rel sidecar.HookRelationship
		if err := json.NewDecoder(r.Body).Decode(&rel); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		a.asked = append(a.asked, rel)
		items := []policy.DataItem{}
		for _, s := range rel.Sessions {
			items = append(items, a.views[s]...)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(sidecar.ItemsAnswer{Items: items})
		return
	case "/hooks/ended":
		var rel sidecar.HookRelationship
		json.NewDecoder(r.Body).Decode(&rel)
		a.ended = append(a.ended, rel)
		for _, s := range rel.Sessions {
			delete(a.views, s)
		}
		w.WriteHeader(http.StatusNoContent)
		return
	case "/hooks/details":
		var u sidecar.HookDetails
		if err := json.NewDecoder(r.Body).Decode(&u); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		if strings.HasPrefix(u.Details.Email, "down") {
			http.Error(w, "CRM is down", http.StatusBadGateway)
			return
		}
		if strings.HasPrefix(u.Details.Email, "refuse") {
			http.Error(w, "we take no addresses at that domain", http.StatusUnprocessableEntity)
			return
		}
		a.crm = append(a.crm, u)
		w.WriteHeader(http.StatusNoContent)
		return
	case "/data.json":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
		return
	}
	a.seen[r.URL.Path] = append(a.seen[r.URL.Path], r.Header.Get("DNT-D-Agreement"))
	a.headers[r.URL.Path] = r.Header.Clone()
	if d, err := httpsfv.UnmarshalDictionary(r.Header.Values("DNT-D-Agreement")); err == nil {
		purposes, _ := d.Get("purposes")
		session, _ := d.Get("session")
		if il, ok := purposes.(httpsfv.InnerList); ok && session != nil {
			for _, p := range il.Items {
				if p.Value == httpsfv.Token("analytics") {
					s := session.(httpsfv.Item).Value.(string)
					a.views[s] = append(a.views[s], policy.DataItem{Type: "page-view", Time: time.Now().UTC().Truncate(time.Second), Data: map[string]string{"path": r.URL.Path}})
				}
			}
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Vary", "Accept-Encoding")
	io.WriteString(w, "<!doctype html><title>app</title><p>hello from the app")
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// process is a running rbutton-vendor.
type process struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan error
}

func (p *process) log() string { p.mu.Lock(); defer p.mu.Unlock(); return p.stderr.String() }

// startVendor runs this package's main as a child process on config and
// waits until it serves.
func startVendor(t *testing.T, config string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], config)
	cmd.Env = append(os.Environ(), "RBUTTON_VENDOR_MAIN=1")
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, done: make(chan error, 1)}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pipe)
		once := sync.Once{}
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if strings.HasPrefix(sc.Text(), "rbutton-vendor: serving ") {
				once.Do(func() { close(ready) })
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	select {
	case <-ready:
	case err := <-p.done:
		p.done <- err // for the cleanup, which waits for it
		t.Fatalf("rbutton-vendor exited (%v):\n%s", err, p.log())
	case <-time.After(20 * time.Second):
		t.Fatalf("rbutton-vendor did not start:\n%s", p.log())
	}
	return p
}

const configTemplate = `
listen = %q
origin = %q
upstream = %q
keyFile = %q
policy = "https://shop.example/privacy"
[controller]
name = "Polyglot Shop"
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
kind = "bolt"
path = %q
[hooks]
items = %q
ended = %q
details = %q
`

// The real binary in front of a real upstream on loopback: the host's
// negotiator reaches an agreement through it; the application is told
// what was agreed in one header (and never what a client claims); the
// hooks hand back the application's data and tell it of the end.
func TestSidecarInFrontOfUpstream(t *testing.T) {
	t.Parallel()
	a := &app{seen: map[string][]string{}, views: map[string][]policy.DataItem{}, headers: map[string]http.Header{}}
	upstream := &http.Server{Handler: a}
	uln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go upstream.Serve(uln)
	t.Cleanup(func() { upstream.Close() })
	appURL := "http://" + uln.Addr().String()

	dir := t.TempDir()
	key := filepath.Join(dir, "vendor.key")
	if _, err := sidecar.WriteNewKey(key); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	origin := "http://" + addr
	config := filepath.Join(dir, "vendor.toml")
	os.WriteFile(config, fmt.Appendf(nil, configTemplate, addr, origin, appURL, key, filepath.Join(dir, "vendor.db"),
		appURL+"/hooks/items", appURL+"/hooks/ended", appURL+"/hooks/details"), 0o600)
	p := startVendor(t, config)

	// The agent negotiates through the sidecar.
	ctx := context.Background()
	c := &negotiate.Client{}
	doc, digest, err := c.FetchTerms(ctx, origin, "")
	if err != nil {
		t.Fatalf("terms: %v\n%s", err, p.log())
	}
	user, _ := policy.Preset(policy.DefaultPreset)
	pub, priv, _ := policy.NewPairwiseKey()
	out, err := c.Negotiate(ctx, negotiate.Input{Origin: origin, Digest: digest, User: user, Public: pub, Private: priv})
	if err != nil || out.Record == nil || out.Offer == nil || out.Offer.ID != "basic" {
		t.Fatalf("negotiate: %+v, %v\n%s", out, err, p.log())
	}
	agreed := "v=1, agreed=:" + policy.AgreedDigest(out.Offer.Terms, out.Offer.Obligations) + ":"

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	page := func(path, dntd, forged string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", origin+path, nil)
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Sec-Fetch-Dest", "document")
		if dntd != "" {
			req.Header.Set("Sec-DNT-D", dntd)
		}
		if forged != "" {
			req.Header.Set("DNT-D-Agreement", forged)
		}
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	forged := `offer="gold", purposes=(service analytics sale), tracking=cross-site, sharing=public`

	// Without an agreement: Tk N, the DNT-D header, and a forged agreement
	// header never reaches the application.
	r := page("/before", "v=1", forged)
	if r.Header.Get("Tk") != "N" || r.Header.Get("DNT-D") != sidecarTerms(digest) || r.Header.Get("Set-Cookie") != "" {
		t.Fatalf("page without agreement: Tk %q, DNT-D %q, Set-Cookie %q", r.Header.Get("Tk"), r.Header.Get("DNT-D"), r.Header.Get("Set-Cookie"))
	}
	if vary := strings.Join(r.Header.Values("Vary"), ", "); !strings.Contains(vary, "Accept-Encoding") || !strings.Contains(vary, "Sec-DNT-D") {
		t.Errorf("Vary %q, want the application's and DNT-D's", vary)
	}
	// With the agreement: Tk C, and the application reads what was agreed,
	// whatever the client claimed.
	r = page("/", agreed, forged)
	if r.Header.Get("Tk") != "C" {
		t.Fatalf("page with agreement: Tk %q\n%s", r.Header.Get("Tk"), p.log())
	}
	page("/", agreed, "")
	cookies := jar.Cookies(mustParse(origin))
	if len(cookies) != 1 {
		t.Fatalf("cookies %v, want the session cookie", cookies)
	}
	session := cookies[0].Value
	a.mu.Lock()
	before, home := a.seen["/before"], a.seen["/"]
	fwd := a.headers["/"]
	a.mu.Unlock()
	if len(before) != 1 || before[0] != "" {
		t.Errorf("the application saw %q without an agreement, want no header", before)
	}
	want := `offer="basic", purposes=(service analytics), tracking=first-party, sharing=processors, retention=P30D, ` +
		`identity=pseudonymous, contact=transactional, access=on-request, deletion=on-request, data-return=on-request, session="` + session + `"`
	if len(home) != 2 || home[0] != want || home[1] != want {
		t.Errorf("the application saw\n%q\nwant twice\n%q", home, want)
	}
	if fwd.Get("X-Forwarded-For") != "127.0.0.1" || fwd.Get("X-Forwarded-Host") != addr {
		t.Errorf("forwarded headers %v", fwd)
	}
	// A JSON answer is not a page: no DNT-D header on it.
	if r := page("/data.json", agreed, ""); r.Header.Get("DNT-D") != "" || r.Header.Get("Tk") != "" {
		t.Errorf("JSON answer got DNT-D %q, Tk %q", r.Header.Get("DNT-D"), r.Header.Get("Tk"))
	}

	// The hooks are not reachable through the sidecar, however spelt.
	for _, p := range []string{"/hooks/items", "/hooks/items/", "//hooks/./items", "/hooks/%69tems", "/HOOKS/ended", "/hooks/details"} {
		resp, err := http.Post(origin+p, "application/json", strings.NewReader(`{"sessions":["`+session+`"]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s through the sidecar: %d, want 404", p, resp.StatusCode)
		}
	}
	a.mu.Lock()
	if len(a.asked) != 0 || len(a.ended) != 0 || len(a.crm) != 0 {
		t.Errorf("a visitor reached the hooks: %+v %+v %+v", a.asked, a.ended, a.crm)
	}
	a.mu.Unlock()

	// The data return from the browser links the session; the items hook
	// hands back the application's page views.
	target, body, err := c.SignedRequest(origin, doc.Endpoints.DataReturn, policy.RequestDataReturn, out.Record.ID, priv)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", target, bytes.NewReader(body))
	req.Header.Set("Content-Type", policy.MediaType)
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	d, err := negotiate.CheckDataReturn(raw, out.Record.ID)
	if err != nil {
		t.Fatalf("data return %d: %v\n%s\n%s", resp.StatusCode, err, raw, p.log())
	}
	var types []string
	for _, it := range d.Items {
		types = append(types, it.Type)
	}
	if strings.Count(strings.Join(types, ","), "page-view") != 2 || !slices.Contains(types, "agreement") {
		t.Fatalf("data return items %v, want the agreement and the application's 2 page views", types)
	}
	a.mu.Lock()
	asked := a.asked
	a.mu.Unlock()
	if len(asked) != 1 || asked[0].Record != out.Record.ID || asked[0].Relationship != policy.EncodeKey(pub) || !slices.Equal(asked[0].Sessions, []string{session}) {
		t.Errorf("items hook was told %+v", asked)
	}

	// The user gives their e-mail address: the details hook hands it to the
	// application, with the session linked to the relationship; the
	// application's refusal reaches the agent in words.
	if doc.Endpoints.Details == "" {
		t.Fatal("the terms document advertises no details endpoint")
	}
	if err := c.Details(ctx, origin, doc.Endpoints.Details, out.Record.ID, policy.Details{Email: "ada@example.org"}, priv); err != nil {
		t.Fatalf("details: %v\n%s", err, p.log())
	}
	a.mu.Lock()
	crm := a.crm
	a.mu.Unlock()
	if len(crm) != 1 || crm[0].Details.Email != "ada@example.org" || crm[0].Record != out.Record.ID ||
		crm[0].Relationship != policy.EncodeKey(pub) || !slices.Equal(crm[0].Sessions, []string{session}) || crm[0].Received.IsZero() {
		t.Fatalf("details hook was told %+v", crm)
	}
	err = c.Details(ctx, origin, doc.Endpoints.Details, out.Record.ID, policy.Details{Email: "refuse@example.org"}, priv)
	if code := negotiate.SiteCode(err); code != policy.CodeInvalid || !strings.Contains(err.Error(), "we take no addresses at that domain") {
		t.Fatalf("a refused update: %v (site code %q)", err, code)
	}
	// An application that cannot take it now: 503 unavailable, which the
	// agent retries rather than records as a refusal.
	err = c.Details(ctx, origin, doc.Endpoints.Details, out.Record.ID, policy.Details{Email: "down@example.org"}, priv)
	if code := negotiate.SiteCode(err); code != policy.CodeUnavailable {
		t.Fatalf("an application that is down: %v (site code %q)", err, code)
	}
	// What the application took shows in the next data return.
	if d, err := c.DataReturn(ctx, origin, doc, out.Record.ID, priv); err != nil || !slices.ContainsFunc(d.Items, func(it policy.DataItem) bool {
		return it.Type == "details" && it.Data["email"] == "ada@example.org"
	}) {
		t.Errorf("data return after the details: %+v %v", d, err)
	}

	// The agent ends it; the application hears, with the session to forget.
	if err := c.End(ctx, origin, doc, out.Record.ID, priv); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	ended, views := a.ended, len(a.views)
	a.mu.Unlock()
	if len(ended) != 1 || ended[0].EndedBy != "user" || ended[0].Record != out.Record.ID || !slices.Equal(ended[0].Sessions, []string{session}) || ended[0].Ended.IsZero() {
		t.Errorf("ended hook was told %+v", ended)
	}
	if views != 0 {
		t.Errorf("the application still holds %d sessions' views", views)
	}
	// The agreement is no longer recognised... by the agent, which stops
	// signalling it; the record says ended.
	if _, err := c.DataReturn(ctx, origin, doc, out.Record.ID, priv); err == nil {
		t.Error("data return after the end succeeded")
	}

	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, p.log())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("rbutton-vendor did not stop on SIGTERM")
	}
	p.done <- nil // for the cleanup
	if !strings.Contains(p.log(), "rbutton-vendor: stopped") {
		t.Errorf("log:\n%s", p.log())
	}
}

func sidecarTerms(digest string) string { return "v=1, terms=:" + digest + ":" }

func mustParse(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
