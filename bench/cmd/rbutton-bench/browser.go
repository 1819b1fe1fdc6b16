package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rbutton/rbutton/bench"
	"github.com/rbutton/rbutton/host/store"
)

// chromiumPath is Debian's Chromium, the browser the e2e tests use too.
var chromiumPath = "/usr/bin/chromium"

// browserResult is what bench/browser/overhead.mjs prints.
type browserResult struct {
	Version          string                            `json:"version"`
	Rounds           []map[string]map[string][]float64 `json:"rounds"` // round → arm (a|b) → url → ms
	SWStarts         int                               `json:"swStarts"`
	Navigations      int                               `json:"navigations"`
	Events           map[string]int                    `json:"events"`
	Calls            map[string]int                    `json:"calls"`
	CallMs           map[string]float64                `json:"callMs"`
	EventNavigations int                               `json:"eventNavigations"`
	CountingRestarts int                               `json:"countingRestarts"`
}

// signalled and unsignalled count the static pages' requests with and
// without the DNT header, to check that each arm is what it claims.
var signalled, unsignalled atomic.Int64

// staticPages serves the plain pages of section 5 on two loopback origins
// (the second supplies third-party images and a frame). Nothing is cached.
func staticPages() (first, third string, stop func(), err error) {
	var paragraphs strings.Builder
	for i := range 40 {
		fmt.Fprintf(&paragraphs, "<p>Paragraph %d. Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "+
			"incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris.</p>\n", i)
	}
	svg := `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="#2f5fd0"/></svg>`
	lnThird, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", nil, err
	}
	lnFirst, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		lnThird.Close()
		return "", "", nil, err
	}
	first, third = "http://"+lnFirst.Addr().String(), "http://"+lnThird.Addr().String()
	var imgs strings.Builder
	for i := range 8 {
		fmt.Fprintf(&imgs, `<img src="/img/%d.svg" width="64" height="64" alt="">`, i)
	}
	for i := range 2 {
		fmt.Fprintf(&imgs, `<img src="%s/img/%d.svg" width="64" height="64" alt="">`, third, i)
	}
	pages := map[string]string{
		"/text.html":   "<!doctype html><title>Text</title><h1>A text page</h1>\n" + paragraphs.String(),
		"/media.html":  `<!doctype html><title>Media</title><link rel="stylesheet" href="/style.css"><script src="/app.js"></script><h1>Images, a style sheet and a script</h1>` + imgs.String(),
		"/frames.html": `<!doctype html><title>Frames</title><h1>Frames</h1><iframe src="/text.html"></iframe><iframe src="` + third + `/frame.html"></iframe>`,
		"/frame.html":  `<!doctype html><title>Frame</title><p>A third-party frame.</p>`,
		"/style.css":   "body{font-family:sans-serif;max-width:40em;margin:auto}img{margin:4px}",
		"/app.js":      "document.addEventListener('DOMContentLoaded',()=>{document.body.dataset.ready='1'});",
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("DNT") == "1" {
			signalled.Add(1)
		} else {
			unsignalled.Add(1)
		}
		w.Header().Set("Cache-Control", "no-store")
		if strings.HasPrefix(r.URL.Path, "/img/") {
			w.Header().Set("Content-Type", "image/svg+xml")
			w.Write([]byte(svg))
			return
		}
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		switch filepath.Ext(r.URL.Path) {
		case ".css":
			w.Header().Set("Content-Type", "text/css")
		case ".js":
			w.Header().Set("Content-Type", "text/javascript")
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		w.Write([]byte(body))
	})
	s1 := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	s3 := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go s1.Serve(lnFirst)
	go s3.Serve(lnThird)
	return first, third, func() { s1.Close(); s3.Close() }, nil
}

