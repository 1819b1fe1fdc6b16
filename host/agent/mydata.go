package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
)

// What the user keeps: every data return and every record, checked offline
// (Verify). The user's own details are in profile.go.

func init() {
	handlers[proto.TypeDataGet] = (*Agent).dataGet
	handlers[proto.TypeRecordsGet] = (*Agent).recordsGet
	handlers[proto.TypeProfileGet] = (*Agent).profileGet
	handlers[proto.TypeProfileSet] = (*Agent).profileSet
	handlers[proto.TypeProfileShare] = (*Agent).profileShare
	handlers[proto.TypeProfilePush] = (*Agent).profilePush
	handlers[proto.TypeProfileDefault] = (*Agent).profileDefault
	networked[proto.TypeProfileShare] = true
	networked[proto.TypeProfilePush] = true
}

// Ways a data return reached the host.
const (
	ViaHost    = "host"    // data.fetch: rbutton asked, without cookies
	ViaBrowser = "browser" // data.accept: the extension asked, with the site's cookies
)

// KeptData is the result of data.get: the data returns kept for a site,
// oldest first, each with what changed since the one before.
type KeptData struct {
	Site    string       `json:"site"`
	Total   int          `json:"total"`
	Returns []ReturnView `json:"returns"`
}

// ReturnView is one kept data return.
type ReturnView struct {
	Seq        int               `json:"seq"`
	Received   time.Time         `json:"received"`
	Record     string            `json:"record"`
	Via        string            `json:"via"`
	Generated  time.Time         `json:"generated"`
	Controller policy.Controller `json:"controller"`
	Items      []policy.DataItem `json:"items"`
	// Changes compares with the previous return; null for the first.
	Changes *Changes `json:"changes"`
}

// Changes is what a data return holds that the previous one did not
// (Added), what the previous one held that it does not (Removed), and how
// many items both hold.
type Changes struct {
	Added     []policy.DataItem `json:"added"`
	Removed   []policy.DataItem `json:"removed"`
	Unchanged int               `json:"unchanged"`
}

// DataGetParams is data.get's params: Last limits the result to the newest
// returns (0: all).
type DataGetParams struct {
	Site string `json:"site" validate:"required,max=300"`
	Last int    `json:"last,omitempty" validate:"min=0,max=1000"`
}

func itemKey(it policy.DataItem) string {
	b, _ := policy.Canonical(it)
	return string(b)
}

// Diff compares two data returns' items as multisets of canonical items.
func Diff(prev, cur []policy.DataItem) *Changes {
	count := map[string]int{}
	for _, it := range prev {
		count[itemKey(it)]++
	}
	c := &Changes{Added: []policy.DataItem{}, Removed: []policy.DataItem{}}
	for _, it := range cur {
		k := itemKey(it)
		if count[k] > 0 {
			count[k]--
			c.Unchanged++
		} else {
			c.Added = append(c.Added, it)
		}
	}
	for _, it := range prev {
		k := itemKey(it)
		if count[k] > 0 {
			count[k]--
			c.Removed = append(c.Removed, it)
		}
	}
	return c
}

// ReturnViews turns kept returns into views with their changes.
func ReturnViews(kept []store.KeptReturn) []ReturnView {
	out := make([]ReturnView, 0, len(kept))
	for i, k := range kept {
		items := k.Return.Items
		if items == nil {
			items = []policy.DataItem{}
		}
		v := ReturnView{Seq: k.Seq, Received: k.Received, Record: k.Record, Via: k.Via, Generated: k.Return.Generated,
			Controller: k.Return.Controller, Items: items}
		if i > 0 {
			v.Changes = Diff(kept[i-1].Return.Items, k.Return.Items)
		}
		out = append(out, v)
	}
	return out
}

func (a *Agent) dataGet(_ context.Context, raw json.RawMessage) (any, error) {
	p, err := decode[DataGetParams](raw)
	if err != nil {
		return nil, err
	}
	site, err := parseSite(p.Site)
	if err != nil {
		return nil, err
	}
	var kept []store.KeptReturn
	if err := a.DB.View(func(tx *store.Tx) error {
		kept, err = tx.Returns(site)
		return err
	}); err != nil {
		return nil, err
	}
	views := ReturnViews(kept)
	if p.Last > 0 && len(views) > p.Last {
		views = views[len(views)-p.Last:]
	}
	return KeptData{Site: site, Total: len(kept), Returns: views}, nil
}

