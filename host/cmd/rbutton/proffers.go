package main

import (
	"fmt"

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
