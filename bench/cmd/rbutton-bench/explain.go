package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/rbutton/rbutton/bench"
	"github.com/rbutton/rbutton/host/agent"
	"github.com/rbutton/rbutton/host/framing"
	"github.com/rbutton/rbutton/host/negotiate"
	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rs/zerolog"
)

func (t *siteData) jsonSize() int {
	n := 0
	for _, v := range []any{t.rel, t.key} {
		b, _ := json.Marshal(v)
		n += len(b)
	}
	for _, e := range t.events {
		b, _ := json.Marshal(e)
		n += len(b)
	}
	return n
}

// lookupCost times, in this process, the parts of a relationship.get the
// host must do besides framing: the store look-up as the host does it (open,
// flock, mmap, read, validate and copy the stored bytes, close), opening and
// closing alone, encoding the reply, and for comparison the decoding look-up
// the host's other requests use.
func lookupCost(db, site string, n int) (lookup, open, encode, decoded time.Duration, err error) {
	d := store.New(db)
	var ls, os_, es, ds []time.Duration
	for range n {
		t0 := time.Now()
		var raw json.RawMessage
		err = d.View(func(tx *store.Tx) error {
			var err error
			raw, err = tx.RelationshipJSON(site)
			return err
		})
		ls = append(ls, time.Since(t0))
		if err != nil {
			return
		}
		if raw == nil {
			return 0, 0, 0, 0, fmt.Errorf("%s: no relationship with %s", db, site)
		}
		t0 = time.Now()
		if err = d.View(func(*store.Tx) error { return nil }); err != nil {
			return
		}
		os_ = append(os_, time.Since(t0))
		t0 = time.Now()
		id := "1"
		if _, err = proto.OKReply(&id, raw); err != nil {
			return
		}
		es = append(es, time.Since(t0))
		t0 = time.Now()
		err = d.View(func(tx *store.Tx) error { _, err := tx.Relationship(site); return err })
		ds = append(ds, time.Since(t0))
		if err != nil {
			return
		}
	}
	return bench.Percentile(ls, 0.5), bench.Percentile(os_, 0.5), bench.Percentile(es, 0.5), bench.Percentile(ds, 0.5), nil
}

// inProcessHost serves the real host code (agent.Serve, as
// bin/rbutton's host mode runs it) in this process over a pair of OS
// pipes, so that it can be profiled with the harness's own profiler.
func inProcessHost(db string) (*bench.Host, func(), error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, nil, err
	}
	a := &agent.Agent{DB: store.New(db), Client: &negotiate.Client{}, Log: zerolog.Nop()}
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Serve(context.Background(), inR, framing.NewWriter(outW))
		outW.Close()
	}()
	h := bench.Attach("agent.Serve in-process", outR, inW)
	return h, func() { h.Close(); <-done; inR.Close(); outR.Close() }, nil
}

// rtNotes explains section 1's figures from in-process measurements of
// the same work, and profiles the host code when an aim is missed.
func rtNotes(c *config, rep *report, hostP50, echoP50, hostP99 time.Duration, r50, r99 float64) {
	site, db, err := lookupFixture(c, rep)
	if err != nil {
		return
	}
	lookup, open, encode, decoded, err := lookupCost(db, site, 2000)
	if err != nil {
		rep.note(1, "In-process breakdown failed: %v", err)
		return
	}
	h, stop, err := inProcessHost(db)
	if err != nil {
		rep.note(1, "In-process breakdown failed: %v", err)
		return
	}
	defer stop()
	params := map[string]string{"site": site}
	var inproc []time.Duration
	for i := range 3000 {
		_, d, _, err := h.Call("relationship.get", params)
		if err != nil {
			rep.note(1, "In-process breakdown failed: %v", err)
			return
		}
		if i >= 500 {
			inproc = append(inproc, d)
		}
	}
	rep.note(1, "Where the host's time goes (p50, in the bench process, same database): one store look-up %s "+
		"(`DB.View` + `Tx.RelationshipJSON` on the read-only handle host/store keeps between reads: take the shared lock, "+
		"check that the path still names the mapped file at the mapped size (and its header pages if it was written since), "+
		"read, check the value's CRC-32C, copy, let the lock go: the stored bytes are the result, not decoded and encoded "+
		"again, nor scanned as JSON), of which the "+
		"read's own overhead (`DB.View` with an empty function) is %s; "+
		"building the reply envelope %s; the whole host code (`agent.Serve`, as host mode runs it) over a pair of OS pipes "+
		"in this process %s per relationship.get. Host minus echo across processes at p50: %s; the host's reply is also "+
		"about 50 times the size of echo's. For comparison, a look-up that decodes the relationship (`Tx.Relationship`, "+
		"as negotiate and the CLI use) takes %s.", fmtDur(lookup), fmtDur(open), fmtDur(encode),
		fmtDur(bench.Percentile(inproc, 0.5)), fmtDur(hostP50-echoP50), fmtDur(decoded))
	if hostP99 >= time.Millisecond || r50 > 2 || r99 > 2 {
		rep.note(1, "An aim is missed. CPU profile of `agent.Serve` answering relationship.get over OS pipes in this process "+
			"for 3 s (`go tool pprof -top -cum -focus='rbutton/host|bbolt'`: the host's side only):\n\n%s",
			profile(c, "lookup", func() {
				for t0 := time.Now(); time.Since(t0) < 3*time.Second; {
					if _, _, _, err := h.Call("relationship.get", params); err != nil {
						return
					}
				}
			}))
	}
}

// explainStore profiles look-ups on the largest store.
func explainStore(c *config, rep *report, path string, n int, t *siteData) {
	rep.note(3, "An aim is missed at %s sites. CPU profile of random look-ups on that file, in-process for 2 s "+
		"(`go tool pprof -top -cum -focus='rbutton/host|bbolt'`):\n\n%s", thousands(n), profile(c, "store", func() {
		d := store.New(path)
		for t0 := time.Now(); time.Since(t0) < 2*time.Second; {
			site := syntheticOrigin(rand.IntN(n))
			d.View(func(tx *store.Tx) error { _, err := tx.RelationshipJSON(site); return err })
		}
	}))
}

// profile runs fn under the CPU profiler and returns the top of
// `go tool pprof -top` as an indented block.
func profile(c *config, name string, fn func()) string {
	path := filepath.Join(c.scratch, name+".pprof")
	f, err := os.Create(path)
	if err != nil {
		return "    (profile failed: " + err.Error() + ")"
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return "    (profile failed: " + err.Error() + ")"
	}
	fn()
	pprof.StopCPUProfile()
	f.Close()
	exe, _ := os.Executable()
	var out bytes.Buffer
	cmd := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=25", "-focus=rbutton/host|bbolt", exe, path)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "    (go tool pprof failed: " + err.Error() + ": " + strings.TrimSpace(out.String()) + ")"
	}
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		if strings.HasPrefix(line, "File:") || strings.HasPrefix(line, "Build ID:") || strings.HasPrefix(line, "Type:") || strings.HasPrefix(line, "Time:") {
			continue
		}
		b.WriteString("    " + line + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}
