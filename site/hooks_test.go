package site_test

import (
	"errors"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
)

// The Items hook is asked, with the relationship's record and linked
// sessions, for what the application holds; its items come back in the
// data return with the store's. Ended hears of every end, once, with who
// ended it.
func TestHooks(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var asked []site.Relationship
	var ended []string
	failItems := false
	ts := startSite(t, func(c *site.Config) {
		c.Items = func(rel site.Relationship) ([]policy.DataItem, error) {
			mu.Lock()
			defer mu.Unlock()
			asked = append(asked, rel)
			if failItems {
				return nil, errors.New("the shop's database is down")
			}
			return []policy.DataItem{{Type: "order", Time: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Data: map[string]string{"sessions": strings.Join(rel.Sessions, " ")}}}, nil
		}
		c.Ended = func(rel site.Relationship, by string) {
			mu.Lock()
			defer mu.Unlock()
			ended = append(ended, by+" "+rel.Record.Record.ID)
		}
	})
	u := newUser(t)
	rec := agree(t, ts, u, basicOffer)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	ts.page(t, browser, "/", agreedHeader(basicOffer))
	session := jar.Cookies(mustURL(ts.URL))[0].Value

	d := parseDataReturn(t, ts.dataReturn(t, browser, u.request(t, ts, "data-return", rec.ID)))
	if itemTypes(d) != "order,agreement,page-view" || d.Items[0].Data["sessions"] != session {
		t.Fatalf("items %s (%v), want the hook's order first, told of session %s", itemTypes(d), d.Items[0].Data, session)
	}
	if len(asked) != 1 || asked[0].Record.Record.ID != rec.ID || asked[0].Record.Record.Agreement.UserKey != policy.EncodeKey(u.pub) {
		t.Fatalf("hook asked %+v", asked)
	}
	mu.Lock()
	failItems = true
	mu.Unlock()
	errorOf(t, ts.dataReturn(t, nil, u.request(t, ts, "data-return", rec.ID)), 500, policy.CodeInvalid)

	if r := ts.endRequest(t, u.request(t, ts, "end", rec.ID)); r.Status != 200 {
		t.Fatalf("end: %d %s", r.Status, r.Body)
	}
	errorOf(t, ts.endRequest(t, u.request(t, ts, "end", rec.ID)), 410, policy.CodeEnded)
	u2 := newUser(t)
	rec2 := agree(t, ts, u2, basicOffer)
	if err := ts.End(rec2.ID, "closing"); err != nil {
		t.Fatal(err)
	}
	ts.End(rec2.ID, "again")
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"user " + rec.ID, "site " + rec2.ID}; !slices.Equal(ended, want) {
		t.Errorf("ended hook heard %q, want %q", ended, want)
	}
}
