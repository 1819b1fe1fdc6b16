package demo

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
	"github.com/rbutton/rbutton/site/boltstore"
)

// Options configure the demo sites.
type Options struct {
	Addr                                                  string // host to listen on, like "127.0.0.1"
	ShopPort, NewsPort, ChangingPort, PlainPort, EchoPort int
	// DBDir holds one bbolt file per vendor; "" keeps everything in memory.
	DBDir string
	// Log receives one line per protocol exchange (nil: silent).
	Log func(site, line string)
	// RateLimit is every vendor's limit on POSTs per client address (zero:
	// site.DefaultRateLimit). All demo traffic comes from loopback.
	RateLimit site.RateLimit
}

// Site is one demo site, ready to serve.
type Site struct {
	Name    string
	Addr    string // host:port
	Origin  string
	Handler http.Handler
	Vendor  *site.Vendor // nil for the plain and echo sites
}

// Sites are all the demo sites.
type Sites struct {
	List     []*Site
	Changing *Changing
	// ShopCRM is where the shop keeps the details its customers give it.
	ShopCRM *CRM
	closers []func() error
}

// Close closes the vendors' stores.
func (s *Sites) Close() error {
	var first error
	for _, c := range s.closers {
		if err := c(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (o Options) origin(port int) string {
	return "http://" + net.JoinHostPort(o.Addr, strconv.Itoa(port))
}

// Build configures every demo site.
func Build(o Options) (*Sites, error) {
	s := &Sites{}
	newVendor := func(name string, port int, controller string, offers []policy.Offer, accept func(policy.Terms, policy.Obligations) bool) (*site.Vendor, error) {
		var store site.Store = site.NewMemoryStore()
		if o.DBDir != "" {
			b, err := boltstore.Open(filepath.Join(o.DBDir, name+".db"))
			if err != nil {
				return nil, err
			}
			s.closers = append(s.closers, b.Close)
			store = b
		}
		cfg := site.Config{
			Origin:          o.origin(port),
			Controller:      policy.Controller{Name: controller, Contact: "privacy@" + name + ".example"},
			PolicyURL:       o.origin(port) + "/privacy",
			Offers:          offers,
			PrivateKey:      Key(name),
			Store:           store,
			AcceptUserTerms: accept,
			RateLimit:       o.RateLimit,
		}
		if o.Log != nil {
			cfg.Log = func(line string) { o.Log(name, line) }
		}
		if name == "shop" {
			cfg.Details = s.ShopCRM.Take
			cfg.Processors = ShopProcessors
		}
		return site.New(cfg)
	}
	s.ShopCRM = &CRM{byRel: map[string]policy.Details{}}

	shop, err := newVendor("shop", o.ShopPort, "Demo Shop Ltd", []policy.Offer{ShopBasic, ShopPlus}, nil)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("shop: %w", err)
	}
	news, err := newVendor("news", o.NewsPort, "Daily Demo News plc", []policy.Offer{NewsAds}, nil)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("news: %w", err)
	}
	changing, err := newVendor("changing", o.ChangingPort, "Changing Terms Co", []policy.Offer{ChangingOffer(1)}, nil)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("changing: %w", err)
	}
	s.Changing = &Changing{vendor: changing, version: 1, log: o.Log}
	plain := &plainSite{}
	s.List = []*Site{
		{Name: "shop", Vendor: shop, Handler: shopHandler(shop, s.ShopCRM, partnerOrigin(o))},
		{Name: "news", Vendor: news, Handler: newsHandler(news)},
		{Name: "changing", Vendor: changing, Handler: changingHandler(s.Changing)},
		{Name: "plain", Handler: plain.handler()},
		{Name: "echo", Handler: echoHandler(o.origin(o.PlainPort))},
	}
	for i, port := range []int{o.ShopPort, o.NewsPort, o.ChangingPort, o.PlainPort, o.EchoPort} {
		s.List[i].Addr = net.JoinHostPort(o.Addr, strconv.Itoa(port))
		s.List[i].Origin = o.origin(port)
	}
	return s, nil
}

// recordView files a page view when the agreement allows analytics.
func recordView(v *site.Vendor, r *http.Request, title string) {
	if site.Permits(r, policy.PurposeAnalytics) {
		v.Record(r, policy.DataItem{Type: "page-view", Data: map[string]string{"path": r.URL.Path, "title": title}})
	}
}

