package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"time"

	"github.com/rbutton/rbutton/bench"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
)

// negotiation measures section 4 against the demo shop on loopback: the
// time of a negotiate message from advertisement to stored agreement, the
// HTTP requests it makes (counted at the vendor), and what a later page
// view with the same advertisement costs. Each iteration uses a fresh host
// process and a fresh database. The baseline replays the very requests the
// host made (terms document GET, proposal POST, which the vendor answers
// idempotently) from this process: the HTTP and vendor share of the time.
func negotiation(ctx context.Context, c *config, rep *report) error {
	iters := 40
	if c.quick {
		iters = 6
	}
	v, err := startVendors()
	if err != nil {
		return err
	}
	defer v.close()
	shop := v.origins["shop"]
	advert, err := advertisement(shop + "/")
	if err != nil {
		return err
	}
	v.take("shop")

	var (
		times, replays, again []time.Duration
		ratios                []float64
		counts, againCounts   []int
		paths                 = map[string]int{}
	)
	for i := 0; i < iters; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		dir := filepath.Join(c.scratch, fmt.Sprintf("neg-%d", i))
		db := filepath.Join(dir, "rbutton.db")
		host, err := startHost(c, dir, db)
		if err != nil {
			return err
		}
		d, againD, reqs, againReqs, err := negotiateOnce(host, v, shop, advert)
		if cerr := host.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("iteration %d: %w", i, err)
		}
		// Baseline: the same requests, straight from here, fresh connections.
		replay, err := replayRequests(shop, reqs)
		if err != nil {
			return fmt.Errorf("replaying the host's requests: %w", err)
		}
		v.take("shop")
		times, replays, again = append(times, d), append(replays, replay), append(again, againD)
		ratios = append(ratios, bench.Ratio(float64(d), float64(replay)))
		counts, againCounts = append(counts, len(reqs)), append(againCounts, againReqs)
		for _, r := range reqs {
			paths[r.Method+" "+r.Path]++
		}
		if i == 0 {
			if err := captureFixture(db, shop); err != nil {
				return err
			}
		}
	}
	med := bench.MedianDuration(times)
	rep.add(row{section: 4, measure: "negotiate: advertisement → stored agreement (p50)",
		value: fmtDur(med), baseline: fmtDur(bench.MedianDuration(replays)) + " (same HTTP requests replayed)",
		ratio: fmtRatio(bench.Median(ratios))})
	mc, maxc := medianInt(counts), maxInt(counts)
	rep.add(row{section: 4, measure: "HTTP requests per negotiation (at the vendor)",
		value: fmt.Sprintf("%g (max %d)", mc, maxc), baseline: "2 (terms + proposal)", ratio: fmtRatio(mc / 2)})
	ac := maxInt(againCounts)
	rep.add(row{section: 4, measure: "HTTP requests added to a later page view (same advertisement)",
		value: fmt.Sprint(ac), baseline: "0", aim: "0", met: yesNo(ac == 0)})
	rep.add(row{section: 4, measure: "negotiate again, same advertisement (p50)",
		value: fmtDur(bench.MedianDuration(again)), baseline: fmtDur(med) + " (first negotiation)",
		ratio: fmtRatio(bench.Ratio(float64(bench.MedianDuration(again)), float64(med)))})
	rep.note(4, "%d iterations against the demo shop (site/demo, the vendors of bin/rbutton-demo-sites, served on loopback "+
		"from the bench process so that every request reaching the vendor is counted; a counting proxy in front cannot work "+
		"because a vendor only accepts agreements naming its own origin). Each iteration starts a fresh bin/rbutton on a "+
		"fresh database, sends hello and relationship.list (which creates the database, untimed), then times `negotiate {site, advertisement}` with the `DNT-D` header value the shop "+
		"sent on its home page, until the reply with the agreed relationship (stored before the reply). Requests seen "+
		"per path over all iterations: %s. Per-iteration negotiate times %s. The baseline replays, from the bench process "+
		"with fresh connections, exactly the requests the host made (the vendor answers a repeated proposal idempotently), "+
		"so the ratio is the host's own share: process-side parsing, matching, key generation, signing, verifying and the "+
		"store writes with fsync. \"Later page view\": `negotiate` again with the same advertisement in the same process "+
		"returns the stored relationship without contacting the site.", iters, pathCounts(paths), spreadDur(times))
	if commit, err := commitCost(filepath.Join(c.scratch, "commit")); err == nil {
		rep.note(4, "For scale: one committed store transaction (`DB.Update` writing the default terms, with its fsync) "+
			"takes %s p50 on this machine's disk, measured in-process; a first negotiation commits twice: the "+
			"pairwise key before the first proposal (so that a retry, from this or another host process, proposes "+
			"with the same key and the site sees one relationship, not two), then the relationship and its history. "+
			"On a fresh database the second also grows the file. The rest is two HTTP exchanges from a fresh "+
			"process (connection set-up, terms document parse and validation, matching), a new Ed25519 key pair, "+
			"signing the proposal and verifying the site's record.", fmtDur(commit))
	}
	return nil
}