// dataReturned keeps a data return and records it in the site's history.
func (a *Agent) dataReturned(site, recordID, via string, dr *policy.DataReturn) (*policy.DataReturn, error) {
	now := a.now()
	err := a.DB.Update(func(tx *store.Tx) error {
		prev, err := tx.Returns(site)
		if err != nil {
			return err
		}
		detail := fmt.Sprintf("%d item(s) returned", len(dr.Items))
		if len(prev) > 0 {
			c := Diff(prev[len(prev)-1].Return.Items, dr.Items)
			detail += fmt.Sprintf("; since the previous return: %d new, %d gone", len(c.Added), len(c.Removed))
		}
		if _, err := tx.AppendReturn(site, store.KeptReturn{Received: now, Record: recordID, Via: via, Return: *dr}); err != nil {
			return err
		}
		_, err = tx.AppendEvent(site, policy.Event{Type: policy.EventDataReturned, Time: now, Agreement: recordID, Detail: detail})
		return err
	})
	if err != nil {
		return nil, err
	}
	return dr, nil
}

// RecordView is one kept record: whether it is the one in force, and
// whether it verifies (id and both signatures).
type RecordView struct {
	Record   policy.Record `json:"record"`
	Stored   time.Time     `json:"stored"`
	InForce  bool          `json:"inForce"`
	Verified bool          `json:"verified"`
	Problem  string        `json:"problem,omitempty"`
}

// RecordsResult is the result of records.get.
type RecordsResult struct {
	Site    string       `json:"site"`
	Records []RecordView `json:"records"`
}

func (a *Agent) recordsGet(_ context.Context, raw json.RawMessage) (any, error) {
	site, err := decodeSite(raw)
	if err != nil {
		return nil, err
	}
	res := RecordsResult{Site: site, Records: []RecordView{}}
	err = a.DB.View(func(tx *store.Tx) error {
		rel, err := tx.Relationship(site)
		if err != nil {
			return err
		}
		kept, err := keptRecords(tx, site, rel)
		for _, k := range kept {
			v := RecordView{Record: k.Record, Stored: k.Stored, Verified: true}
			v.InForce = rel != nil && rel.State == store.StateAgreed && rel.Record != nil && rel.Record.ID == k.Record.ID
			if p := recordProblem(site, k.Record); p != "" {
				v.Verified, v.Problem = false, p
			}
			res.Records = append(res.Records, v)
		}
		return err
	})
	return res, err
}

// keptRecords returns the site's kept records, plus the relationship's
// record if an older rbutton stored it only there.
func keptRecords(tx *store.Tx, site string, rel *store.Relationship) ([]store.KeptRecord, error) {
	kept, err := tx.Records(site)
	if err != nil {
		return nil, err
	}
	if rel != nil && rel.Record != nil {
		found := false
		for _, k := range kept {
			found = found || k.Record.ID == rel.Record.ID
		}
		if !found {
			kept = append(kept, store.KeptRecord{V: 1, Stored: rel.Updated, Record: *rel.Record})
		}
	}
	return kept, nil
}

// recordProblem says in words what is wrong with a kept record ("" if
// nothing): its id, its signatures, or the site it names.
func recordProblem(site string, r policy.Record) string {
	if err := policy.VerifyRecord(r); err != nil {
		return err.Error()
	}
	if r.Agreement.Site != site {
		return fmt.Sprintf("the record is for %s, not %s", r.Agreement.Site, site)
	}
	return ""
}

// SiteCheck is what Verify found for one site.
type SiteCheck struct {
	Site     string        `json:"site"`
	Records  []RecordCheck `json:"records"`
	Events   int           `json:"events"`
	Chain    string        `json:"chain,omitempty"` // problem with the hash chain, "" when it verifies
	Returns  int           `json:"returns"`
	Problems []string      `json:"problems"` // everything that fails, in words
	Notes    []string      `json:"notes"`    // what could not be checked, in words
}

// RecordCheck is one record's outcome.
type RecordCheck struct {
	ID      string `json:"id"`
	InForce bool   `json:"inForce"`
	Problem string `json:"problem,omitempty"`
}

