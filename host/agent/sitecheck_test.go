package agent

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rbutton/rbutton/host/negotiate"
	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
)

// statementSite serves fixed answers per path and counts requests; it
// fails the test if a request carries a cookie.
type statementSite struct {
	t      *testing.T
	mu     sync.Mutex
	answer map[string]func(w http.ResponseWriter)
	hits   map[string]int
	origin string
}

func newStatementSite(t *testing.T) *statementSite {
	s := &statementSite{t: t, answer: map[string]func(http.ResponseWriter){}, hits: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Cookie") != "" || r.Header.Get("Authorization") != "" {
			t.Errorf("%s carried credentials", r.URL.Path)
		}
		s.mu.Lock()
		s.hits[r.URL.Path]++
		f := s.answer[r.URL.Path]
		s.mu.Unlock()
		if f == nil {
			http.NotFound(w, r)
			return
		}
		f(w)
	}))
	t.Cleanup(srv.Close)
	s.origin = srv.URL
	return s
}

func (s *statementSite) serveJSON(path, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer[path] = func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}
}

func (s *statementSite) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

const myTermsFile = `{"effective_date": "Tue, 13 Jan 2026 10:00:00 +0000",
 "agreements": [{"id": "SD-BASE", "url": "https://myterms.info/agreements/SD-BASE"}, {"id": "SD-BASE-A-DP"}, {"id": "PDC-AI"}],
 "tos_url": "https://example.test/terms", "tos": "<p>…</p>"}`

func TestSiteCheckFetchesOnceADay(t *testing.T) {
	t.Parallel()
	s := newStatementSite(t)
	s.serveJSON("/.well-known/gpc.json", `{"gpc": true, "lastUpdate": "2026-01-13"}`)
	s.serveJSON("/.well-known/myterms.json", myTermsFile)
	a := newAgent(t)
	clock := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	a.Now = func() time.Time { return clock }

	c := mustCall[SiteCheckResult](t, a, proto.TypeSiteCheck, map[string]string{"site": s.origin})
	if c.Cached || c.GPC.State != negotiate.StatementFound || c.GPCStatement == nil || !c.GPCStatement.GPC || c.GPCStatement.LastUpdate != "2026-01-13" {
		t.Fatalf("gpc: %+v %+v", c.GPC, c.GPCStatement)
	}
	if c.MyTerms.State != negotiate.StatementFound || c.MyTermsFile == nil || len(c.MyTermsFile.Agreements) != 3 || c.MyTermsFile.Agreements[1].Code != "SD-BASE-A-DP" {
		t.Fatalf("myterms: %+v %+v", c.MyTerms, c.MyTermsFile)
	}
	clock = clock.Add(23 * time.Hour)
	c = mustCall[SiteCheckResult](t, a, proto.TypeSiteCheck, map[string]string{"site": s.origin})
	if !c.Cached || s.count("/.well-known/gpc.json") != 1 || s.count("/.well-known/myterms.json") != 1 {
		t.Fatalf("second check within a day contacted the site: cached=%v hits=%v", c.Cached, s.hits)
	}
	// A day later the site has dropped its statement.
	s.mu.Lock()
	delete(s.answer, "/.well-known/gpc.json")
	s.mu.Unlock()
	clock = clock.Add(time.Hour)
	c = mustCall[SiteCheckResult](t, a, proto.TypeSiteCheck, map[string]string{"site": s.origin})
	if c.Cached || c.GPC.State != negotiate.StatementAbsent || c.GPCStatement != nil || s.count("/.well-known/gpc.json") != 2 {
		t.Fatalf("after a day: %+v hits=%v", c, s.hits)
	}
}

func TestSiteCheckHostileAnswers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		answer func(w http.ResponseWriter)
		state  string
	}{
		{"not JSON", func(w http.ResponseWriter) { _, _ = w.Write([]byte("<html>hello</html>")) }, negotiate.StatementInvalid},
		{"gpc as a string", func(w http.ResponseWriter) { _, _ = w.Write([]byte(`{"gpc": "yes"}`)) }, negotiate.StatementInvalid},
		{"huge", func(w http.ResponseWriter) { _, _ = w.Write([]byte(strings.Repeat(" ", policy.MaxMyTermsFile+10))) }, negotiate.StatementInvalid},
		{"redirect", func(w http.ResponseWriter) {
			w.Header().Set("Location", "https://elsewhere.test/gpc.json")
			w.WriteHeader(http.StatusFound)
		}, negotiate.StatementAbsent},
		{"server error", func(w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) }, negotiate.StatementUnreachable},
		{"gone", func(w http.ResponseWriter) { w.WriteHeader(http.StatusGone) }, negotiate.StatementAbsent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStatementSite(t)
			s.answer["/.well-known/gpc.json"] = tc.answer
			s.answer["/.well-known/myterms.json"] = tc.answer
			a := newAgent(t)
			c := mustCall[SiteCheckResult](t, a, proto.TypeSiteCheck, map[string]string{"site": s.origin})
			if c.GPC.State != tc.state || c.MyTerms.State != tc.state || c.GPCStatement != nil || c.MyTermsFile != nil {
				t.Errorf("got gpc %+v, myterms %+v; want %s", c.GPC, c.MyTerms, tc.state)
			}
			if c.GPC.Detail == "" {
				t.Error("no detail for the popup")
			}
		})
	}
}

