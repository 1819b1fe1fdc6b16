package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
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

	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
)

// push measures section 8: "update once, everywhere". N vendors (the site
// library, each on its own loopback port: N distinct origins) run in this
// process; the user's database holds one agreed relationship with each,
// every one holding the user's e-mail address. The measured step is the
// real command a user runs, `bin/rbutton profile set email=…`, which stores
// the new address and pushes a signed update to all N sites with bounded
// concurrency. Reported: wall time for N = 1,000 (aim < 10 s), the host's
// peak RSS at N = 1,000 against N = 100 (aim: flat, < 1.5×), and how often
// the progress figure moved. The command runs in its own process, so its
// peak is its own (see peakWatcher), not this process's with the vendors. Setup (the relationships and the vendors'
// records) is made directly with both sides' keys, not timed.
func push(ctx context.Context, c *config, rep *report) error {
	if err := needBinary(c.rbutton); err != nil {
		return err
	}
	big, small := 1000, 100
	if c.quick {
		big, small = 200, 20
	}
	var bigTimes []time.Duration
	var bigRSS, smallRSS, bigAnon, smallAnon []float64
	var moves []int
	var delivered int
	for _, n := range []int{small, big} {
		f, err := newPushFixture(c, n)
		if err != nil {
			return err
		}
		for run := 0; run < c.runs; run++ {
			if err := ctx.Err(); err != nil {
				f.close()
				return err
			}
			email := fmt.Sprintf("run%d-%d@example.org", n, run)
			res, err := f.pushOnce(ctx, email)
			if err != nil {
				f.close()
				return err
			}
			if res.delivered != n {
				f.close()
				return fmt.Errorf("N=%d run %d: %d of %d sites took the update (vendors saw %d)", n, run, res.delivered, n, f.took.Load())
			}
			if n == big {
				bigTimes = append(bigTimes, res.wall)
				bigRSS = append(bigRSS, res.rss)
				bigAnon = append(bigAnon, res.anon)
				moves = append(moves, res.progress)
				delivered = res.delivered
			} else {
				smallRSS = append(smallRSS, res.rss)
				smallAnon = append(smallAnon, res.anon)
			}
		}
		f.close()
	}
	med := median(bigTimes)
	rep.add(row{section: 8, measure: fmt.Sprintf("push one changed detail to %d relationships (`rbutton profile set`)", big),
		value: fmtDur(med), baseline: spreadDur(bigTimes), aim: "< 10 s", met: yesNo(med < 10*time.Second)})
	rb, rs := medianF(bigRSS), medianF(smallRSS)
	ratio := rb / rs
	rep.add(row{section: 8, measure: fmt.Sprintf("host peak RSS, %d vs %d relationships", big, small),
		value: fmtBytes(rb), baseline: fmtBytes(rs), ratio: fmtRatio(ratio), aim: "flat (< 1.5×)", met: yesNo(ratio < 1.5)})
	rep.add(row{section: 8, measure: "progress reports during the push", value: fmt.Sprintf("%d", slices.Min(moves)),
		aim: "moves (> 1)", met: yesNo(slices.Min(moves) > 1)})
	rep.note(8, "Each run changes the e-mail address and runs `bin/rbutton profile set email=…` against a database holding %d agreed relationships, one per vendor origin (%d site-library vendors on distinct loopback ports in the bench process), each holding the address: the command stores it, marks every site owed the update and pushes signed updates %d at a time, storing outcomes in batches. %d of %d sites took each update. Wall time is the whole command. Peak RSS is the command's own high-water mark (VmHWM of its process, sampled every %s until it exits; getrusage would report the bench process's peak, which a child inherits at exec): %s more for %d more relationships, %s per relationship. Of that, anonymous memory (Go heap and stacks; RssAnon's highest sample) went from %s to %s; the rest is the database file's pages, mapped by bbolt as the command reads every relationship. Progress is the number of distinct `pushed to N of M` lines the command printed.",
		big, big, 16, delivered, big, peakSampleEvery, fmtBytes(rb-rs), big-small, fmtBytes((rb-rs)/float64(big-small)),
		fmtBytes(medianF(smallAnon)), fmtBytes(medianF(bigAnon)))
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianF(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

type pushFixture struct {
	c       *config
	dir, db string
	servers []*http.Server
	took    atomic.Int64
}

type pushResult struct {
	wall      time.Duration
	rss       float64
	anon      float64 // highest anonymous memory sampled (no mapped files)
	progress  int
	delivered int
}

var benchOffer = policy.Offer{ID: "basic", Summary: "service and first-party analytics",
	Terms: policy.Terms{Tracking: policy.TrackingFirstParty, Purposes: []policy.Purpose{policy.PurposeService, policy.PurposeAnalytics},
		Sharing: policy.SharingProcessors, Retention: "P30D", Identity: policy.IdentityPseudonymous, Contact: policy.ContactTransactional},
	Obligations: policy.Obligations{Access: policy.LevelOnRequest, Deletion: policy.LevelOnRequest, DataReturn: policy.LevelOnRequest}}

// newPushFixture starts n vendors and writes a database in which the user
// has agreed with each and given each their e-mail address.
func newPushFixture(c *config, n int) (*pushFixture, error) {
	f := &pushFixture{c: c, dir: filepath.Join(c.scratch, fmt.Sprintf("push-%d", n))}
	f.db = filepath.Join(f.dir, "rbutton.db")
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	type rel struct {
		site string
		rec  policy.Record
		doc  *policy.TermsDocument
		pub  ed25519.PublicKey
		priv ed25519.PrivateKey
	}
	rels := make([]rel, 0, n)
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			f.close()
			return nil, err
		}
		origin := "http://" + ln.Addr().String()
		_, sitePriv, _ := ed25519.GenerateKey(nil)
		v, err := site.New(site.Config{Origin: origin, Controller: policy.Controller{Name: fmt.Sprintf("Vendor %d", i), Contact: "privacy@vendor.test"},
			PolicyURL: "https://vendor.test/privacy", Offers: []policy.Offer{benchOffer}, PrivateKey: sitePriv,
			RateLimit: site.RateLimit{Every: -1},
			Details:   func(site.DetailsUpdate) error { f.took.Add(1); return nil }})
		if err != nil {
			ln.Close()
			f.close()
			return nil, err
		}
		srv := &http.Server{Handler: v.Handler(), ReadHeaderTimeout: 5 * time.Second}
		f.servers = append(f.servers, srv)
		go srv.Serve(ln)
		doc, _, digest := v.Terms()
		userPub, userPriv, err := policy.NewPairwiseKey()
		if err != nil {
			f.close()
			return nil, err
		}
		a := policy.Agreement{V: 1, Site: origin, TermsDigest: digest, Offer: benchOffer.ID, Terms: benchOffer.Terms, Obligations: benchOffer.Obligations,
			UserKey: policy.EncodeKey(userPub), SiteKey: v.PublicKey(), Nonce: policy.NewNonce(), Created: now}
		us, err1 := policy.SignAgreement(a, userPriv)
		ss, err2 := policy.SignAgreement(a, sitePriv)
		rec, err3 := policy.NewRecord(a, us, ss)
		if err := firstErr(err1, err2, err3); err != nil {
			f.close()
			return nil, err
		}
		if err := v.Store().Exchange(rec.Agreement.UserKey, func(tx site.Tx) error { return tx.AddRecord(site.StoredRecord{Record: rec}) }); err != nil {
			f.close()
			return nil, err
		}
		rels = append(rels, rel{origin, rec, doc, userPub, userPriv})
	}
	db := store.New(f.db)
	err := db.Update(func(tx *store.Tx) error {
		if err := tx.PutProfile(store.Profile{Details: policy.Details{Email: "start@example.org"}, Updated: now}); err != nil {
			return err
		}
		for _, r := range rels {
			r := r
			if err := tx.PutKey(r.site, store.Key{Public: r.pub, Private: r.priv, Created: now}); err != nil {
				return err
			}
			if err := tx.PutRelationship(store.Relationship{Site: r.site, State: store.StateAgreed, Since: now, Updated: now,
				TermsDigest: r.rec.Agreement.TermsDigest, AgreedDigest: policy.AgreedDigest(r.rec.Agreement.Terms, r.rec.Agreement.Obligations),
				SiteTerms: r.doc, Record: &r.rec, Verified: true, Offer: &benchOffer}); err != nil {
				return err
			}
			if err := tx.PutRecord(r.site, r.rec, now); err != nil {
				return err
			}
			if err := tx.PutShare(r.site, store.Share{Since: map[string]time.Time{policy.DetailEmail: now},
				Delivered: policy.Details{Email: "start@example.org"}, DeliveredAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.close()
		return nil, fmt.Errorf("writing the push fixture: %w", err)
	}
	return f, nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (f *pushFixture) close() {
	for _, s := range f.servers {
		s.Close()
	}
}

// pushOnce runs `rbutton profile set email=…` and reads its outcome.
func (f *pushFixture) pushOnce(ctx context.Context, email string) (pushResult, error) {
	var res pushResult
	cmd := exec.CommandContext(ctx, f.c.rbutton, "profile", "set", "email="+email)
	cmd.Env = append(os.Environ(), hostEnv(f.dir, f.db)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return res, err
	}
	var out strings.Builder
	cmd.Stdout = &out
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return res, err
	}
	watch := watchPeak(cmd.Process.Pid)
	seen := map[string]bool{}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if l := sc.Text(); strings.Contains(l, "pushed to ") && !seen[l] {
			seen[l] = true
			res.progress++
		}
	}
	err = cmd.Wait()
	res.wall = time.Since(t0)
	res.rss, res.anon = watch.peak()
	for _, l := range strings.Split(out.String(), "\n") {
		if _, rest, ok := strings.Cut(l, "updated "); ok && strings.Contains(rest, " of ") {
			fmt.Sscanf(rest, "%d of", &res.delivered)
		}
	}
	if err != nil && res.delivered == 0 {
		return res, fmt.Errorf("rbutton profile set: %v\n%s", err, lastLines(out.String(), 5))
	}
	return res, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