// ---- shop ----

var shopTheme = theme{Name: "Demo Shop", Tagline: "Boots, scarves and other sensible things", Accent: "#2f5fd0", Mark: "DS",
	Nav: []link{{"/", "Shop"}, {"/product/boots", "Boots"}, {"/basket", "Basket"}, {"/account", "Your account"}}}

// CRM is the demo shop's customer records: the details customers gave it
// through their r-button (site.Config.Details), by relationship.
type CRM struct {
	mu    sync.Mutex
	byRel map[string]policy.Details
}

// Take is the shop's details hook: it keeps the newest value of each detail.
func (c *CRM) Take(u site.DetailsUpdate) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byRel[u.Relationship] = c.byRel[u.Relationship].Apply(u.Details)
	return nil
}

// For returns the details of the customer whose browser session r carries:
// the relationship that session was linked to by a data return (PROTOCOL.md
// 13.1). ok is false when the visitor is not a known customer.
func (c *CRM) For(v *site.Vendor, r *http.Request) (policy.Details, bool) {
	s := site.SignalsFrom(r.Context())
	if s.Session == "" {
		return policy.Details{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for rel, d := range c.byRel {
		sessions, err := v.Store().Sessions(rel)
		if err == nil && slices.Contains(sessions, s.Session) {
			return d, true
		}
	}
	return policy.Details{}, false
}

// ShopProcessors are the processors the shop names in its terms document
// (PROTOCOL.md 5.2): its pages may contact these and no other third party.
var ShopProcessors = []string{"https://payments.demo-processor.example"}

// partnerOrigin is the third party the shop's /gifts page loads without
// naming it: the plain site under another host name (localhost), so it is
// another party by any measure, not only another port.
func partnerOrigin(o Options) string {
	return "http://" + net.JoinHostPort("localhost", strconv.Itoa(o.PlainPort))
}

func shopHandler(v *site.Vendor, crm *CRM, partner string) http.Handler {
	mux := http.NewServeMux()
	v.Mount(mux)
	// What the shop receives when other sites' pages embed it (tests check
	// that no agreed digest arrives there, PROTOCOL.md 3.2).
	new(subresources).mount(mux)
	page := func(title string, body template.HTML) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			recordView(v, r, title)
			render(w, r, shopTheme, true, title, body)
		}
	}
	mux.HandleFunc("GET /{$}", (page("Welcome to the Demo Shop", `
<p>Everything we sell is made to last. We measure how the shop is used, by ourselves only,
and only if your r-button agreed to it.</p>
<div class="products">
 <div class="card">`+bootSVG+`<h3>Walking boots</h3><p class="price">€89</p><a class="button" href="/product/boots">Look</a></div>
 <div class="card">`+scarfSVG+`<h3>Wool scarf</h3><p class="price">€29</p><a class="button" href="/product/boots">Similar</a></div>
</div>`)))
	mux.HandleFunc("GET /product/boots", page("Walking boots", `
`+bootSVG+`
<p>Waterproof leather walking boots, resoleable. <span class="price">€89</span></p>
<form method="post" action="/basket/buy"><button id="buy">Buy now (demo)</button></form>`))
	mux.HandleFunc("GET /basket", func(w http.ResponseWriter, r *http.Request) {
		recordView(v, r, "Basket")
		body := `<table><tr><th>Item</th><th>Price</th></tr><tr><td>Walking boots</td><td>€89</td></tr></table>
<form method="post" action="/basket/buy" style="margin-top:1rem"><button id="buy">Buy (demo)</button></form>`
		if r.URL.Query().Get("bought") == "1" {
			body = `<p class="ok" id="bought">Thank you! Your (pretend) boots are on their way.</p>` + body
		}
		render(w, r, shopTheme, true, "Your basket", template.HTML(body))
	})
	mux.HandleFunc("POST /basket/buy", func(w http.ResponseWriter, r *http.Request) {
		// A purchase is part of the service; it is recorded for data return
		// only when the visitor's agreement gave them a session.
		v.Record(r, policy.DataItem{Type: "purchase", Data: map[string]string{"item": "walking boots", "price": "EUR 89"}})
		http.Redirect(w, r, "/basket?bought=1", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		recordView(v, r, "Your account")
		body := `<p id="no-details">We hold none of your details. Your r-button can give them to us, if your agreement allows it.</p>`
		if d, ok := crm.For(v, r); ok {
			var b strings.Builder
			b.WriteString(`<p>The details you gave us through your r-button (updated by it when you change them):</p><dl id="details">`)
			for _, f := range policy.DetailFields {
				if val := d.Get(f); val != "" {
					fmt.Fprintf(&b, `<dt>%s</dt><dd id="detail-%s">%s</dd>`, f, f, template.HTMLEscapeString(val))
				}
			}
			b.WriteString(`</dl>`)
			body = b.String()
		}
		render(w, r, shopTheme, true, "Your account", template.HTML(body))
	})
	// A page that breaks the shop's own terms: it loads a widget from a third
	// party the terms do not name among its processors, as a page with an
	// undeclared tracker would. The compliance watch (PROTOCOL.md 12.1)
	// records it.
	mux.HandleFunc("GET /gifts", page("Gift ideas", template.HTML(`<p>Ideas from our partner (this page loads an image, which sets a cookie, from
<code id="partner">`+template.HTMLEscapeString(partner)+`</code>, a third party our terms do not name).</p>
<img id="partner-widget" src="`+template.HTMLEscapeString(partner)+`/pixel.gif?from=shop-gifts&amp;cookie=1" alt="" width="1" height="1">`)))
	mux.HandleFunc("GET /privacy", page("Privacy policy", `<p>Demo Shop Ltd processes data only as agreed through DNT-D.
See <a href="/.well-known/dnt-d">our machine-readable terms</a>.</p>`))
	// A page served by a part of the shop that ignores agreements: it
	// answers every visitor Tk: N, one with an agreement in force too. The
	// compliance watch records the answer (PROTOCOL.md 4, 12.1).
	mux.HandleFunc("GET /clearance", page("Clearance", `<p>Last season's boots, served by our old shop system.</p>`))
	signalled := v.Middleware(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/clearance" {
			w = &answersTk{ResponseWriter: w, tk: "N"}
		}
		signalled.ServeHTTP(w, r)
	})
}