func TestSiteCheckUnreachableAndLinkPath(t *testing.T) {
	t.Parallel()
	a := newAgent(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	origin := srv.URL
	srv.Close()
	c := mustCall[SiteCheckResult](t, a, proto.TypeSiteCheck, map[string]string{"site": origin})
	if c.GPC.State != negotiate.StatementUnreachable || c.MyTerms.State != negotiate.StatementUnreachable {
		t.Errorf("closed server: %+v", c)
	}

	s := newStatementSite(t)
	s.serveJSON("/terms/mine.json", myTermsFile)
	c = mustCall[SiteCheckResult](t, a, proto.TypeSiteCheck, map[string]string{"site": s.origin, "mytermsPath": "/terms/mine.json"})
	if c.MyTermsFile == nil || c.MyTerms.Path != "/terms/mine.json" {
		t.Errorf("link path: %+v", c.MyTerms)
	}
	for _, bad := range []string{"https://elsewhere.test/x.json", "//elsewhere.test/x.json", "x.json"} {
		if _, perr := call(t, a, proto.TypeSiteCheck, map[string]string{"site": s.origin, "mytermsPath": bad}); perr == nil || perr.Code != proto.CodeInvalidParams {
			t.Errorf("mytermsPath %q: %v", bad, perr)
		}
	}
	if _, perr := call(t, a, proto.TypeSiteCheck, map[string]string{"site": "http://example.com"}); perr == nil || perr.Code != proto.CodeInvalidSite {
		t.Errorf("plain http to a public host: %v", perr)
	}
}

func TestMyTermsProffer(t *testing.T) {
	t.Parallel()
	s := newStatementSite(t)
	s.serveJSON("/.well-known/myterms.json", myTermsFile)
	a := newAgent(t)

	if _, perr := call(t, a, proto.TypeMyTermsProffer, map[string]string{"site": s.origin, "agreement": "SD-BASE"}); perr == nil || perr.Code != proto.CodeNotSupported {
		t.Fatalf("proffer before any check: %v", perr)
	}
	mustCall[SiteCheckResult](t, a, proto.TypeSiteCheck, map[string]string{"site": s.origin})
	if _, perr := call(t, a, proto.TypeMyTermsProffer, map[string]string{"site": s.origin, "agreement": "SD-BASE-ATP"}); perr == nil || perr.Code != proto.CodeNotOffered {
		t.Fatalf("proffer of an agreement the site does not list: %v", perr)
	}
	if _, perr := call(t, a, proto.TypeMyTermsProffer, map[string]string{"site": s.origin, "agreement": "SD-NOPE"}); perr == nil || perr.Code != proto.CodeInvalidParams {
		t.Fatalf("proffer of an unknown agreement: %v", perr)
	}
	before := s.count("/.well-known/myterms.json")
	res := mustCall[ProfferResult](t, a, proto.TypeMyTermsProffer, map[string]string{"site": s.origin, "agreement": policy.P7012Base + "SD-BASE-A-DP"})
	if err := policy.VerifyProffer(res.Proffer); err != nil {
		t.Fatalf("proffer does not verify: %v", err)
	}
	if res.Proffer.Agreement != policy.P7012Base+"SD-BASE-A-DP" || res.Proffer.FileDigest != policy.Digest([]byte(myTermsFile)) || res.Proffer.Status != policy.ProfferPending {
		t.Errorf("proffer: %+v", res.Proffer)
	}
	if id, _ := policy.ProfferID(res.Proffer); res.Event.Agreement != id || res.Event.Type != policy.EventProffered {
		t.Errorf("event %+v does not name proffer %s", res.Event, id)
	}
	if s.count("/.well-known/myterms.json") != before {
		t.Error("proffering contacted the site")
	}
	if got := history(t, a, s.origin); len(got) != 1 || got[0] != policy.EventProffered {
		t.Errorf("history: %v", got)
	}
	var key *store.Key
	_ = a.DB.View(func(tx *store.Tx) (err error) { key, err = tx.Key(s.origin); return })
	if key == nil || policy.EncodeKey(key.Public) != res.Proffer.UserKey {
		t.Error("the proffer is not signed with the stored pairwise key")
	}
	ex := mustCall[Export](t, a, proto.TypeExport, map[string]string{})
	if len(ex.Proffers[s.origin]) != 1 || len(ex.Histories[s.origin]) != 1 || ex.SiteChecks[s.origin].MyTermsFile == nil {
		t.Errorf("export lacks the proffer, its history or the check: %+v", ex)
	}
	var found bool
	if err := a.DB.Update(func(tx *store.Tx) (err error) { found, err = tx.Forget(s.origin); return }); err != nil || !found {
		t.Fatal(err)
	}
	ex = mustCall[Export](t, a, proto.TypeExport, map[string]string{})
	if len(ex.Proffers) != 0 || len(ex.SiteChecks) != 0 || len(ex.Histories) != 0 {
		t.Errorf("forget left: %+v", ex)
	}
}