// browsing measures section 5 by running bench/browser/overhead.mjs.
func browsing(ctx context.Context, c *config, rep *report) error {
	rounds, perRound, warm := c.runs, 8, 2
	if c.quick {
		perRound, warm = 2, 1
	}
	if err := needBinary(c.rbutton); err != nil {
		return err
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		return fmt.Errorf("%s not found (make deps installs it)", chromiumPath)
	}
	if _, err := os.Stat(filepath.Join(c.root, "node_modules", "playwright-core")); err != nil {
		return fmt.Errorf("node_modules/playwright-core not found (make deps installs it)")
	}
	first, _, stop, err := staticPages()
	if err != nil {
		return err
	}
	defer stop()
	v, err := startVendors()
	if err != nil {
		return err
	}
	defer v.close()
	shop := v.origins["shop"] + "/"
	pages := []string{first + "/text.html", first + "/media.html", first + "/frames.html", shop}

	dir := filepath.Join(c.scratch, "browser")
	profA, profB := filepath.Join(dir, "profile-a"), filepath.Join(dir, "profile-b")
	for _, d := range []string{profA, profB, filepath.Join(dir, "home")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	env := map[string]string{
		"RBUTTON_DB":  filepath.Join(dir, "rbutton.db"),
		"RBUTTON_LOG": filepath.Join(dir, "rbutton.log"),
		"HOME":        filepath.Join(dir, "home"),
	}
	install := exec.CommandContext(ctx, c.rbutton, "install", "--browser", "chromium", "--user-data-dir", profB)
	for k, val := range env {
		install.Env = append(install.Env, k+"="+val)
	}
	install.Env = append(os.Environ(), install.Env...)
	if out, err := install.CombinedOutput(); err != nil {
		return fmt.Errorf("rbutton install --user-data-dir: %v: %s", err, out)
	}
	signals := filepath.Join(c.root, "extension", "content", "signals.js")
	controlHeaders, err := headersOnlyExtension(filepath.Join(dir, "control-headers"), "", false)
	if err != nil {
		return err
	}
	controlScript, err := headersOnlyExtension(filepath.Join(dir, "control-script"), signals, false)
	if err != nil {
		return err
	}
	controlPaint, err := headersOnlyExtension(filepath.Join(dir, "control-paint"), signals, true)
	if err != nil {
		return err
	}
	profH, profC, profD := filepath.Join(dir, "profile-h"), filepath.Join(dir, "profile-c"), filepath.Join(dir, "profile-d")
	for _, d := range []string{profH, profC, profD} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	cfg := map[string]any{
		"chromium": chromiumPath, "extId": c.extID, "pages": pages,
		"arms": []map[string]any{
			{"name": "a", "profile": profA},
			{"name": "b", "profile": profB, "ext": filepath.Join(c.root, "extension"), "env": env, "rbutton": true},
			{"name": "h", "profile": profH, "ext": controlHeaders},
			{"name": "c", "profile": profC, "ext": controlScript},
			{"name": "d", "profile": profD, "ext": controlPaint},
		},
		"rounds": rounds, "perRound": perRound, "warm": warm, "settle": 1000, "countPasses": 3, "gap": 100,
	}
	cfgPath := filepath.Join(dir, "config.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		return err
	}
	var stdout, stderr bytes.Buffer
	node := exec.CommandContext(ctx, "node", filepath.Join(c.root, "bench", "browser", "overhead.mjs"), cfgPath)
	node.Dir, node.Stdout, node.Stderr = c.root, &stdout, &stderr
	t0 := time.Now()
	if err := node.Run(); err != nil {
		return fmt.Errorf("node bench/browser/overhead.mjs: %v: %s", err, lastLinesOf(stderr.String(), 15))
	}
	took := time.Since(t0)
	var res browserResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return fmt.Errorf("overhead.mjs output: %v: %q", err, lastLinesOf(stdout.String(), 5))
	}

	agreed := "no relationship"
	if err := store.New(env["RBUTTON_DB"]).View(func(tx *store.Tx) error {
		r, err := tx.Relationship(v.origins["shop"])
		if r != nil {
			agreed = "state " + r.State
		}
		return err
	}); err != nil {
		agreed = "unreadable: " + err.Error()
	}

	// Per round: median over every load of each arm, and the ratios.
	arm := func(r map[string]map[string][]float64, name string) []float64 {
		var all []float64
		for _, xs := range r[name] {
			all = append(all, xs...)
		}
		return all
	}
	var medA, medB, medH, medC, medD, ratios, ratiosH, ratiosC, ratiosD, spread []float64
	perPage, perPageH, perPageC, perPageD := map[string][]float64{}, map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
	perPageA, perPageB := map[string][]float64{}, map[string][]float64{}
	for _, r := range res.Rounds {
		ma, mb, mc, md := bench.Median(arm(r, "a")), bench.Median(arm(r, "b")), bench.Median(arm(r, "c")), bench.Median(arm(r, "d"))
		medA, medB, medC, medD = append(medA, ma), append(medB, mb), append(medC, mc), append(medD, md)
		ratios, ratiosC, ratiosD = append(ratios, bench.Ratio(mb, ma)), append(ratiosC, bench.Ratio(mc, ma)), append(ratiosD, bench.Ratio(md, ma))
		mh := bench.Median(arm(r, "h"))
		medH, ratiosH = append(medH, mh), append(ratiosH, bench.Ratio(mh, ma))
		for _, u := range pages {
			pa, pb := bench.Median(r["a"][u]), bench.Median(r["b"][u])
			perPageA[u], perPageB[u] = append(perPageA[u], pa), append(perPageB[u], pb)
			perPage[u] = append(perPage[u], bench.Ratio(pb, pa))
			perPageH[u] = append(perPageH[u], bench.Ratio(bench.Median(r["h"][u]), pa))
			perPageC[u] = append(perPageC[u], bench.Ratio(bench.Median(r["c"][u]), pa))
			perPageD[u] = append(perPageD[u], bench.Ratio(bench.Median(r["d"][u]), pa))
		}
	}
	spread = append(spread, ratios...)
	slices.Sort(spread)
	ratio := bench.Median(ratios)
	ms := func(x float64) string { return fmtDur(time.Duration(x * float64(time.Millisecond))) }
	rep.add(row{section: 5, measure: "page load (navigation start → load event end), all pages, p50",
		value: ms(bench.Median(medB)) + " (with r-button)", baseline: ms(bench.Median(medA)) + " (no extension)",
		ratio: fmtRatio(ratio), aim: "≤ 1.05×", met: yesNo(ratio <= 1.05)})
	rep.add(row{section: 5, measure: "page load, all pages, p50: control H, r-button's 3 request headers (1 static rule)",
		value: ms(bench.Median(medH)) + " (H)", baseline: ms(bench.Median(medA)) + " (no extension)",
		ratio: fmtRatio(bench.Median(ratiosH))})
	rep.add(row{section: 5, measure: "page load, all pages, p50: control C, H + r-button's navigator content script",
		value: ms(bench.Median(medC)) + " (C)", baseline: ms(bench.Median(medA)) + " (no extension)",
		ratio: fmtRatio(bench.Median(ratiosC))})
	rep.add(row{section: 5, measure: "page load, all pages, p50: control D, C + a worker that paints a lit r-button as r-button's does",
		value: ms(bench.Median(medD)) + " (D)", baseline: ms(bench.Median(medA)) + " (no extension)",
		ratio: fmtRatio(bench.Median(ratiosD))})
	names := map[string]string{pages[0]: "text page", pages[1]: "page with 10 images, CSS, JS", pages[2]: "page with 2 frames", pages[3]: "demo shop (agreed; DNT-D)"}
	var controlPages []string
	for _, u := range pages {
		rep.add(row{section: 5, measure: "page load p50, " + names[u],
			value: ms(bench.Median(perPageB[u])), baseline: ms(bench.Median(perPageA[u])), ratio: fmtRatio(bench.Median(perPage[u]))})
		controlPages = append(controlPages, fmt.Sprintf("%s %s / %s / %s", names[u], fmtRatio(bench.Median(perPageH[u])),
			fmtRatio(bench.Median(perPageC[u])), fmtRatio(bench.Median(perPageD[u]))))
	}
	rep.note(5, "Per-round ratios r-button/none: %s. Per page, H/none, C/none and D/none: %s.", fmtRatios(spread), strings.Join(controlPages, "; "))
	measuredB := res.Navigations // one B load per pair
	rep.add(row{section: 5, measure: "service-worker starts per navigation",
		value: fmt.Sprintf("%.3f (%d in %d)", float64(res.SWStarts)/float64(max(measuredB, 1)), res.SWStarts, measuredB), baseline: "0"})
	if res.Events != nil && res.EventNavigations > 0 {
		total := 0
		keys := make([]string, 0, len(res.Events))
		for k, n := range res.Events {
			total += n
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var parts []string
		for _, k := range keys {
			if res.Events[k] > 0 {
				parts = append(parts, fmt.Sprintf("%s %.2f", k, float64(res.Events[k])/float64(res.EventNavigations)))
			}
		}
		rep.add(row{section: 5, measure: "events dispatched to the service worker per navigation",
			value: fmt.Sprintf("%.2f", float64(total)/float64(res.EventNavigations)), baseline: "0",
			ratio: strings.Join(parts, "; ")})
	}
	if res.Calls != nil && res.EventNavigations > 0 {
		keys := make([]string, 0, len(res.Calls))
		total := 0
		for k, n := range res.Calls {
			keys = append(keys, k)
			total += n
		}
		slices.Sort(keys)
		var parts []string
		for _, k := range keys {
			if res.Calls[k] > 0 {
				parts = append(parts, fmt.Sprintf("%s %.2f (%.1f ms until settled)", k, float64(res.Calls[k])/float64(res.EventNavigations),
					res.CallMs[k]/float64(res.EventNavigations)))
			}
		}
		rep.add(row{section: 5, measure: "extension API calls by the worker per navigation",
			value: fmt.Sprintf("%.2f", float64(total)/float64(res.EventNavigations)), baseline: "0",
			ratio: strings.Join(parts, "; ")})
	}
	rep.note(5, "Chromium %s, headless, flags `--no-sandbox --disable-background-networking --disable-component-update "+
		"--disable-sync --no-first-run --disable-gpu` (+ `--no-default-browser-check --disable-dev-shm-usage`), driven by "+
		"playwright-core (bench/browser/overhead.mjs). Five browsers run side by side: A without extensions, B with the r-button "+
		"extension loaded unpacked and its native host installed into B's profile (`rbutton install --browser chromium "+
		"--user-data-dir`), H with a control extension generated by the bench that sets `DNT: 1`, `Sec-GPC: 1`, `Sec-DNT-D: v=1` on every "+
		"request with one static declarativeNetRequest rule and nothing else, C, the same plus r-button's own content/signals.js registered as "+
		"background.js registers it (MAIN world, document_start, all frames), and D, C plus a service worker "+
		"that, on the events r-button's worker listens to, paints a lit r-button (icon and title) with r-button's own "+
		"lib/paint.js, to attribute the cost of painting. "+
		"Pages: three static pages on a loopback server (no-store; one pulls 8 same-origin and 2 "+
		"third-party images, a style sheet and a script; one has a same-origin and a third-party frame) and the demo shop's "+
		"home page, which advertises DNT-D (B negotiates with it once, in the warm-up, and sends its agreed digest after; "+
		"B's host database after the run: %s with the shop). "+
		"%d warm-up visits per page per browser, then %d rounds of %d visits per page per browser, the browsers taking turns "+
		"visit by visit (who goes first rotates), with a 100 ms idle gap before each visit so that what one browser "+
		"does after its load event is not timed in the next one's load. A visit is a new document (unique query string); its time is "+
		"`loadEventEnd - startTime` of the Navigation Timing entry. The figure is the median over rounds of each round's "+
		"median; the ratio the median of per-round ratios. Whole browser part: %s.",
		res.Version, agreed, warm, rounds, perRound, took.Round(time.Second))
	rep.note(5, "Service-worker wake-ups: counted as new service-worker targets of the extension (playwright's `serviceworker` "+
		"event, from CDP target attachment) during the measured rounds. Navigations come every few hundred milliseconds, "+
		"so the worker never idles out (Chromium stops it after 30 s idle) and this counts ~0; on real browsing with pauses "+
		"longer than 30 s each advertised or plain navigation would wake it once for `webRequest.onHeadersReceived` "+
		"(main_frame only). The extension exposes no counter of its own, so events were counted in a separate, untimed pass "+
		"of %d navigations: counting listeners added next to background.js's own (same events, same filters) via the "+
		"worker's DevTools session; every event counted is one dispatch that also runs one of background.js's handlers. "+
		"In the same pass the extension API functions background.js calls (looked up on `chrome` at call time) were "+
		"wrapped with counters and timers (\"until settled\": time from the call until its promise settled, per "+
		"navigation; wall time, not CPU). "+
		"Worker restarts during the counting pass: %d (a restart would lose counts).", res.EventNavigations, res.CountingRestarts)
	if ratio > 1.05 {
		a, b, h, cc, d := bench.Median(medA), bench.Median(medB), bench.Median(medH), bench.Median(medC), bench.Median(medD)
		msd := func(x float64) string { return fmtDur(time.Duration(x * float64(time.Millisecond))) }
		rep.note(5, "The aim is missed: r-button adds %s to the median load (%s → %s). Attribution by the controls: "+
			"rewriting the three request headers (H − none) %s; running the navigator content script (C − H) %s; a worker "+
			"painting a lit r-button with lib/paint.js on the same events as r-button's (D − C) %s; the rest of r-button "+
			"(r-button − D) %s: its own event handling and storage, its dynamic and session rules (more than the "+
			"controls' one static rule; a tab's session rule changes when it enters or leaves the agreed shop), and on "+
			"the shop's pages the compliance watch (a content script in the isolated world, and a second after the load "+
			"one message to the host over the open port). The vendor's own extra work is timed below. The load event does not "+
			"wait for the worker, but what the worker does on `tabs.onUpdated` while the page loads competes with the page "+
			"on two cores. Differences of a few milliseconds are within this machine's noise (see the per-round ratios).",
			msd(b-a), ms(a), ms(b), msd(h-a), msd(cc-h), msd(d-cc), msd(b-d))
	}
	v.mu.Lock()
	withAgreement, others := v.pageTime[true], v.pageTime[false]
	v.mu.Unlock()
	if len(withAgreement) > 0 && len(others) > 0 {
		rep.note(5, "The vendor's own share on the demo shop, timed around its handler in the bench's server: its home page "+
			"took %s p50 (%d requests) to serve to a visitor with an agreement (r-button: the shop recognises the agreed "+
			"digest and records the page view, site/demo recordView) and %s p50 (%d requests) to the others.",
			fmtDur(bench.MedianDuration(withAgreement)), len(withAgreement), fmtDur(bench.MedianDuration(others)), len(others))
	}
	rep.note(5, "Sanity check of the arms: the static server saw %d requests carrying `DNT: 1` and %d without (B, H, C and D "+
		"send it, A does not; B also makes the untimed counting pass: expect a little over 4 to 1).", signalled.Load(), unsignalled.Load())
	return nil
}

func lastLinesOf(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func fmtRatios(xs []float64) string {
	var s []string
	for _, x := range xs {
		s = append(s, fmtRatio(x))
	}
	return strings.Join(s, ", ")
}

// headersOnlyExtension writes the control extension of section 5: one
// static declarativeNetRequest rule setting r-button's three request
// headers on every request, nothing else.
//
// With script set (a path to r-button's content/signals.js) it also
// registers that script the way background.js does: every http(s)
// document and frame, document_start, MAIN world.
//
// With painter set it also gets a service worker that paints a lit r-button
// (icon and title) with r-button's own lib/paint.js on the events
// background.js paints on, and nothing else.
func headersOnlyExtension(dir, script string, painter bool) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	manifest := map[string]any{
		"manifest_version": 3, "name": "rbutton-bench control: headers only", "version": "1.0",
		"permissions":      []string{"declarativeNetRequest"},
		"host_permissions": []string{"<all_urls>"},
		"declarative_net_request": map[string]any{
			"rule_resources": []map[string]any{{"id": "headers", "enabled": true, "path": "rules.json"}},
		},
	}
	if script != "" {
		b, err := os.ReadFile(script)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, "signals.js"), b, 0o644); err != nil {
			return "", err
		}
		manifest["name"] = "rbutton-bench control: headers and navigator script"
		manifest["content_scripts"] = []map[string]any{{
			"matches": []string{"http://*/*", "https://*/*"}, "js": []string{"signals.js"}, "run_at": "document_start",
			"all_frames": true, "world": "MAIN", "match_origin_as_fallback": true,
		}}
	}
	rules := []map[string]any{{
		"id": 1, "priority": 1,
		"action": map[string]any{"type": "modifyHeaders", "requestHeaders": []map[string]string{
			{"header": "DNT", "operation": "set", "value": "1"},
			{"header": "Sec-GPC", "operation": "set", "value": "1"},
			{"header": "Sec-DNT-D", "operation": "set", "value": "v=1"},
		}},
		"condition": map[string]any{"resourceTypes": []string{"main_frame", "sub_frame", "stylesheet", "script", "image",
			"font", "object", "xmlhttprequest", "ping", "csp_report", "media", "websocket", "webtransport", "webbundle", "other"}},
	}}
	if painter {
		// The control paints with r-button's own painter (lib/paint.js, and
		// the constants it reads), so D − C is what painting costs as r-button
		// does it, whatever lib/paint.js does today.
		ext := filepath.Dir(filepath.Dir(script))
		files := []string{"lib/paint.js", "lib/constants.js", "lib/origin.js"}
		for _, stem := range []string{"on", "off"} {
			files = append(files, "icons/"+stem+"-16.png", "icons/"+stem+"-32.png")
		}
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(ext, f))
			if err != nil {
				return "", err
			}
			if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
				return "", err
			}
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
				return "", err
			}
		}
		// A lit r-button on every page: after each commit the icon and the title are painted again.
		const worker = `// rbutton-bench control: paint a lit r-button on r-button's events with its own painter, nothing else.
import { createPainter, decodeIcon } from './lib/paint.js';
const painter = createPainter(chrome.action, { imageData: (stem) => decodeIcon(stem, chrome.runtime.getURL) });
const paint = (tabId) => painter.paint(tabId, { icon: 'on', title: 'r-button: relationship with the bench' });
chrome.webRequest.onHeadersReceived.addListener((d) => {
  if (d.tabId >= 0) paint(d.tabId);
}, { urls: ['http://*/*', 'https://*/*'], types: ['main_frame'] }, ['responseHeaders']);
chrome.tabs.onUpdated.addListener((tabId, changeInfo) => {
  // As lib/controller.js tells its painter: a commit reset the tab's button.
  if (changeInfo.status === 'loading' || changeInfo.url) painter.reset?.(tabId);
  if (changeInfo.url || changeInfo.status) paint(tabId);
});
`
		if err := os.WriteFile(filepath.Join(dir, "background.js"), []byte(worker), 0o644); err != nil {
			return "", err
		}
		manifest["name"] = "rbutton-bench control: headers, navigator script, icon painting"
		manifest["permissions"] = []string{"declarativeNetRequest", "webRequest"}
		manifest["background"] = map[string]any{"service_worker": "background.js", "type": "module"}
		manifest["action"] = map[string]any{"default_title": "r-button",
			"default_icon": map[string]string{"16": "icons/off-16.png", "32": "icons/off-32.png"}}
	}
	for name, v := range map[string]any{"manifest.json": manifest, "rules.json": rules} {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}