// answersTk sends Tk: tk whatever the handlers before it set.
type answersTk struct {
	http.ResponseWriter
	tk    string
	wrote bool
}

func (a *answersTk) WriteHeader(code int) {
	if !a.wrote {
		a.wrote = true
		a.Header().Set("Tk", a.tk)
	}
	a.ResponseWriter.WriteHeader(code)
}

func (a *answersTk) Write(b []byte) (int, error) {
	if !a.wrote {
		a.WriteHeader(http.StatusOK)
	}
	return a.ResponseWriter.Write(b)
}

// Inline pictures: no network, no emoji font needed.
const bootSVG = `<svg class="pic" viewBox="0 0 120 90" role="img" aria-label="walking boot"><path fill="currentColor" d="M30 8h34v38c0 6 6 10 14 12l22 6c8 2 12 8 12 14v6H18V70l4-8V8z" opacity=".9"/><rect x="14" y="78" width="100" height="8" rx="3" fill="#333"/><path d="M40 20h16M40 30h16M40 40h16" stroke="#fff" stroke-width="3"/></svg>`

const scarfSVG = `<svg class="pic" viewBox="0 0 120 90" role="img" aria-label="wool scarf"><path fill="currentColor" d="M20 14c20-10 60-10 80 0l-6 14c-20-8-48-8-68 0z"/><path fill="currentColor" opacity=".75" d="M74 26l12 56H70l-8-52z"/><path d="M70 82v6M75 82v6M80 82v6M85 82v6" stroke="currentColor" stroke-width="2"/></svg>`

// ---- news ----

var newsTheme = theme{Name: "Daily Demo News", Tagline: "All the news that fits the demo", Accent: "#b3261e", Mark: "DN",
	Nav: []link{{"/", "Front page"}, {"/article/1", "Top story"}, {"/article/2", "Weather"}}}

