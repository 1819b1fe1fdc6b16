package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/rbutton/rbutton/bench"
)

// roundTrips measures sections 1 and 6: relationship.get for a stored site
// over real pipes to bin/rbutton, interleaved message by message with the
// same request to echohost; then each process's peak RSS.
func roundTrips(ctx context.Context, c *config, rep *report) error {
	n, warm := 10000, 500
	if c.quick {
		n, warm = 1000, 100
	}
	site, db, err := lookupFixture(c, rep)
	if err != nil {
		return err
	}
	params := map[string]string{"site": site}
	var (
		hostP50, hostP99, echoP50, echoP99 []time.Duration
		hostRate, echoRate                 []float64
		p50Ratio, p99Ratio, rateRatio      []float64
		hostRSS, echoRSS, rssRatio         []float64
		hostSize, echoSize                 int
	)
	for run := 0; run < c.runs; run++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		host, err := startHost(c, filepath.Join(c.scratch, fmt.Sprintf("rt-%d", run)), db)
		if err != nil {
			return err
		}
		echo, err := startEcho(c)
		if err != nil {
			host.Close()
			return err
		}
		hs, es, hsz, esz, err := interleave(host, echo, "relationship.get", params, n, warm)
		if err == nil {
			hostSize, echoSize = hsz, esz
		}
		var hr, er int64
		if err == nil {
			hr, err = bench.PeakRSS(host.Pid())
		}
		if err == nil {
			er, err = bench.PeakRSS(echo.Pid())
		}
		herr, eerr := host.Close(), echo.Close()
		for _, e := range []error{err, herr, eerr} {
			if e != nil {
				return e
			}
		}
		h, e := bench.Summarize(hs), bench.Summarize(es)
		hostP50, hostP99, echoP50, echoP99 = append(hostP50, h.P50), append(hostP99, h.P99), append(echoP50, e.P50), append(echoP99, e.P99)
		hostRate, echoRate = append(hostRate, h.PerSecond()), append(echoRate, e.PerSecond())
		p50Ratio = append(p50Ratio, bench.Ratio(float64(h.P50), float64(e.P50)))
		p99Ratio = append(p99Ratio, bench.Ratio(float64(h.P99), float64(e.P99)))
		rateRatio = append(rateRatio, bench.Ratio(h.PerSecond(), e.PerSecond()))
		hostRSS, echoRSS = append(hostRSS, float64(hr)), append(echoRSS, float64(er))
		rssRatio = append(rssRatio, bench.Ratio(float64(hr), float64(er)))
	}
	if slices.Contains(c.sections, 1) {
		p50, p99 := bench.MedianDuration(hostP50), bench.MedianDuration(hostP99)
		r99 := bench.Median(p99Ratio)
		rep.add(row{section: 1, measure: "relationship.get p50",
			value: fmtDur(p50), baseline: fmtDur(bench.MedianDuration(echoP50)) + " (echo)", ratio: fmtRatio(bench.Median(p50Ratio)),
			aim: "≤ 2× echo", met: yesNo(bench.Median(p50Ratio) <= 2)})
		rep.add(row{section: 1, measure: "relationship.get p99",
			value: fmtDur(p99), baseline: fmtDur(bench.MedianDuration(echoP99)) + " (echo)", ratio: fmtRatio(r99),
			aim: "< 1 ms, ≤ 2× echo", met: yesNo(p99 < time.Millisecond && r99 <= 2)})
		rep.add(row{section: 1, measure: "relationship.get messages/s (closed loop)",
			value: fmtRate(bench.Median(hostRate)), baseline: fmtRate(bench.Median(echoRate)) + " (echo)", ratio: fmtRatio(bench.Median(rateRatio))})
		rep.note(1, "%d runs; each starts a fresh bin/rbutton (host mode, argv[1] `chrome-extension://%s/`) and a fresh echohost, "+
			"sends %d warm-up requests then %d measured `relationship.get` requests for `%s`, alternating host and echo "+
			"message by message (the order within a pair alternates too). Latency is write of the request frame → last byte of the "+
			"reply frame read, over real pipes. Reply size: host %d bytes, echo %d bytes (echo returns the params). "+
			"Per-run host p50 %s, p99 %s; echo p50 %s, p99 %s.",
			c.runs, c.extID, warm, n, site, hostSize, echoSize, spreadDur(hostP50), spreadDur(hostP99), spreadDur(echoP50), spreadDur(echoP99))
		rtNotes(c, rep, bench.MedianDuration(hostP50), bench.MedianDuration(echoP50), p99, bench.Median(p50Ratio), r99)
	}
	if slices.Contains(c.sections, 6) {
		r := bench.Median(rssRatio)
		rep.add(row{section: 6, measure: fmt.Sprintf("peak RSS (VmHWM) after %d look-ups", n+warm),
			value: fmtBytes(bench.Median(hostRSS)), baseline: fmtBytes(bench.Median(echoRSS)) + " (echo)", ratio: fmtRatio(r)})
		rep.note(6, "VmHWM from /proc/<pid>/status, read after the last reply of each section-1 run, before stdin is closed; "+
			"medians over %d runs. Per-run host: %s; echo: %s.", c.runs, fmtBytesList(hostRSS), fmtBytesList(echoRSS))
	}
	return nil
}

func fmtBytesList(xs []float64) string {
	s := ""
	for i, x := range xs {
		if i > 0 {
			s += ", "
		}
		s += fmtBytes(x)
	}
	return s
}