// OK reports whether everything checked for the site holds.
func (c SiteCheck) OK() bool { return len(c.Problems) == 0 }

// Verify checks, offline, every stored record's id and both signatures,
// every history chain, and that the history and the data returns name
// records that are kept. site "" checks every site.
func Verify(db *store.DB, site string) ([]SiteCheck, error) {
	var out []SiteCheck
	err := db.View(func(tx *store.Tx) error {
		sites := []string{site}
		if site == "" {
			set := map[string]bool{}
			rels, err := tx.Relationships()
			if err != nil {
				return err
			}
			for _, r := range rels {
				set[r.Site] = true
			}
			for _, list := range []func() ([]string, error){tx.RecordSites, tx.ReturnSites} {
				more, err := list()
				if err != nil {
					return err
				}
				for _, s := range more {
					set[s] = true
				}
			}
			sites = sites[:0]
			for s := range set {
				sites = append(sites, s)
			}
			sort.Strings(sites)
		}
		for _, s := range sites {
			c, err := verifySite(tx, s)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

func verifySite(tx *store.Tx, site string) (SiteCheck, error) {
	c := SiteCheck{Site: site, Records: []RecordCheck{}, Problems: []string{}, Notes: []string{}}
	rel, err := tx.Relationship(site)
	if err != nil {
		return c, err
	}
	kept, err := keptRecords(tx, site, rel)
	if err != nil {
		return c, err
	}
	ids, bad := map[string]bool{}, map[string]bool{}
	for _, k := range kept {
		rc := RecordCheck{ID: k.Record.ID, Problem: recordProblem(site, k.Record)}
		rc.InForce = rel != nil && rel.State == store.StateAgreed && rel.Record != nil && rel.Record.ID == k.Record.ID
		if rc.Problem != "" {
			c.Problems = append(c.Problems, "record "+short(k.Record.ID)+": "+rc.Problem)
			bad[k.Record.ID] = true
		} else {
			ids[k.Record.ID] = true
		}
		c.Records = append(c.Records, rc)
	}
	events, err := tx.History(site)
	if err != nil {
		return c, err
	}
	c.Events = len(events)
	if verr := policy.VerifyChain(events); verr != nil {
		c.Chain = verr.Error()
		c.Problems = append(c.Problems, "history: "+verr.Error())
	}
	missing := bad // a record that fails is reported once, as a problem
	for _, e := range events {
		if e.Agreement != "" && !ids[e.Agreement] && !missing[e.Agreement] {
			missing[e.Agreement] = true
			c.Notes = append(c.Notes, fmt.Sprintf("history event %d names record %s, which is not kept here", e.Seq, short(e.Agreement)))
		}
	}
	returns, err := tx.Returns(site)
	if err != nil {
		return c, err
	}
	c.Returns = len(returns)
	for _, r := range returns {
		if r.Return.Record != r.Record {
			c.Problems = append(c.Problems, fmt.Sprintf("data return %d is for record %s but was kept under %s", r.Seq, short(r.Return.Record), short(r.Record)))
		} else if !ids[r.Record] && !missing[r.Record] {
			missing[r.Record] = true
			c.Notes = append(c.Notes, fmt.Sprintf("data return %d was made under record %s, which is not kept here", r.Seq, short(r.Record)))
		}
	}
	return c, nil
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12] + "…"
	}
	return id
}

// joinFields renders detail names for history details.
func joinFields(fs []string) string { return strings.Join(fs, ", ") }

// exportMine adds what the user keeps to an export.
func exportMine(tx *store.Tx, ex *Export) error {
	ex.Records, ex.Returns = map[string][]store.KeptRecord{}, map[string][]store.KeptReturn{}
	sites, err := tx.RecordSites()
	if err != nil {
		return err
	}
	for _, s := range sites {
		if ex.Records[s], err = tx.Records(s); err != nil {
			return err
		}
	}
	if sites, err = tx.ReturnSites(); err != nil {
		return err
	}
	for _, s := range sites {
		if ex.Returns[s], err = tx.Returns(s); err != nil {
			return err
		}
	}
	if ex.Profile, err = tx.Profile(); err != nil {
		return err
	}
	ex.Shares, err = tx.Shares()
	return err
}