func newsHandler(v *site.Vendor) http.Handler {
	mux := http.NewServeMux()
	v.Mount(mux)
	page := func(title string, body template.HTML) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			recordView(v, r, title)
			render(w, r, newsTheme, true, title, body)
		}
	}
	mux.HandleFunc("GET /{$}", (page("Front page", `
<h3><a href="/article/1">Browsers learn to say “no, but let’s talk”</a></h3>
<p>A new header lets visitors refuse tracking while staying open to a deal.</p>
<h3><a href="/article/2">Sunny spells expected over the demo</a></h3>
<p>Forecasters predict clear skies for the rest of the week.</p>
<p><em>We are funded by personalised advertising; our only offer needs it.</em></p>`)))
	mux.HandleFunc("GET /article/1", page("Browsers learn to say “no, but let’s talk”", `
<p>Do Not Track told sites what visitors did not want. DNT-D adds a dialog: the visitor’s agent reads the site’s
terms, compares them with the visitor’s own, and either agrees, counter-proposes or walks away.</p>`))
	mux.HandleFunc("GET /article/2", page("Sunny spells expected over the demo", `<p>Clear skies, light winds, 21°C.</p>`))
	mux.HandleFunc("GET /privacy", page("Privacy policy", `<p>See <a href="/.well-known/dnt-d">our terms</a>.</p>`))
	return v.Middleware(mux)
}

// ---- changing ----

// Changing is the vendor whose terms change between two versions (retention
// P30D and P14D), both acceptable to the default preset.
type Changing struct {
	vendor  *site.Vendor
	mu      sync.Mutex
	version int
	log     func(site, line string)
}

// Change switches to the other version of the terms and returns the new version.
func (c *Changing) Change() (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := c.version + 1
	if err := c.vendor.SetOffers([]policy.Offer{ChangingOffer(next)}); err != nil {
		return c.version, err
	}
	c.version = next
	if c.log != nil {
		c.log("changing", fmt.Sprintf("terms now version %d (retention %s)", next, ChangingOffer(next).Terms.Retention))
	}
	return next, nil
}

// Every changes the terms every d until stop is closed.
func (c *Changing) Every(d time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			c.Change()
		}
	}
}

var changingTheme = theme{Name: "Changing Terms Co", Tagline: "Our terms evolve; your agent keeps up", Accent: "#6b3fa0", Mark: "CT",
	Nav: []link{{"/", "Home"}, {"/about", "About"}, {"/terms", "Our terms"}}}

func changingHandler(c *Changing) http.Handler {
	v := c.vendor
	mux := http.NewServeMux()
	v.Mount(mux)
	page := func(title string, body func() template.HTML) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			recordView(v, r, title)
			render(w, r, changingTheme, true, title, body())
		}
	}
	current := func() template.HTML {
		doc, _, digest := v.Terms()
		return template.HTML(fmt.Sprintf(`<p>Our current offer keeps data for <b id="retention">%s</b>.
Terms digest <code id="terms-digest">%s</code>.</p>
<form method="post" action="/admin/change-terms"><button id="change">Change our terms (admin)</button></form>`,
			template.HTMLEscapeString(string(doc.Offers[0].Terms.Retention)), template.HTMLEscapeString(digest)))
	}
	mux.HandleFunc("GET /{$}", (page("Welcome", func() template.HTML {
		return `<p>We change our terms from time to time. When we do, your r-button notices the new digest and
renegotiates before anything else happens.</p>` + current()
	})))
	mux.HandleFunc("GET /about", page("About us", func() template.HTML { return `<p>A company that cannot make up its mind.</p>` }))
	mux.HandleFunc("GET /terms", page("Our terms", current))
	mux.HandleFunc("GET /privacy", page("Privacy policy", func() template.HTML { return `<p>See <a href="/.well-known/dnt-d">our terms</a>.</p>` }))
	mux.HandleFunc("POST /admin/change-terms", func(w http.ResponseWriter, r *http.Request) {
		version, err := c.Change()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _, digest := v.Terms()
		if r.Header.Get("Accept") == "application/json" || r.URL.Query().Get("json") == "1" || r.Header.Get("Sec-Fetch-Dest") != "document" {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"version": version, "termsDigest": digest, "retention": ChangingOffer(version).Terms.Retention})
			return
		}
		http.Redirect(w, r, "/terms", http.StatusSeeOther)
	})
	return v.Middleware(mux)
}

// ---- plain ----

var plainTheme = theme{Name: "Plain Old Site", Tagline: "No DNT-D here — just listening", Accent: "#3d6b4f", Mark: "PS",
	Nav: []link{{"/", "Home"}, {"/about", "About"}}}

