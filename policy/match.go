package policy

import (
	"sort"
	"strings"
)

func rank[T comparable](ladder []T, v T) int {
	for i, x := range ladder {
		if x == v {
			return i
		}
	}
	return len(ladder) // unknown values are more permissive than anything known
}

func levelRank(l Level) int {
	for i, x := range LevelLadder {
		if x == l {
			return i
		}
	}
	return -1 // an unknown undertaking is weaker than none
}

func sortedPurposes(ps []Purpose) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, string(p))
	}
	sort.SliceStable(out, func(i, j int) bool {
		return rank(PurposeLadder, Purpose(out[i])) < rank(PurposeLadder, Purpose(out[j]))
	})
	return out
}

// CheckOffer returns the conflicts between an offer and the user's terms, one
// per violated dimension in the order tracking, purposes, sharing, retention,
// identity, contact, access, deletion, dataReturn; nil if the offer is
// acceptable.
func CheckOffer(user UserTerms, o Offer) []Conflict {
	var cs []Conflict
	add := func(dim, needs, allows string) {
		cs = append(cs, Conflict{Offer: o.ID, Dimension: dim, Needs: needs, Allows: allows})
	}
	u, t := user.Terms, o.Terms
	if rank(TrackingLadder, t.Tracking) > rank(TrackingLadder, u.Tracking) {
		add(DimTracking, string(t.Tracking), string(u.Tracking))
	}
	allowed := map[Purpose]bool{}
	for _, p := range u.Purposes {
		allowed[p] = true
	}
	var extra []Purpose
	for _, p := range t.Purposes {
		if !allowed[p] {
			extra = append(extra, p)
		}
	}
	if len(extra) > 0 || len(t.Purposes) == 0 {
		needs := strings.Join(sortedPurposes(extra), ", ")
		if len(t.Purposes) == 0 {
			needs = "(none declared)"
		}
		add(DimPurposes, needs, strings.Join(sortedPurposes(u.Purposes), ", "))
	}
	if rank(SharingLadder, t.Sharing) > rank(SharingLadder, u.Sharing) {
		add(DimSharing, string(t.Sharing), string(u.Sharing))
	}
	if CompareRetention(t.Retention, u.Retention) > 0 {
		add(DimRetention, string(t.Retention), string(u.Retention))
	}
	if rank(IdentityLadder, t.Identity) > rank(IdentityLadder, u.Identity) {
		add(DimIdentity, string(t.Identity), string(u.Identity))
	}
	if rank(ContactLadder, t.Contact) > rank(ContactLadder, u.Contact) {
		add(DimContact, string(t.Contact), string(u.Contact))
	}
	for _, ob := range []struct {
		dim          string
		offer, floor Level
	}{
		{DimAccess, o.Obligations.Access, user.Obligations.Access},
		{DimDeletion, o.Obligations.Deletion, user.Obligations.Deletion},
		{DimDataReturn, o.Obligations.DataReturn, user.Obligations.DataReturn},
	} {
		if levelRank(ob.offer) < levelRank(ob.floor) {
			add(ob.dim, string(ob.offer), string(ob.floor))
		}
	}
	return cs
}

// MatchResult is the outcome of Match: the chosen offer (a copy), or every
// conflict of every offer when none is acceptable. Both are empty only for a
// document without offers, which parsing never yields.
type MatchResult struct {
	Offer     *Offer
	Conflicts []Conflict
}

func maxPurposeRank(ps []Purpose) int {
	m := -1
	for _, p := range ps {
		if r := rank(PurposeLadder, p); r > m {
			m = r
		}
	}
	return m
}

func obligationSum(o Obligations) int {
	return levelRank(o.Access) + levelRank(o.Deletion) + levelRank(o.DataReturn)
}

// MorePrivate reports whether offer a sorts before offer b in the DNT-D total
// order, most private first: tracking rank, highest purpose rank, number of
// purposes, sharing, identity, retention, contact, then stronger obligations
// first (sum of level ranks, descending), then offer id bytewise.
func MorePrivate(a, b Offer) bool {
	cmp := func(x, y int) int {
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	for _, c := range []int{
		cmp(rank(TrackingLadder, a.Terms.Tracking), rank(TrackingLadder, b.Terms.Tracking)),
		cmp(maxPurposeRank(a.Terms.Purposes), maxPurposeRank(b.Terms.Purposes)),
		cmp(len(a.Terms.Purposes), len(b.Terms.Purposes)),
		cmp(rank(SharingLadder, a.Terms.Sharing), rank(SharingLadder, b.Terms.Sharing)),
		cmp(rank(IdentityLadder, a.Terms.Identity), rank(IdentityLadder, b.Terms.Identity)),
		CompareRetention(a.Terms.Retention, b.Terms.Retention),
		cmp(rank(ContactLadder, a.Terms.Contact), rank(ContactLadder, b.Terms.Contact)),
		cmp(obligationSum(b.Obligations), obligationSum(a.Obligations)),
		strings.Compare(a.ID, b.ID),
	} {
		if c != 0 {
			return c < 0
		}
	}
	return false
}

// Match picks the most private acceptable offer of doc (MorePrivate order).
// If no offer is acceptable, Offer is nil and Conflicts holds every offer's
// conflicts, offers in document order.
func Match(user UserTerms, doc *TermsDocument) MatchResult {
	var best *Offer
	var all []Conflict
	if doc == nil {
		return MatchResult{}
	}
	for i := range doc.Offers {
		o := &doc.Offers[i]
		if cs := CheckOffer(user, *o); cs != nil {
			all = append(all, cs...)
			continue
		}
		if best == nil || MorePrivate(*o, *best) {
			best = o
		}
	}
	if best != nil {
		chosen := *best // a copy, so the result does not alias doc
		return MatchResult{Offer: &chosen}
	}
	return MatchResult{Conflicts: all}
}

// CounterProposal returns the terms an agent proposes when no offer is
// acceptable: the user's own ceiling and floor, with offer "".
func CounterProposal(user UserTerms) (Terms, Obligations) {
	t := user.Terms
	t.Purposes = append([]Purpose(nil), user.Terms.Purposes...)
	return t, user.Obligations
}
