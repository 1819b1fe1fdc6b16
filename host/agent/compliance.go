package agent

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
)

func init() { handlers[proto.TypeComplianceReport] = (*Agent).complianceReport }

// ComplianceResult is the result of compliance.report: the compliance
// events this report added to the site's history (a discrepancy already
// recorded for this page under the same agreement is not recorded again),
// and how many discrepancies the page showed in all.
type ComplianceResult struct {
	Site          string         `json:"site"`
	Discrepancies int            `json:"discrepancies"`
	Recorded      []policy.Event `json:"recorded"`
}

// complianceReport compares what one page of an agreed site loaded with
// the agreement in force (policy.CheckCompliance) and records each
// discrepancy once per page and agreement as a compliance event
// (PROTOCOL.md 12.1). Nothing leaves the machine.
func (a *Agent) complianceReport(_ context.Context, raw json.RawMessage) (any, error) {
	p, err := decode[proto.ComplianceReportParams](raw)
	if err != nil {
		return nil, err
	}
	site, err := parseSite(p.Site)
	if err != nil {
		return nil, err
	}
	obs, err := observation(p)
	if err != nil {
		return nil, err
	}
	res := ComplianceResult{Site: site, Recorded: []policy.Event{}}
	// Most pages show nothing: they cost a read, never a write.
	var found []policy.Discrepancy
	if err := a.DB.View(func(tx *store.Tx) error {
		found, err = a.discrepancies(tx, site, p, obs)
		return err
	}); err != nil {
		return nil, err
	}
	res.Discrepancies = len(found)
	if len(found) == 0 {
		return res, nil
	}
	now := a.now().Truncate(time.Second)
	err = a.DB.Update(func(tx *store.Tx) error {
		res.Recorded = res.Recorded[:0]
		// Read again under the write lock: the agreement may have changed,
		// and another report of the same page may have been recorded.
		found, err := a.discrepancies(tx, site, p, obs)
		if err != nil {
			return err
		}
		rel, err := tx.Relationship(site)
		if err != nil {
			return err
		}
		events, err := tx.History(site)
		if err != nil {
			return err
		}
		known := map[string]bool{}
		for _, e := range events {
			if e.Type == policy.EventCompliance && e.Agreement == rel.Record.ID {
				known[e.Detail] = true
			}
		}
		for _, d := range found {
			if known[d.Detail] {
				continue
			}
			known[d.Detail] = true
			ev, err := tx.AppendEvent(site, policy.Event{Type: policy.EventCompliance, Time: now, Agreement: rel.Record.ID, Detail: d.Detail})
			if err != nil {
				return err
			}
			res.Recorded = append(res.Recorded, ev)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// discrepancies checks obs against site's agreement in force; no_agreement
// when there is none (the report raced a withdrawal, or came from a page
// the extension should not have watched).
func (a *Agent) discrepancies(tx *store.Tx, site string, p *proto.ComplianceReportParams, obs policy.PageObservation) ([]policy.Discrepancy, error) {
	rel, err := tx.Relationship(site)
	if err != nil {
		return nil, err
	}
	if rel == nil || rel.State != store.StateAgreed || rel.Record == nil {
		return nil, proto.Errorf(proto.CodeNoAgreement, "no agreement in force with %s", site)
	}
	// The processors the site names, from the terms document the agreement
	// was made under (the stored one may be newer, pending renegotiation).
	var processors []string
	if rel.SiteTerms != nil && rel.TermsDigest == rel.Record.Agreement.TermsDigest {
		processors = rel.SiteTerms.Processors
	}
	// A Tk answer counts only for the digest in force: one to an earlier
	// agreement's digest says nothing about this one.
	if p.Agreed != rel.AgreedDigest {
		obs.TkSeen, obs.Tk = false, ""
	}
	return policy.CheckCompliance(site, rel.Record.Agreement, processors, obs), nil
}

// observation checks and canonicalises a report's params.
func observation(p *proto.ComplianceReportParams) (policy.PageObservation, error) {
	obs := policy.PageObservation{Page: p.Page}
	if !validPagePath(p.Page) {
		return obs, proto.Errorf(proto.CodeInvalidParams, "page: must be the page's path, starting with \"/\", without query or fragment, at most %d characters", policy.MaxPagePath)
	}
	canon := func(field string, list []string) ([]string, error) {
		if len(list) > policy.MaxObservedOrigins {
			return nil, proto.Errorf(proto.CodeInvalidParams, "%s: at most %d origins", field, policy.MaxObservedOrigins)
		}
		out := make([]string, 0, len(list))
		for i, s := range list {
			o, err := policy.ParseObservedOrigin(s)
			if err != nil {
				return nil, proto.Errorf(proto.CodeInvalidParams, "%s[%d]: %v", field, i, err)
			}
			out = append(out, o)
		}
		return out, nil
	}
	var err error
	if obs.Contacted, err = canon("origins", p.Origins); err != nil {
		return obs, err
	}
	if obs.Cookies, err = canon("cookies", p.Cookies); err != nil {
		return obs, err
	}
	if p.Tk != nil {
		obs.Tk, obs.TkSeen = *p.Tk, true
	}
	return obs, nil
}

// validPagePath: an absolute path of printable ASCII (the browser
// percent-encodes the rest), no query or fragment.
func validPagePath(s string) bool {
	if !strings.HasPrefix(s, "/") || len(s) > policy.MaxPagePath || strings.ContainsAny(s, "?#") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