// subresources records the headers of the last subresource request
// (/pixel.gif, also POSTed as a beacon; /script.js) and serves them at
// /last-headers, so tests can see what requests made by other sites' pages
// carried.
type subresources struct {
	mu    sync.Mutex
	count int
	last  map[string]any
}

func (p *subresources) mount(mux *http.ServeMux) {
	record := func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.count++
		p.last = map[string]any{"count": p.count, "path": r.URL.RequestURI(), "method": r.Method, "headers": headerMap(r)}
		p.mu.Unlock()
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Access-Control-Allow-Origin", "*")
	}
	pixel := func(w http.ResponseWriter, r *http.Request) {
		record(w, r)
		if r.URL.Query().Get("cookie") == "1" {
			// A tracker's cookie, as a third party sets it today: partitioned
			// (CHIPS), so the browser keeps it under the top-level site.
			w.Header().Set("Set-Cookie", "partner=1; Path=/; Max-Age=3600; SameSite=None; Secure; Partitioned")
		}
		w.Header().Set("Content-Type", "image/gif")
		w.Write(pixelGIF)
	}
	mux.HandleFunc("GET /pixel.gif", pixel)
	mux.HandleFunc("POST /pixel.gif", pixel)
	mux.HandleFunc("GET /script.js", func(w http.ResponseWriter, r *http.Request) {
		record(w, r)
		w.Header().Set("Content-Type", "text/javascript")
		w.Write([]byte("window.plainScriptLoaded = true;\n"))
	})
	mux.HandleFunc("GET /last-headers", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		last := p.last
		if last == nil {
			last = map[string]any{"count": 0, "path": "", "headers": map[string]string{}}
		}
		b, _ := json.MarshalIndent(last, "", "  ")
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Write(b)
	})
}

// plainSite speaks no DNT-D; it records its subresource requests.
type plainSite struct {
	subresources
}

func (p *plainSite) handler() http.Handler {
	mux := http.NewServeMux()
	show := func(title string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var b []byte
			for _, h := range headerList(r) {
				b = fmt.Appendf(b, `<tr><td>%s</td><td class="v">%s</td></tr>`, template.HTMLEscapeString(h.Name), template.HTMLEscapeString(h.Value))
			}
			render(w, r, plainTheme, false, title, template.HTML(`<p>This site publishes no DNT-D terms. Here is every header your browser sent:</p><table id="headers">`+string(b)+`</table>`))
		}
	}
	mux.HandleFunc("GET /{$}", (show("What your browser told us")))
	mux.HandleFunc("GET /about", show("About this plain site"))
	p.mount(mux)
	return mux
}

// A 1×1 transparent GIF.
var pixelGIF = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

// ---- echo ----

var echoTheme = theme{Name: "Header Echo", Tagline: "Shows what your browser sends", Accent: "#2b7a8c", Mark: "HE",
	Nav: []link{{"/", "Headers"}, {"/headers", "As JSON"}}}

func echoHandler(plainOrigin string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", (func(w http.ResponseWriter, r *http.Request) {
		var b []byte
		for _, h := range headerList(r) {
			b = fmt.Appendf(b, `<tr><td>%s</td><td class="v">%s</td></tr>`, template.HTMLEscapeString(h.Name), template.HTMLEscapeString(h.Value))
		}
		// ?subresource-host=localhost loads it from http://localhost:<plain port>
		// instead: a different site, not just a different origin.
		plainOrigin := plainOrigin
		if r.URL.Query().Get("subresource-host") == "localhost" {
			if u, err := url.Parse(plainOrigin); err == nil {
				plainOrigin = "http://localhost:" + u.Port()
			}
		}
		body := `<p>Your browser sent these headers for this page:</p><table id="headers">` + string(b) + `</table>
<p>This page also loads an image from another origin (` + template.HTMLEscapeString(plainOrigin) + `), which records the headers it got at
<a href="` + template.HTMLEscapeString(plainOrigin) + `/last-headers">/last-headers</a>:</p>
<img id="third-party" src="` + template.HTMLEscapeString(plainOrigin) + `/pixel.gif?from=echo" alt="" width="1" height="1">`
		render(w, r, echoTheme, false, "Your request headers", template.HTML(body))
	}))
	mux.HandleFunc("GET /headers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		b, _ := json.MarshalIndent(map[string]any{"method": r.Method, "path": r.URL.RequestURI(), "headers": headerMap(r)}, "", "  ")
		w.Write(b)
	})
	return mux
}
