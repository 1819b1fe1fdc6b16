package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rbutton/rbutton/host/agent"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
)

// checkProffers checks the MyTerms proffers and site checks of an export:
// every proffer verifies and is for its site; every check is for its site.
func checkProffers(ex *agent.Export) error {
	for site, ps := range ex.Proffers {
		if c, err := policy.ParseOrigin(site); err != nil || c != site {
			return fmt.Errorf("proffers for invalid site %q", site)
		}
		for i, p := range ps {
			if err := policy.VerifyProffer(p); err != nil {
				return fmt.Errorf("proffers[%s][%d]: %v", site, i, err)
			}
			if p.Site != site {
				return fmt.Errorf("proffers[%s][%d]: the proffer is for %s", site, i, p.Site)
			}
		}
	}
	for site, c := range ex.SiteChecks {
		if o, err := policy.ParseOrigin(site); err != nil || o != site || c.Site != site {
			return fmt.Errorf("siteChecks: invalid site %q", site)
		}
	}
	return nil
}

// importProffers writes the proffers, the histories of sites that have
// proffers but no relationship, and the site checks of an export.
func importProffers(tx *store.Tx, ex *agent.Export) error {
	related := map[string]bool{}
	for _, r := range ex.Relationships {
		related[r.Site] = true
	}
	for site, ps := range ex.Proffers {
		if err := tx.ReplaceProffers(site, ps); err != nil {
			return err
		}
		if !related[site] {
			if err := tx.ReplaceHistory(site, ex.Histories[site]); err != nil {
				return err
			}
		}
	}
	for _, c := range ex.SiteChecks {
		if err := tx.PutSiteCheck(c); err != nil {
			return err
		}
	}
	return nil
}

// profferOnly is a site the user proffered MyTerms agreements to and has no
// relationship with (PROTOCOL.md 9.2): the site has no signing endpoint, so
// the record is one-sided, signed by the user alone.
type profferOnly struct {
	Site     string
	Proffers []policy.Proffer // oldest first; never empty
}

// StateProffered is the state list and show give a proffer-only site.
const StateProffered = "proffered"

// profferOnlySites returns the sites with proffers and no relationship in
// list, in site order.
func profferOnlySites(list []agent.Summary) ([]profferOnly, error) {
	db, err := openDB()
	if err != nil {
		return nil, err
	}
	var all map[string][]policy.Proffer
	if err := db.View(func(tx *store.Tx) error { all, err = tx.AllProffers(); return err }); err != nil {
		return nil, err
	}
	related := map[string]bool{}
	for _, s := range list {
		related[s.Site] = true
	}
	var out []profferOnly
	for site, ps := range all {
		if !related[site] && len(ps) > 0 {
			out = append(out, profferOnly{Site: site, Proffers: ps})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Site < out[j].Site })
	return out, nil
}

// sitesProffers returns site's proffers, oldest first.
func sitesProffers(site string) ([]policy.Proffer, error) {
	db, err := openDB()
	if err != nil {
		return nil, err
	}
	var ps []policy.Proffer
	err = db.View(func(tx *store.Tx) error { ps, err = tx.Proffers(site); return err })
	return ps, err
}

// agreementCodes is the proffered agreements' roster codes, oldest first,
// each once.
func (p profferOnly) agreementCodes() []string {
	seen := map[string]bool{}
	var codes []string
	for _, pr := range p.Proffers {
		c := agreementCode(pr.Agreement)
		if !seen[c] {
			seen[c] = true
			codes = append(codes, c)
		}
	}
	return codes
}

func agreementCode(iri string) string {
	if r, ok := policy.LookupRoster(iri); ok {
		return r.Code
	}
	return iri
}

func (p profferOnly) last() time.Time { return p.Proffers[len(p.Proffers)-1].Created }

// summary is p as a row of rbutton list.
func (p profferOnly) summary() agent.Summary {
	return agent.Summary{Site: p.Site, State: StateProffered, Since: p.Proffers[0].Created, Updated: p.last(),
		Offer: "MyTerms " + strings.Join(p.agreementCodes(), ", ")}
}

// profferWords says one proffer in words: what, when, and that the site
// has not signed it.
func profferWords(pr policy.Proffer) string {
	verifies := "your signature verifies"
	if err := policy.VerifyProffer(pr); err != nil {
		verifies = "your signature does NOT verify: " + err.Error()
	}
	what := agreementCode(pr.Agreement)
	if r, ok := policy.LookupRoster(pr.Agreement); ok && r.Title != "" {
		what += " (" + r.Title + ")"
	}
	status := "pending"
	if pr.Status != policy.ProfferPending {
		status = pr.Status[strings.LastIndexAny(pr.Status, "#/")+1:]
	}
	return fmt.Sprintf("MyTerms %s on %s; the site has not signed it (%s); %s",
		what, pr.Created.Local().Format(time.DateTime), status, verifies)
}

func (p profferOnly) show() {
	fmt.Printf("site:       %s\n", p.Site)
	fmt.Printf("state:      %s: you proffered %s; no agreement signed by both sides (a one-sided record, signed by you)\n",
		StateProffered, "MyTerms "+strings.Join(p.agreementCodes(), ", "))
	fmt.Printf("since:      %s\n", p.Proffers[0].Created.Local().Format(time.DateTime))
	fmt.Printf("updated:    %s\n", p.last().Local().Format(time.DateTime))
	for _, pr := range p.Proffers {
		fmt.Printf("proffered:  %s\n", profferWords(pr))
	}
}

// json is what show --json prints for p.
func (p profferOnly) json() any {
	return struct {
		Site     string           `json:"site"`
		State    string           `json:"state"`
		Proffers []policy.Proffer `json:"proffers"`
	}{p.Site, StateProffered, p.Proffers}
}
