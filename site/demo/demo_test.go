package demo_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site/demo"
)

// serve builds the demo sites on free loopback ports and serves them.
func serve(t *testing.T, dbDir string) (*demo.Sites, map[string]string, *logBuf) {
	t.Helper()
	var lns []net.Listener
	var ports []int
	for range 5 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	logs := &logBuf{}
	sites, err := demo.Build(demo.Options{Addr: "127.0.0.1", ShopPort: ports[0], NewsPort: ports[1], ChangingPort: ports[2],
		PlainPort: ports[3], EchoPort: ports[4], DBDir: dbDir, Log: logs.add})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sites.Close() })
	origins := map[string]string{}
	for i, s := range sites.List {
		if s.Addr != lns[i].Addr().String() {
			t.Fatalf("%s: addr %s, listener %s", s.Name, s.Addr, lns[i].Addr())
		}
		srv := &http.Server{Handler: s.Handler}
		go srv.Serve(lns[i])
		t.Cleanup(func() { srv.Close() })
		origins[s.Name] = s.Origin
	}
	return sites, origins, logs
}

type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) add(site, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(site + " " + line + "\n")
}

func (l *logBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func get(t *testing.T, client *http.Client, url string, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func termsOf(t *testing.T, origin string) (*policy.TermsDocument, string) {
	t.Helper()
	_, b := get(t, http.DefaultClient, origin+policy.WellKnownPath, nil)
	doc, err := policy.ParseTermsDocument(b)
	if err != nil {
		t.Fatalf("%s terms: %v", origin, err)
	}
	return doc, policy.Digest(b)
}

// TestDefaultPresetAgainstVendors checks the fixed expectations the package
// comment states and the browser scenarios rely on.
func TestDefaultPresetAgainstVendors(t *testing.T) {
	sites, origins, _ := serve(t, "")
	user, _ := policy.Preset(policy.DefaultPreset)

	shop, _ := termsOf(t, origins["shop"])
	if m := policy.Match(user, shop); m.Offer == nil || m.Offer.ID != "basic" {
		t.Errorf("shop: match %+v, want offer basic", m)
	}
	news, _ := termsOf(t, origins["news"])
	m := policy.Match(user, news)
	if m.Offer != nil || len(m.Conflicts) != 1 || m.Conflicts[0].Dimension != policy.DimPurposes {
		t.Errorf("news: match %+v, want one conflict on purposes", m)
	}
	for i := range 3 {
		doc, digest := termsOf(t, origins["changing"])
		if m := policy.Match(user, doc); m.Offer == nil {
			t.Errorf("changing version %d: conflicts %+v", i+1, m.Conflicts)
		}
		resp, body := get(t, http.DefaultClient, origins["changing"]+"/", map[string]string{"Sec-Fetch-Dest": "document"})
		if !strings.Contains(resp.Header.Get("DNT-D"), digest) || !strings.Contains(string(body), digest) {
			t.Errorf("changing page does not advertise %s", digest)
		}
		if _, err := sites.Changing.Change(); err != nil {
			t.Fatal(err)
		}
		if _, d2 := termsOf(t, origins["changing"]); d2 == digest {
			t.Error("Change kept the digest")
		}
	}
}

// TestShopRelationship plays the whole dialog against the shop over HTTP.
func TestShopRelationship(t *testing.T) {
	_, origins, logs := serve(t, t.TempDir())
	shop := origins["shop"]
	doc, digest := termsOf(t, shop)
	user, _ := policy.Preset(policy.DefaultPreset)
	offer := policy.Match(user, doc).Offer
	pub, priv, _ := policy.NewPairwiseKey()
	a := policy.Agreement{V: 1, Site: shop, TermsDigest: digest, Offer: offer.ID, Terms: offer.Terms, Obligations: offer.Obligations,
		UserKey: policy.EncodeKey(pub), SiteKey: doc.PublicKey, Nonce: policy.NewNonce(), Created: time.Now().UTC().Truncate(time.Second)}
	sig, _ := policy.SignAgreement(a, priv)
	body, _ := json.Marshal(policy.Proposal{V: 1, Type: "proposal", Agreement: a, UserSignature: sig})
	resp, err := http.Post(shop+doc.Endpoints.Agreement, policy.MediaType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ans, err := policy.ParseAnswer(b)
	if err != nil || ans.Status != policy.StatusAccepted || policy.VerifyRecord(*ans.Record) != nil {
		t.Fatalf("answer %s: %v", b, err)
	}
	rec := ans.Record

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	agreed := map[string]string{"Sec-Fetch-Dest": "document", "DNT": "1", "Sec-GPC": "1",
		"Sec-DNT-D": "v=1, agreed=:" + policy.AgreedDigest(offer.Terms, offer.Obligations) + ":"}
	for _, path := range []string{"/", "/product/boots", "/basket"} {
		resp, body := get(t, browser, shop+path, agreed)
		if resp.StatusCode != 200 || resp.Header.Get("Tk") != "C" || !strings.Contains(string(body), `id="relationship">agreed`) {
			t.Fatalf("%s: %d Tk=%q", path, resp.StatusCode, resp.Header.Get("Tk"))
		}
	}
	req, _ := http.NewRequest("POST", shop+"/basket/buy", nil)
	for k, v := range agreed {
		req.Header.Set(k, v)
	}
	if resp, err := browser.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("buy: %v", err)
	} else {
		resp.Body.Close()
	}

	sr := policy.SignedRequest{V: 1, Type: "data-return", Record: rec.ID, Nonce: policy.NewNonce(), Created: time.Now().UTC().Truncate(time.Second)}
	policy.SignRequest(&sr, priv)
	body, _ = json.Marshal(sr)
	req, _ = http.NewRequest("POST", shop+doc.Endpoints.DataReturn, bytes.NewReader(body))
	req.Header.Set("Content-Type", policy.MediaType)
	resp, err = browser.Do(req) // from the browser, with the shop's own cookie
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	dr, err := policy.ParseDataReturn(b)
	if err != nil {
		t.Fatalf("data return %s: %v", b, err)
	}
	counts := map[string]int{}
	for _, it := range dr.Items {
		counts[it.Type]++
	}
	// Three pages, and the basket again after buying.
	if counts["page-view"] != 4 || counts["purchase"] != 1 || counts["agreement"] != 1 {
		t.Errorf("items %v", counts)
	}
	if !strings.Contains(logs.String(), "shop ← proposal offer=basic") || !strings.Contains(logs.String(), "AgreementAccepted") {
		t.Errorf("log:\n%s", logs)
	}
	// The page the compliance watch catches: it answers Tk: N under the agreement.
	if resp, body := get(t, browser, shop+"/clearance", agreed); resp.StatusCode != 200 || resp.Header.Get("Tk") != "N" || !strings.Contains(string(body), "Clearance") {
		t.Errorf("/clearance: %d Tk=%q, want 200 and Tk: N", resp.StatusCode, resp.Header.Get("Tk"))
	}
}

func TestPlainAndEcho(t *testing.T) {
	_, origins, _ := serve(t, "")
	signals := map[string]string{"DNT": "1", "Sec-GPC": "1", "Sec-DNT-D": "v=1", "Sec-Fetch-Dest": "document"}
	resp, body := get(t, http.DefaultClient, origins["plain"]+"/", signals)
	if resp.Header.Get("DNT-D") != "" || !strings.Contains(string(body), `id="sig-dntd">v=1`) {
		t.Errorf("plain page: DNT-D %q, body lacks the signals", resp.Header.Get("DNT-D"))
	}
	resp, body = get(t, http.DefaultClient, origins["echo"]+"/", signals)
	if !strings.Contains(string(body), origins["plain"]+"/pixel.gif") {
		t.Fatal("echo page does not load a subresource from the plain site")
	}
	resp, body = get(t, http.DefaultClient, origins["echo"]+"/headers", signals)
	var echoed struct{ Headers map[string]string }
	if err := json.Unmarshal(body, &echoed); err != nil || echoed.Headers["sec-dnt-d"] != "v=1" || echoed.Headers["dnt"] != "1" {
		t.Errorf("echo /headers %s: %v", body, err)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Error("echo /headers lacks CORS")
	}
	_, body = get(t, http.DefaultClient, origins["plain"]+"/last-headers", nil)
	if !strings.Contains(string(body), `"count": 0`) {
		t.Errorf("last-headers before any subresource: %s", body)
	}
	get(t, http.DefaultClient, origins["plain"]+"/pixel.gif?from=echo", map[string]string{"Sec-GPC": "1", "Sec-DNT-D": "v=1", "Sec-Fetch-Dest": "image"})
	_, body = get(t, http.DefaultClient, origins["plain"]+"/last-headers", nil)
	var last struct {
		Count   int
		Path    string
		Headers map[string]string
	}
	if err := json.Unmarshal(body, &last); err != nil || last.Count != 1 || last.Path != "/pixel.gif?from=echo" || last.Headers["sec-gpc"] != "1" {
		t.Errorf("last-headers %s: %v", body, err)
	}
}

func TestChangeTermsAdmin(t *testing.T) {
	_, origins, _ := serve(t, "")
	_, before := termsOf(t, origins["changing"])
	resp, err := http.Post(origins["changing"]+"/admin/change-terms", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Version     int
		TermsDigest string
		Retention   string
	}
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	_, after := termsOf(t, origins["changing"])
	if out.Version != 2 || out.Retention != "P14D" || out.TermsDigest != after || after == before {
		t.Errorf("change answered %+v; digest %s → %s", out, before, after)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	sites, origins2, _ := serve(t, "")
	go func() { sites.Changing.Every(time.Millisecond, stop); close(done) }()
	_, first := termsOf(t, origins2["changing"])
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, d := termsOf(t, origins2["changing"]); d != first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Every never changed the terms")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	<-done
}

func TestEchoCrossSiteSubresource(t *testing.T) {
	_, origins, _ := serve(t, "")
	_, body := get(t, http.DefaultClient, origins["echo"]+"/?subresource-host=localhost", nil)
	port := origins["plain"][strings.LastIndex(origins["plain"], ":")+1:]
	if !strings.Contains(string(body), `src="http://localhost:`+port+`/pixel.gif?from=echo"`) {
		t.Errorf("echo page does not load from localhost:%s", port)
	}
}

// The shop names its processors, and its /gifts page loads a third party
// that is not among them (the compliance watch's demonstration).
func TestShopGiftsLoadsAnUndeclaredThirdParty(t *testing.T) {
	t.Parallel()
	_, origins, _ := serve(t, "")
	res, err := http.Get(origins["shop"] + policy.WellKnownPath)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	doc, err := policy.ParseTermsDocument(raw)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(doc.Processors, " ") != strings.Join(demo.ShopProcessors, " ") {
		t.Errorf("processors = %v, want %v", doc.Processors, demo.ShopProcessors)
	}
	res, err = http.Get(origins["shop"] + "/gifts")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(origins["plain"], "http://"))
	partner := "http://localhost:" + port
	if res.StatusCode != 200 || !bytes.Contains(page, []byte(`src="`+partner+`/pixel.gif?from=shop-gifts&amp;cookie=1"`)) {
		t.Errorf("/gifts: %d, does not load %s:\n%s", res.StatusCode, partner, page)
	}
	for _, p := range doc.Processors {
		if policy.SameParty(p, partner) {
			t.Errorf("the partner %s is among the named processors", partner)
		}
	}
}
