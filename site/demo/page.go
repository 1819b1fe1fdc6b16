package demo

import (
	"html/template"
	"net/http"
	"sort"
	"strings"

	"github.com/rbutton/rbutton/site"
)

// theme is a demo site's look.
type theme struct {
	Name, Tagline, Accent, Mark string
	Nav                         []link
}

type link struct{ Href, Text string }

type pageData struct {
	theme
	Title   string
	Body    template.HTML
	Signals site.Signals
	Vendor  bool // the site speaks DNT-D
	Tk      string
	Headers []header
}

type header struct{ Name, Value string }

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · {{.Name}}</title>
<link rel="icon" href="data:,">
<style>
  :root { --accent: {{.Accent}}; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2330; background: #f6f7fb; }
  header { background: var(--accent); color: #fff; padding: 1rem 2rem; display: flex; align-items: baseline; gap: 2rem; flex-wrap: wrap; }
  header .brand { font-size: 1.4rem; font-weight: 700; color: #fff; text-decoration: none; }
  .mark { display: inline-grid; place-items: center; width: 2rem; height: 2rem; border-radius: 50%; background: #fff; color: var(--accent); font-size: .85rem; font-weight: 800; margin-right: .6rem; vertical-align: middle; }
  .pic { width: 100%; max-width: 14rem; height: auto; color: var(--accent); }
  header .tag { opacity: .85; font-size: .9rem; }
  nav a { color: #fff; margin-right: 1.2rem; text-decoration: none; border-bottom: 2px solid transparent; }
  nav a:hover { border-bottom-color: #fff; }
  main { max-width: 60rem; margin: 2rem auto; padding: 0 1.5rem; display: grid; grid-template-columns: 1fr 18rem; gap: 2rem; }
  @media (max-width: 50rem) { main { grid-template-columns: 1fr; } }
  article { background: #fff; border-radius: 12px; padding: 1.5rem 2rem; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
  h1 { margin-top: 0; }
  .products { display: grid; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); gap: 1rem; }
  .card { border: 1px solid #e3e6ee; border-radius: 10px; padding: 1rem; }
  .card .big { font-size: 3rem; }
  .price { font-weight: 700; color: var(--accent); }
  button, .button { background: var(--accent); color: #fff; border: 0; border-radius: 8px; padding: .6rem 1.2rem; font: inherit; cursor: pointer; text-decoration: none; display: inline-block; }
  aside { background: #fff; border-radius: 12px; padding: 1rem 1.2rem; box-shadow: 0 1px 3px rgba(0,0,0,.08); font-size: .9rem; align-self: start; }
  aside h2 { font-size: 1rem; margin: 0 0 .5rem; }
  dl { display: grid; grid-template-columns: auto 1fr; gap: .2rem .8rem; margin: 0; }
  dt { color: #667; } dd { margin: 0; font-family: ui-monospace, monospace; word-break: break-all; }
  .ok { color: #0a7d3b; font-weight: 600; } .no { color: #8a5a00; font-weight: 600; }
  table { border-collapse: collapse; width: 100%; font-size: .85rem; }
  td, th { text-align: left; border-bottom: 1px solid #eee; padding: .3rem .4rem; vertical-align: top; }
  td.v { font-family: ui-monospace, monospace; word-break: break-all; }
  footer { text-align: center; color: #889; font-size: .8rem; margin: 2rem; }
</style>
</head>
<body>
<header>
  <a class="brand" href="/"><span class="mark">{{.Mark}}</span>{{.Name}}</a>
  <span class="tag">{{.Tagline}}</span>
  <nav>{{range .Nav}}<a href="{{.Href}}">{{.Text}}</a>{{end}}</nav>
</header>
<main>
<article>
<h1>{{.Title}}</h1>
{{.Body}}
</article>
<aside id="dntd-status">
  <h2>What this site received</h2>
  <dl>
    <dt>DNT</dt><dd id="sig-dnt">{{if .Signals.DNT}}1{{else}}—{{end}}</dd>
    <dt>Sec-GPC</dt><dd id="sig-gpc">{{if .Signals.GPC}}1{{else}}—{{end}}</dd>
    <dt>Sec-DNT-D</dt><dd id="sig-dntd">{{if .Signals.DNTD}}v=1{{else}}—{{end}}</dd>
    <dt>agreed</dt><dd id="sig-agreed">{{if .Signals.Agreed}}{{.Signals.Agreed}}{{else}}—{{end}}</dd>
  </dl>
  {{if .Vendor}}
  <p>Relationship:
  {{if .Signals.Recognised}}<span class="ok" id="relationship">agreed{{if .Signals.Offer}} (offer “{{.Signals.Offer}}”){{end}}</span>
  {{else if .Signals.Agreed}}<span class="no" id="relationship">agreement not recognised (terms changed?)</span>
  {{else}}<span class="no" id="relationship">none — nothing about you is recorded</span>{{end}}
  <br>Tk: <b id="tk">{{.Tk}}</b></p>
  <p><a href="/.well-known/dnt-d">Our DNT-D terms</a></p>
  {{else}}
  <p>This site does not speak DNT-D; it only shows the signals it got.</p>
  {{end}}
</aside>
</main>
<footer>A demo site for r-button (DNT-D). Nothing here is real.</footer>
</body>
</html>
`))

// render writes a page. For a vendor, Tk mirrors what Middleware sends.
func render(w http.ResponseWriter, r *http.Request, th theme, vendor bool, title string, body template.HTML) {
	s := site.SignalsFrom(r.Context())
	if !vendor {
		s = site.ReadSignals(r)
	}
	tk := "N"
	if s.Recognised {
		tk = "C"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	pageTmpl.Execute(w, pageData{theme: th, Title: title, Body: body, Signals: s, Vendor: vendor, Tk: tk, Headers: headerList(r)})
}

// headerList returns a request's headers sorted, for display.
func headerList(r *http.Request) []header {
	var out []header
	for name, vals := range r.Header {
		out = append(out, header{Name: name, Value: strings.Join(vals, ", ")})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// headerMap returns a request's headers with lower-case names, for JSON.
func headerMap(r *http.Request) map[string]string {
	out := map[string]string{}
	for name, vals := range r.Header {
		out[strings.ToLower(name)] = strings.Join(vals, ", ")
	}
	if r.Host != "" {
		out["host"] = r.Host
	}
	return out
}