// commitCost is the p50 of a small committed write on a fresh database in dir.
func commitCost(dir string) (time.Duration, error) {
	db := store.New(filepath.Join(dir, "rbutton.db"))
	u, ok := policy.Preset(policy.DefaultPreset)
	if !ok {
		return 0, fmt.Errorf("no default preset")
	}
	var ds []time.Duration
	for i := range 25 {
		t0 := time.Now()
		if err := db.Update(func(tx *store.Tx) error { return tx.PutDefaults(u) }); err != nil {
			return 0, err
		}
		if i > 0 {
			ds = append(ds, time.Since(t0))
		}
	}
	return bench.Percentile(ds, 0.5), nil
}

func pathCounts(m map[string]int) string {
	s := ""
	for k, n := range m {
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("`%s` %d", k, n)
	}
	return s
}

func medianInt(xs []int) float64 {
	f := make([]float64, len(xs))
	for i, x := range xs {
		f[i] = float64(x)
	}
	return bench.Median(f)
}

func maxInt(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// advertisement fetches url as a browser would and returns its DNT-D header.
func advertisement(url string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	req.Header.Set("Sec-Fetch-Dest", "document")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	req.Header.Set("DNT", "1")
	req.Header.Set("Sec-GPC", "1")
	req.Header.Set(policy.RequestHeader, "v=1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	a := resp.Header.Get(policy.ResponseHeader)
	if a == "" {
		return "", fmt.Errorf("%s sent no %s header", url, policy.ResponseHeader)
	}
	return a, nil
}

func negotiateOnce(host *bench.Host, v *vendors, site, advert string) (first, again time.Duration, reqs []capturedRequest, againReqs int, err error) {
	if _, _, _, err = host.Call("hello", struct{}{}); err != nil {
		return
	}
	// Create the database first: a browser's host has one long before it
	// meets a new site, and creating it costs several fsyncs.
	if _, _, _, err = host.Call("relationship.list", struct{}{}); err != nil {
		return
	}
	v.take("shop")
	params := map[string]string{"site": site, "advertisement": advert}
	r, d, _, err := host.Call("negotiate", params)
	if err != nil {
		return
	}
	var rel store.Relationship
	if err = json.Unmarshal(r.Result, &rel); err != nil {
		err = fmt.Errorf("negotiate result: %w", err)
		return
	}
	if rel.State != store.StateAgreed || rel.Record == nil {
		err = fmt.Errorf("negotiate with %s: state %q, record %v, error %+v; want an agreement", site, rel.State, rel.Record != nil, rel.Error)
		return
	}
	reqs = v.take("shop")
	_, d2, _, err := host.Call("negotiate", params)
	if err != nil {
		return
	}
	return d, d2, reqs, len(v.take("shop")), nil
}

func replayRequests(site string, reqs []capturedRequest) (time.Duration, error) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	t0 := time.Now()
	for _, r := range reqs {
		req, err := http.NewRequest(r.Method, site+r.Path, bytes.NewReader(r.Body))
		if err != nil {
			return 0, err
		}
		if r.ContentType != "" {
			req.Header.Set("Content-Type", r.ContentType)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("%s %s: %s", r.Method, r.Path, resp.Status)
		}
	}
	return time.Since(t0), nil
}

// captureFixture keeps the first negotiation's database for the look-up
// sections and reads what the host stored as the template for section 3.
func captureFixture(db, site string) error {
	t := &siteData{}
	err := store.New(db).View(func(tx *store.Tx) error {
		r, err := tx.Relationship(site)
		if err != nil || r == nil {
			return fmt.Errorf("no stored relationship with %s after negotiating (%v)", site, err)
		}
		t.rel = *r
		if t.key, err = tx.Key(site); err != nil {
			return err
		}
		t.events, err = tx.History(site)
		return err
	})
	if err != nil {
		return err
	}
	fixture.template, fixture.db, fixture.site = t, db, site
	return nil
}
