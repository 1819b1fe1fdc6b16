package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/rbutton/rbutton/bench"
	"github.com/rbutton/rbutton/host/store"
	bolt "go.etcd.io/bbolt"
)

func syntheticOrigin(i int) string { return fmt.Sprintf("https://s%06d.example", i) }

// populate creates a fresh database at path holding n sites like t,
// inserted in random order, batch sites per transaction (a single
// transaction per site would spend minutes in fsync at 100,000).
func populate(path string, t *siteData, n, batch int) (time.Duration, error) {
	order := rand.Perm(n)
	db := store.New(path)
	t0 := time.Now()
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		err := db.Update(func(tx *store.Tx) error {
			for _, i := range order[lo:hi] {
				if err := putSite(tx, t, syntheticOrigin(i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	return time.Since(t0), nil
}

type storeSamples struct {
	lookups, decoded, writes, opens []time.Duration
	faults                          []int64 // minor page faults during each look-up (lookups)
	reopened                        []time.Duration
}

// compact copies src into a fresh, tightly packed file at dst with
// bbolt.Compact, leaving no free pages: the state of a database that grew
// one site per transaction, whose freed pages are reused as it goes.
func compact(dst, src string) error {
	from, err := bolt.Open(src, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return err
	}
	defer from.Close()
	to, err := bolt.Open(dst, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return err
	}
	if err := bolt.Compact(to, from, 64<<20); err != nil {
		to.Close()
		return err
	}
	return to.Close()
}

// freePages reports the number of free pages bbolt tracks in path.
func freePages(path string) (int, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return db.Stats().FreePageN, nil
}

// storeVariant is one database file measured in section 3.
type storeVariant struct {
	n        int
	bulk     bool // as left by batched writes (large freelist), else compacted
	path     string
	size     int64
	free     int
	p50, p99 []time.Duration // per run
	d50, d99 []time.Duration
	w50, w99 []time.Duration
	o50      []time.Duration
	r50, r99 []time.Duration // look-ups opening the file for each read
	// Over all runs: look-ups that took no page fault and those that took
	// one or more, and the faults taken.
	unfaulted, faulted []time.Duration
	faults             int64
}

func (v *storeVariant) label() string {
	if v.bulk {
		return thousands(v.n) + " sites, just bulk-written"
	}
	return thousands(v.n) + " sites"
}

// storeGrowth measures section 3: single look-ups and single writes
// through host/store (one transaction each, opening the file each time as
// the host does) at several sizes, interleaved across the sizes.
func storeGrowth(ctx context.Context, c *config, rep *report) error {
	sizes := []int{1000, 10000, 100000}
	lookups, reopens, writes, blocks := 2000, 400, 60, 20
	if c.quick {
		sizes, lookups, reopens, writes, blocks = []int{1000, 10000}, 200, 50, 10, 5
	}
	t, err := templateSite()
	if err != nil {
		return err
	}
	var compacted, bulk []*storeVariant
	defer func() {
		for _, v := range append(compacted, bulk...) {
			os.RemoveAll(filepath.Dir(v.path))
		}
	}()
	for _, n := range sizes {
		b := &storeVariant{n: n, bulk: true, path: filepath.Join(c.scratch, fmt.Sprintf("store-%d-bulk", n), "rbutton.db")}
		v := &storeVariant{n: n, path: filepath.Join(c.scratch, fmt.Sprintf("store-%d", n), "rbutton.db")}
		bulk, compacted = append(bulk, b), append(compacted, v)
		for _, x := range []*storeVariant{b, v} {
			if err := os.MkdirAll(filepath.Dir(x.path), 0o700); err != nil {
				return err
			}
		}
		took, err := populate(b.path, t, n, 5000)
		if err != nil {
			return fmt.Errorf("populating %d: %w", n, err)
		}
		if err := compact(v.path, b.path); err != nil {
			return fmt.Errorf("compacting %d: %w", n, err)
		}
		for _, x := range []*storeVariant{b, v} {
			fi, err := os.Stat(x.path)
			if err != nil {
				return err
			}
			x.size = fi.Size()
			if x.free, err = freePages(x.path); err != nil {
				return err
			}
		}
		rep.note(3, "Populated %s sites in %s (random order, 5,000 sites per transaction): file %s with %s free pages; "+
			"compacted copy %s with %s free pages.", thousands(n), fmtDur(took), fmtBytes(float64(b.size)), thousands(b.free),
			fmtBytes(float64(v.size)), thousands(v.free))
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	all := append(append([]*storeVariant{}, compacted...), bulk...)
	for run := 0; run < c.runs; run++ {
		samples := make([]storeSamples, len(all))
		// Small blocks per file, round robin, so drift hits all files
		// alike; look-ups first, then writes, so that the write-back of
		// fsynced pages does not land in the look-ups' tail.
		// The look-ups that open the file for each read (as the host did
		// before it kept its handle) run in their own phase: their munmap
		// interrupts the other CPU, and would land in the others' tail.
		for _, phase := range []struct{ lookups, reopens, writes int }{
			{lookups / blocks, 0, 0}, {0, reopens / blocks, 0}, {0, 0, max(writes/blocks, 1)},
		} {
			for b := 0; b < blocks; b++ {
				for i, v := range all {
					if err := ctx.Err(); err != nil {
						return err
					}
					if v.bulk && phase.reopens > 0 {
						continue
					}
					if err := storeBlock(v.path, t, v.n, phase.lookups, phase.writes, &samples[i]); err != nil {
						return fmt.Errorf("%s: %w", v.label(), err)
					}
					if err := reopenBlock(v.path, v.n, phase.reopens, &samples[i]); err != nil {
						return fmt.Errorf("%s: %w", v.label(), err)
					}
				}
			}
		}
		for i, v := range all {
			for j, d := range samples[i].lookups {
				v.faults += samples[i].faults[j]
				if samples[i].faults[j] == 0 {
					v.unfaulted = append(v.unfaulted, d)
				} else {
					v.faulted = append(v.faulted, d)
				}
			}
			v.p50 = append(v.p50, bench.Percentile(samples[i].lookups, 0.5))
			v.p99 = append(v.p99, bench.Percentile(samples[i].lookups, 0.99))
			v.d50 = append(v.d50, bench.Percentile(samples[i].decoded, 0.5))
			v.d99 = append(v.d99, bench.Percentile(samples[i].decoded, 0.99))
			v.w50 = append(v.w50, bench.Percentile(samples[i].writes, 0.5))
			v.w99 = append(v.w99, bench.Percentile(samples[i].writes, 0.99))
			v.o50 = append(v.o50, bench.Percentile(samples[i].opens, 0.5))
			if len(samples[i].reopened) > 0 {
				v.r50 = append(v.r50, bench.Percentile(samples[i].reopened, 0.5))
				v.r99 = append(v.r99, bench.Percentile(samples[i].reopened, 0.99))
			}
		}
	}
	base := compacted[0]
	base50, base99 := bench.MedianDuration(base.p50), bench.MedianDuration(base.p99)
	last := compacted[len(compacted)-1]
	for _, v := range all {
		l50, l99 := bench.MedianDuration(v.p50), bench.MedianDuration(v.p99)
		ratio := ratiosOf(v.p50, base.p50)
		r := row{section: 3, measure: "look-up p50 / p99, " + v.label(),
			value: fmtDur(l50) + " / " + fmtDur(l99), ratio: fmtRatio(ratio)}
		if v != base {
			r.baseline = fmtDur(base50) + " / " + fmtDur(base99) + " (" + base.label() + ")"
		} else {
			r.baseline = "(the baseline)"
		}
		if v == last {
			r.aim = "flat (p50 ≤ 1.5× " + base.label() + "); p99 < 200 µs at 100,000"
			r.met = yesNo(ratio <= 1.5 && (v.n < 100000 || l99 < 200*time.Microsecond))
		}
		rep.add(r)
	}
	for _, v := range compacted {
		rep.add(row{section: 3, measure: "look-up p50 / p99 opening the file for each read (the host before it kept its read handle), " + v.label(),
			value:    fmtDur(bench.MedianDuration(v.r50)) + " / " + fmtDur(bench.MedianDuration(v.r99)),
			baseline: fmtDur(bench.MedianDuration(v.p50)) + " / " + fmtDur(bench.MedianDuration(v.p99)) + " (kept handle, same file)",
			ratio:    fmtRatio(ratiosOf(v.r50, v.p50))})
	}
	for _, v := range compacted {
		r := row{section: 3, measure: "decoding look-up p50 / p99 (negotiate's, the CLI's), " + v.label(),
			value: fmtDur(bench.MedianDuration(v.d50)) + " / " + fmtDur(bench.MedianDuration(v.d99)), ratio: fmtRatio(ratiosOf(v.d50, base.d50))}
		if v != base {
			r.baseline = fmtDur(bench.MedianDuration(base.d50)) + " / " + fmtDur(bench.MedianDuration(base.d99)) + " (" + base.label() + ")"
		} else {
			r.baseline = "(the baseline)"
		}
		rep.add(r)
	}
	for _, v := range compacted {
		r := row{section: 3, measure: "write p50 / p99, " + v.label(),
			value: fmtDur(bench.MedianDuration(v.w50)) + " / " + fmtDur(bench.MedianDuration(v.w99)), ratio: fmtRatio(ratiosOf(v.w50, base.w50))}
		if v != base {
			r.baseline = fmtDur(bench.MedianDuration(base.w50)) + " (" + base.label() + ")"
		} else {
			r.baseline = "(the baseline)"
		}
		rep.add(r)
	}
	js := float64(t.jsonSize())
	for _, v := range compacted {
		b := bulk[slices.Index(compacted, v)]
		rep.add(row{section: 3, measure: "file size per site, " + v.label() + " (compacted / bulk-written)",
			value:    fmtBytes(float64(v.size)/float64(v.n)) + " / " + fmtBytes(float64(b.size)/float64(b.n)),
			baseline: fmtBytes(js) + " (JSON stored per site)", ratio: fmtRatio(float64(v.size) / float64(v.n) / js)})
	}
	opens := ""
	for i, v := range all {
		if i > 0 {
			opens += ", "
		}
		opens += v.label() + ": " + fmtDur(bench.MedianDuration(v.o50))
	}
	rep.note(3, "%d runs. Each run does, per file, %d look-ups of a random stored site as relationship.get does them "+
		"(`DB.View` + `Tx.RelationshipJSON`: the stored bytes, checked and copied, not decoded), each followed by the same "+
		"look-up decoded (`Tx.Relationship`, as negotiate and the CLI read a relationship), and "+
		"%d writes (`DB.Update` + `Tx.PutRelationship` replacing a random site's relationship, committed with fsync), in %d "+
		"blocks taken round robin across the files, all look-ups before all writes. Each write opens and closes the bbolt "+
		"file, as the host does; look-ups reuse the read-only handle host/store keeps between reads, as a host process "+
		"answering one message after another does (it takes and releases the file's shared lock for every read, so "+
		"concurrent host processes still share the file; the first read of a process opens the file: section 2). Each site stores the "+
		"relationship, its pairwise key and a one-event history (%s template). The compacted files stand for a database "+
		"that grew one site per transaction (bbolt reuses freed pages as it goes); the bulk-written ones for the state "+
		"right after a large import, with many free pages.", c.runs, lookups, writes, blocks, templateKind(t))
	rep.note(3, "A read with nothing to read (`DB.View` with an empty function: shared lock, the file's identity and "+
		"size checked, its header pages too if it was written since the last read, unlock), p50: %s. host/store opens the file read-only "+
		"for reads: a read-write `Open` would load and index the whole freelist every time (bbolt v1.5 db.go: `PreLoadFreelist` "+
		"is forced on unless `ReadOnly`), and look-up cost would follow the number of free pages, not the number of sites.", opens)
	l99 := bench.MedianDuration(last.p99)
	if minorFaults() > 0 {
		faults := ""
		for i, v := range compacted {
			if i > 0 {
				faults += ", "
			}
			faults += fmt.Sprintf("%s %.2f", v.label(), float64(v.faults)/float64(len(v.unfaulted)+len(v.faulted)))
		}
		split := func(v *storeVariant) string {
			return fmt.Sprintf("%s without a fault p50 %s / p99 %s (%d look-ups), with one p50 %s / p99 %s (%d)", v.label(),
				fmtDur(bench.Percentile(v.unfaulted, 0.5)), fmtDur(bench.Percentile(v.unfaulted, 0.99)), len(v.unfaulted),
				fmtDur(bench.Percentile(v.faulted, 0.5)), fmtDur(bench.Percentile(v.faulted, 0.99)), len(v.faulted))
		}
		rep.note(3, "What grows with the file is page faults. The kept handle maps the whole file; the first read of a "+
			"page through the mapping in a process is a minor page fault (the page is in the page cache; the kernel "+
			"maps it and its neighbours), and a random site among many is mostly on a page not read yet. Minor faults "+
			"per look-up (getrusage, the whole bench process: the collector's and other goroutines' are counted too): %s. Look-ups %s; %s. A look-up without a fault costs about the "+
			"same at every size: the growth is the faults, which a user's host takes once per site it reads in a "+
			"session (the handle and its pages are kept while reads follow each other), and which the host before "+
			"the kept handle took on every read.", faults, split(base), split(last))
	}
	if ratiosOf(last.p50, base.p50) > 1.5 || (last.n >= 100000 && l99 >= 200*time.Microsecond) {
		explainStore(c, rep, last.path, last.n, t)
	}
	return nil
}

func templateKind(t *siteData) string {
	if t.synthetic {
		return "a synthetic (policy-package-built)"
	}
	return "the demo shop's real, negotiated"
}

func ratiosOf(a, b []time.Duration) float64 {
	var rs []float64
	for i := range a {
		rs = append(rs, bench.Ratio(float64(a[i]), float64(b[i])))
	}
	return bench.Median(rs)
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func storeBlock(path string, t *siteData, n, lookups, writes int, s *storeSamples) error {
	db := store.New(path)
	for range lookups {
		site := syntheticOrigin(rand.IntN(n))
		f0 := minorFaults()
		t0 := time.Now()
		var raw json.RawMessage
		err := db.View(func(tx *store.Tx) error {
			var err error
			raw, err = tx.RelationshipJSON(site)
			return err
		})
		d := time.Since(t0)
		s.faults = append(s.faults, minorFaults()-f0)
		if err != nil {
			return err
		}
		if !bytes.Contains(raw, []byte(`"site":"`+site+`"`)) {
			return fmt.Errorf("look-up of %s found %.80s", site, raw)
		}
		s.lookups = append(s.lookups, d)

		t0 = time.Now()
		var r *store.Relationship
		err = db.View(func(tx *store.Tx) error {
			var err error
			r, err = tx.Relationship(site)
			return err
		})
		d = time.Since(t0)
		if err != nil {
			return err
		}
		if r == nil || r.Site != site {
			return fmt.Errorf("decoding look-up of %s found %v", site, r)
		}
		s.decoded = append(s.decoded, d)

		t0 = time.Now()
		if err := db.View(func(*store.Tx) error { return nil }); err != nil {
			return err
		}
		s.opens = append(s.opens, time.Since(t0))
	}
	for range writes {
		site := syntheticOrigin(rand.IntN(n))
		rel := t.rel
		rel.Site = site
		rel.Updated = time.Now().UTC()
		t0 := time.Now()
		if err := db.Update(func(tx *store.Tx) error { return tx.PutRelationship(rel) }); err != nil {
			return err
		}
		s.writes = append(s.writes, time.Since(t0))
	}
	return nil
}

// reopenBlock does n look-ups as the host did them before it kept its read
// handle: open the file read-only with bbolt, read the relationship, check
// it as JSON, copy it, close the file (unmapping it). The file's header
// check that preceded each open then is left out, so this is if anything
// faster than that host was.
func reopenBlock(path string, sites, n int, s *storeSamples) error {
	for range n {
		site := syntheticOrigin(rand.IntN(sites))
		t0 := time.Now()
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
		if err != nil {
			return err
		}
		var out []byte
		err = db.View(func(tx *bolt.Tx) error {
			v := tx.Bucket([]byte("relationships")).Get([]byte(site))
			if v == nil || !json.Valid(v) {
				return fmt.Errorf("look-up of %s found %.80q", site, v)
			}
			out = bytes.Clone(v)
			return nil
		})
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		s.reopened = append(s.reopened, time.Since(t0))
		if !bytes.Contains(out, []byte(site)) {
			return fmt.Errorf("look-up of %s found %.80s", site, out)
		}
	}
	return nil
}
