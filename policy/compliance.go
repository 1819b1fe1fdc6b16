package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// The compliance watch (PROTOCOL.md 12.1): what one page of an agreed site
// was seen to do, compared with the agreement in force.

// Terms a compliance discrepancy can name besides the vocabulary's
// dimensions: the site's Tk answer (PROTOCOL.md 4).
const TermTk = "Tk"

// Limits of one page observation (PROTOCOL.md 20, compliance.report).
const (
	MaxObservedOrigins = 64
	MaxPagePath        = 200
)

// PageObservation is what the agent saw one page of an agreed site do. The
// extension collects it from the page's own Resource Timing entries and the
// document's response (no full URLs: origins and the page's path only).
type PageObservation struct {
	// Page is the path of the page (no query or fragment).
	Page string
	// Contacted are the origins the page's resources came from.
	Contacted []string
	// Cookies are third-party origins seen setting a cookie on this page.
	Cookies []string
	// Tk is the site's Tk answer to the page's document request, which
	// carried the agreed digest; TkSeen is false when it was not observed.
	Tk     string
	TkSeen bool
}

// Discrepancy is one thing a page did that the agreement does not allow.
type Discrepancy struct {
	// Term is the agreement's term concerned: DimSharing, or TermTk.
	Term string
	// Origin is the origin concerned: the third party, or the site itself
	// for its Tk answer.
	Origin string
	// Detail is the evidence in words, for the history (at most 1000 chars).
	Detail string
}

// SameParty reports whether two canonical origins belong to the same
// party: the same host, or DNS names under the same registrable domain
// (eTLD+1 by the Public Suffix List: www.shop.example and
// cdn.shop.example). Ports and schemes do not separate DNS names. For IP
// addresses and names with no registrable domain (localhost), the origin
// is the party: another port is another server, possibly someone else's.
func SameParty(a, b string) bool {
	if a == b {
		return true
	}
	ha, okA := originHost(a)
	hb, okB := originHost(b)
	if !okA || !okB {
		return false
	}
	ra, errA := registrable(ha)
	rb, errB := registrable(hb)
	if errA != nil || errB != nil {
		return false // an address or a bare name: only the same origin is the same party
	}
	return ra == rb
}

// originHost returns the host of a canonical origin.
func originHost(origin string) (string, bool) {
	_, rest, ok := strings.Cut(origin, "://")
	if !ok || rest == "" {
		return "", false
	}
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return "", false
		}
		return rest[:end+1], true
	}
	host, _, _ := strings.Cut(rest, ":")
	return host, true
}

// registrable returns host's registrable domain; an error for addresses
// and for names that have none.
func registrable(host string) (string, error) {
	if strings.HasPrefix(host, "[") {
		return "", fmt.Errorf("%s is an address", host)
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return "", fmt.Errorf("%s is an address", host)
	}
	if !strings.Contains(host, ".") {
		return "", fmt.Errorf("%s has no registrable domain", host)
	}
	return publicsuffix.EffectiveTLDPlusOne(host)
}

// CheckCompliance compares what one page of site did with agreement a (the
// agreement in force) and returns each discrepancy once, in a stable order:
//   - a third party contacted while the agreement's sharing is none, or is
//     processors and the terms document it was made under names its
//     processors (processors, nil when it names none) and this origin is
//     not among them (by SameParty). With sharing processors and no named
//     processors nothing can be told from a request; anonymised and above
//     allow third parties.
//   - a third party setting a cookie, under the same rules (anonymised data
//     carries no identifier, so only third-parties and public allow it).
//   - a Tk answer other than C to the document request, which carried the
//     agreed digest (PROTOCOL.md 4): the site does not honour the agreement.
func CheckCompliance(site string, a Agreement, processors []string, obs PageObservation) []Discrepancy {
	var out []Discrepancy
	page := obs.Page
	if page == "" {
		page = "/"
	}
	named := func(origin string) bool {
		return slices.ContainsFunc(processors, func(p string) bool { return SameParty(p, origin) })
	}
	// allowed says whether sharing lets origin be a third party of this page,
	// and if not, why not (for the evidence).
	allowed := func(origin string, upTo Sharing) (bool, string) {
		if Rank(DimSharing, string(a.Terms.Sharing)) >= Rank(DimSharing, string(upTo)) {
			return true, ""
		}
		if a.Terms.Sharing != SharingProcessors {
			return false, "the agreement says sharing: " + string(a.Terms.Sharing)
		}
		if len(processors) == 0 || named(origin) {
			return true, "" // its processor, or one the site may not have named: nothing to tell
		}
		return false, "the agreement says sharing: processors, and the site's terms do not name it among its processors"
	}
	seen := map[string]bool{}
	add := func(d Discrepancy) {
		key := d.Term + "\x00" + d.Origin + "\x00" + d.Detail
		if !seen[key] {
			seen[key] = true
			out = append(out, d)
		}
	}
	for _, o := range sortedOrigins(obs.Contacted) {
		if SameParty(site, o) {
			continue
		}
		if ok, why := allowed(o, SharingAnonymised); !ok {
			add(Discrepancy{Term: DimSharing, Origin: o, Detail: truncateRunes(fmt.Sprintf("page %s contacted the third party %s; %s", page, o, why), 999)})
		}
	}
	for _, o := range sortedOrigins(obs.Cookies) {
		if SameParty(site, o) {
			continue
		}
		if ok, why := allowed(o, SharingThirdParties); !ok {
			add(Discrepancy{Term: DimSharing, Origin: o, Detail: truncateRunes(fmt.Sprintf("page %s: the third party %s keeps a cookie under this site; %s", page, o, why), 999)})
		}
	}
	if obs.TkSeen {
		tk := strings.TrimSpace(obs.Tk)
		if tsv, _, _ := strings.Cut(tk, ";"); strings.TrimSpace(tsv) != "C" {
			shown := "no Tk header"
			if tk != "" {
				shown = "Tk: " + truncateRunes(tk, 40)
			}
			add(Discrepancy{Term: TermTk, Origin: site, Detail: fmt.Sprintf("page %s answered %s to a request carrying the agreed digest; an agreement in force is answered Tk: C", page, shown)})
		}
	}
	return out
}

// Rank is the position of value on dimension dim's ladder, -1 if unknown.
// (Retention and purposes have no single ladder rank here.)
func Rank(dim, value string) int {
	switch dim {
	case DimTracking:
		return slices.Index(TrackingLadder, Tracking(value))
	case DimSharing:
		return slices.Index(SharingLadder, Sharing(value))
	}
	return -1
}

func sortedOrigins(list []string) []string {
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out)
}
