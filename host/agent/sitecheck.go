package agent

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/rbutton/rbutton/host/negotiate"
	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
)

// SiteCheckInterval is how long a site check is kept before the site is
// asked again: its statements are fetched at most once a day.
const SiteCheckInterval = 24 * time.Hour

// SiteCheckResult is site.check's result: the stored check, and whether
// it was answered from the store without contacting the site.
type SiteCheckResult struct {
	store.SiteCheck
	Cached bool `json:"cached"`
}

// siteCheck answers what the site says about itself: its gpc.json and its
// MyTerms file, fetched at most once per SiteCheckInterval per site and
// kept. The extension asks only for a site the user is visiting, and never
// while a page loads (PROTOCOL.md 20).
func (a *Agent) siteCheck(ctx context.Context, raw json.RawMessage) (any, error) {
	p, err := decode[proto.SiteCheckParams](raw)
	if err != nil {
		return nil, err
	}
	site, err := parseSite(p.Site)
	if err != nil {
		return nil, err
	}
	path := policy.MyTermsPath
	if p.MyTermsPath != "" {
		if !strings.HasPrefix(p.MyTermsPath, "/") || strings.HasPrefix(p.MyTermsPath, "//") {
			return nil, proto.Errorf(proto.CodeInvalidParams, "mytermsPath %q is not a path on the site", p.MyTermsPath)
		}
		path = p.MyTermsPath
	}
	now := a.now().Truncate(time.Second)
	var prior *store.SiteCheck
	if err := a.DB.View(func(tx *store.Tx) error { prior, err = tx.SiteCheck(site); return err }); err != nil {
		return nil, err
	}
	if prior != nil && now.Before(prior.Next) {
		return SiteCheckResult{SiteCheck: *prior, Cached: true}, nil
	}
	c := store.SiteCheck{Site: site, Checked: now, Next: now.Add(SiteCheckInterval)}
	type gpcOut struct {
		f negotiate.Fetched
		s *policy.GPCStatement
	}
	gpcDone := make(chan gpcOut, 1)
	go func() {
		f, s := a.Client.FetchGPC(ctx, site)
		gpcDone <- gpcOut{f, s}
	}()
	mf, mt := a.Client.FetchMyTerms(ctx, site, path)
	g := <-gpcDone
	c.GPC, c.GPCStatement = store.Statement(g.f), g.s
	c.MyTerms, c.MyTermsFile = store.Statement(mf), mt
	if err := a.DB.Update(func(tx *store.Tx) error { return tx.PutSiteCheck(c) }); err != nil {
		return nil, err
	}
	return SiteCheckResult{SiteCheck: c}, nil
}

// ProfferResult is myterms.proffer's result.
type ProfferResult struct {
	Proffer policy.Proffer `json:"proffer"`
	Event   policy.Event   `json:"event"`
}

// mytermsProffer records, signed with the site's pairwise key, that the
// user proffers one of the agreements the site's MyTerms file lists. The
// site has no signing endpoint: nothing is sent to it.
func (a *Agent) mytermsProffer(_ context.Context, raw json.RawMessage) (any, error) {
	p, err := decode[proto.ProfferParams](raw)
	if err != nil {
		return nil, err
	}
	site, err := parseSite(p.Site)
	if err != nil {
		return nil, err
	}
	r, ok := policy.LookupRoster(p.Agreement)
	if !ok {
		return nil, proto.Errorf(proto.CodeInvalidParams, "agreement %q is not on the IEEE 7012 roster", p.Agreement)
	}
	now := a.now().Truncate(time.Second)
	var res ProfferResult
	err = a.DB.Update(func(tx *store.Tx) error {
		c, err := tx.SiteCheck(site)
		if err != nil {
			return err
		}
		if c == nil || c.MyTermsFile == nil {
			return proto.Errorf(proto.CodeNotSupported, "%s publishes no MyTerms file (as last checked)", site)
		}
		listed := false
		for _, ag := range c.MyTermsFile.Agreements {
			listed = listed || ag.Code == r.Code
		}
		if !listed {
			return proto.Errorf(proto.CodeNotOffered, "%s's MyTerms file does not list %s", site, r.Code)
		}
		key, err := tx.Key(site)
		if err != nil {
			return err
		}
		if key == nil {
			pub, priv, err := policy.NewPairwiseKey()
			if err != nil {
				return err
			}
			key = &store.Key{Public: pub, Private: priv, Created: now}
			if err := tx.PutKey(site, *key); err != nil {
				return err
			}
		}
		pr := policy.Proffer{V: 1, Site: site, Agreement: r.IRI(), FileDigest: c.MyTermsFile.Digest, Created: now, Status: policy.ProfferPending}
		if err := policy.SignProffer(&pr, key.Private); err != nil {
			return err
		}
		id, err := policy.ProfferID(pr)
		if err != nil {
			return err
		}
		if err := tx.AddProffer(site, pr); err != nil {
			return err
		}
		ev, err := tx.AppendEvent(site, policy.Event{Type: policy.EventProffered, Time: now, Agreement: id,
			Detail: "proffered MyTerms agreement " + r.Code + " (listed by the site; not signed by it)"})
		res = ProfferResult{Proffer: pr, Event: ev}
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