// interleave sends the same request to a and b alternately, n times after
// warm unmeasured pairs, and returns each side's latencies and reply sizes.
func interleave(a, b *bench.Host, typ string, params any, n, warm int) (as, bs []time.Duration, asz, bsz int, err error) {
	as, bs = make([]time.Duration, 0, n), make([]time.Duration, 0, n)
	call := func(h *bench.Host) (time.Duration, int, error) {
		_, d, size, err := h.Call(typ, params)
		return d, size, err
	}
	for i := 0; i < warm+n; i++ {
		first, second := a, b
		if i%2 == 1 {
			first, second = b, a
		}
		d1, s1, err := call(first)
		if err != nil {
			return nil, nil, 0, 0, err
		}
		d2, s2, err := call(second)
		if err != nil {
			return nil, nil, 0, 0, err
		}
		if i < warm {
			continue
		}
		if first == a {
			as, bs, asz, bsz = append(as, d1), append(bs, d2), s1, s2
		} else {
			as, bs, asz, bsz = append(as, d2), append(bs, d1), s2, s1
		}
	}
	return as, bs, asz, bsz, nil
}

// coldStart measures section 2: from exec to the first hello reply, host
// and echo alternately, each a fresh process.
func coldStart(ctx context.Context, c *config, rep *report) error {
	pairs := 60
	if c.quick {
		pairs = 10
	}
	site, db, err := lookupFixture(c, rep)
	if err != nil {
		return err
	}
	dir := filepath.Join(c.scratch, "cold")
	once := func(isHost bool, typ string, params any) (time.Duration, error) {
		t0 := time.Now()
		var h *bench.Host
		var err error
		if isHost {
			h, err = startHost(c, dir, db)
		} else {
			h, err = startEcho(c)
		}
		if err != nil {
			return 0, err
		}
		_, _, _, err = h.Call(typ, params)
		d := time.Since(t0)
		if cerr := h.Close(); err == nil {
			err = cerr
		}
		return d, err
	}
	// Two figures: the first hello (start-up proper), and one
	// relationship.get in a fresh process, which is what the extension's
	// first message after an idle spell costs: lib/host.js keeps one port
	// open while the user browses and lets it go when idle.
	type figure struct {
		typ                       string
		params                    any
		hostP50, echoP50, hostP90 []float64
		ratios                    []float64
	}
	figs := []*figure{{typ: "hello", params: struct{}{}}, {typ: "relationship.get", params: map[string]string{"site": site}}}
	for run := 0; run < c.runs; run++ {
		for _, f := range figs {
			var hs, es []time.Duration
			for i := 0; i < pairs; i++ {
				if err := ctx.Err(); err != nil {
					return err
				}
				order := []bool{true, false}
				if i%2 == 1 {
					order = []bool{false, true}
				}
				for _, isHost := range order {
					d, err := once(isHost, f.typ, f.params)
					if err != nil {
						return err
					}
					if isHost {
						hs = append(hs, d)
					} else {
						es = append(es, d)
					}
				}
			}
			h, e := bench.Summarize(hs), bench.Summarize(es)
			f.hostP50, f.echoP50 = append(f.hostP50, float64(h.P50)), append(f.echoP50, float64(e.P50))
			f.hostP90 = append(f.hostP90, float64(bench.Percentile(hs, 0.9)))
			f.ratios = append(f.ratios, bench.Ratio(float64(h.P50), float64(e.P50)))
		}
	}
	r := bench.Median(figs[0].ratios)
	rep.add(row{section: 2, measure: "start → first hello reply, p50",
		value: fmtDur(time.Duration(bench.Median(figs[0].hostP50))), baseline: fmtDur(time.Duration(bench.Median(figs[0].echoP50))) + " (echo)",
		ratio: fmtRatio(r), aim: "≤ 3× echo", met: yesNo(r <= 3)})
	rep.add(row{section: 2, measure: "start → relationship.get reply (a fresh process: the extension's first message after an idle spell), p50",
		value: fmtDur(time.Duration(bench.Median(figs[1].hostP50))), baseline: fmtDur(time.Duration(bench.Median(figs[1].echoP50))) + " (echo)",
		ratio: fmtRatio(bench.Median(figs[1].ratios))})
	rep.note(2, "%d runs of %d interleaved pairs per figure (a fresh bin/rbutton, then a fresh echohost, order alternating); "+
		"time from exec to the complete reply frame, including Go runtime start-up; stdin is then closed and the exit "+
		"awaited (not timed). Host p90 (median over runs): hello %s, relationship.get %s. The extension (extension/lib/host.js) keeps one "+
		"`runtime.connectNative` port open while the user browses and lets it go 20 s after the last reply, so the "+
		"first message after an idle spell costs the second figure and the messages after it section 1's round trip "+
		"over the kept-open pipe. bin/rbutton is built static (`CGO_ENABLED=0` in the Makefile): linked to libc, the "+
		"dynamic loader added about 3 ms to every start.", c.runs, pairs, fmtDur(time.Duration(bench.Median(figs[0].hostP90))),
		fmtDur(time.Duration(bench.Median(figs[1].hostP90))))
	dir = filepath.Join(c.scratch, "inittrace")
	hostInit, top, err := initCost(c.rbutton, []string{"chrome-extension://" + c.extID + "/"}, hostEnv(dir, db))
	if err != nil {
		return fmt.Errorf("init trace: %w", err)
	}
	echoInit, _, err := initCost(c.echo, []string{"chrome-extension://" + c.extID + "/"}, nil)
	if err != nil {
		return fmt.Errorf("init trace: %w", err)
	}
	rep.note(2, "Package initialisation (`GODEBUG=inittrace=1`, median of 7 starts): host %.2f ms in total, echo %.2f ms. "+
		"Costliest in the host: %s. The rest of the host's start is the larger binary to map and page in, opening its log "+
		"file, and answering through agent.Serve.", hostInit, echoInit, fmtInits(top))
	return nil
}
