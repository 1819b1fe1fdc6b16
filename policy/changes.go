package policy

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// What changed between two versions of a site's terms document, per offer
// and dimension (PROTOCOL.md 12, the terms-changed event's "changes"), and
// the same in a person's words. The words are also written by the extension
// (extension/lib/vocabulary.js, viewmodel.js changeWords); both are checked
// against testdata/policy/changes.json.

// TermChange is one difference between two versions of a site's terms: one
// dimension of an offer with a new value, or (Dimension "") an offer added
// (After "offered") or withdrawn (Before "offered"). Values are vocabulary
// values; purposes are lists joined with ", " in ladder order, as in
// Conflict.
type TermChange struct {
	Offer     string `json:"offer" validate:"required,max=64,offerid"`
	Dimension string `json:"dimension,omitempty" validate:"omitempty,oneof=tracking purposes sharing retention identity contact access deletion dataReturn"`
	Before    string `json:"before,omitempty" validate:"max=300"`
	After     string `json:"after,omitempty" validate:"max=300"`
}

// OfferPresent is a TermChange's Before (withdrawn) or After (added) for a
// whole offer.
const OfferPresent = "offered"

// MaxTermChanges bounds an event's changes: 32 offers, each added,
// withdrawn or changed in up to 9 dimensions.
const MaxTermChanges = 576

// TermsChanges returns what differs from before to after: for each offer of
// after (in its order) either "added" or its changed dimensions (in the
// order tracking … dataReturn), then the offers of before that after no
// longer has, "withdrawn". Nil when no offer changed (other members of the
// document may have).
func TermsChanges(before, after *TermsDocument) []TermChange {
	var out []TermChange
	if before == nil || after == nil {
		return nil
	}
	old := map[string]*Offer{}
	for i := range before.Offers {
		old[before.Offers[i].ID] = &before.Offers[i]
	}
	kept := map[string]bool{}
	for _, o := range after.Offers {
		b, ok := old[o.ID]
		if !ok {
			out = append(out, TermChange{Offer: o.ID, After: OfferPresent})
			continue
		}
		kept[o.ID] = true
		bv, av := offerValues(*b), offerValues(o)
		for i, dim := range dimensionOrder {
			if bv[i] != av[i] {
				out = append(out, TermChange{Offer: o.ID, Dimension: dim, Before: bv[i], After: av[i]})
			}
		}
	}
	for _, o := range before.Offers {
		if !kept[o.ID] {
			out = append(out, TermChange{Offer: o.ID, Before: OfferPresent})
		}
	}
	return out
}

var dimensionOrder = []string{DimTracking, DimPurposes, DimSharing, DimRetention, DimIdentity, DimContact, DimAccess, DimDeletion, DimDataReturn}

// offerValues is an offer's value per dimension, in dimensionOrder.
func offerValues(o Offer) []string {
	t, ob := o.Terms, o.Obligations
	return []string{string(t.Tracking), strings.Join(sortedPurposes(t.Purposes), ", "), string(t.Sharing), string(t.Retention),
		string(t.Identity), string(t.Contact), string(ob.Access), string(ob.Deletion), string(ob.DataReturn)}
}

// Words says c in a person's words: "offer basic: retention 30 days → 14
// days", "offer ads added", "offer ads withdrawn".
func (c TermChange) Words() string {
	if c.Dimension == "" {
		if c.After != "" {
			return fmt.Sprintf("offer %s added", c.Offer)
		}
		return fmt.Sprintf("offer %s withdrawn", c.Offer)
	}
	return fmt.Sprintf("offer %s: %s %s → %s", c.Offer, strings.ToLower(DimensionLabel(c.Dimension)),
		DescribeValue(c.Dimension, c.Before), DescribeValue(c.Dimension, c.After))
}

// ChangesWords is each change's Words joined with "; ", at most max
// characters (cut with "…"): an event's detail.
func ChangesWords(cs []TermChange, max int) string {
	words := make([]string, len(cs))
	for i, c := range cs {
		words[i] = c.Words()
	}
	s := strings.Join(words, "; ")
	if r := []rune(s); len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}

// Labels: a person's words for each dimension and value. The extension's
// copy (extension/lib/vocabulary.js) is checked against
// testdata/policy/changes.json, as this one is.
var dimensionLabels = map[string]string{
	DimTracking: "Tracking", DimPurposes: "Purposes", DimSharing: "Sharing", DimRetention: "Retention",
	DimIdentity: "Identity", DimContact: "Contact", DimAccess: "Access", DimDeletion: "Deletion", DimDataReturn: "Data return",
}

var levelLabels = map[string]string{"none": "not required", "on-request": "on request", "required": "always"}

var valueLabels = map[string]map[string]string{
	DimTracking: {"none": "none", "session": "this visit only", "first-party": "on this site", "same-party": "on the owner's sites", "cross-site": "across the web"},
	DimPurposes: {"service": "service", "analytics": "analytics", "personalisation": "personalisation", "contextual-ads": "contextual ads",
		"personalised-ads": "personalised ads", "sale": "sale of data"},
	DimSharing: {"none": "nobody", "processors": "processors", "anonymised": "anonymised", "third-parties": "third parties", "public": "public"},
	DimRetention: {"none": "not kept", "session": "this visit", "P1D": "1 day", "P7D": "1 week", "P30D": "30 days", "P90D": "90 days",
		"P1Y": "1 year", "P2Y": "2 years", "indefinite": "indefinitely"},
	DimIdentity:   {"anonymous": "anonymous", "pseudonymous": "pseudonymous", "identified": "identified"},
	DimContact:    {"never": "never", "transactional": "about my orders", "marketing": "marketing"},
	DimAccess:     levelLabels,
	DimDeletion:   levelLabels,
	DimDataReturn: levelLabels,
}

// DimensionLabel is a dimension's label ("Data return"); an unknown
// dimension is returned as it is.
func DimensionLabel(dim string) string {
	if l, ok := dimensionLabels[dim]; ok {
		return l
	}
	return dim
}

// ValueLabel is one value's words ("on this site", "14 days"); an unknown
// value is returned as it is.
func ValueLabel(dim, value string) string {
	if l, ok := valueLabels[dim][value]; ok {
		return l
	}
	if dim == DimRetention {
		if d, ok := humanDuration(value); ok {
			return d
		}
	}
	return value
}

// DescribeValue is a whole value's words: for purposes each one's label,
// joined with ", " ("nothing" for none).
func DescribeValue(dim, value string) string {
	if dim != DimPurposes {
		return ValueLabel(dim, value)
	}
	var words []string
	for _, p := range strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' }) {
		words = append(words, ValueLabel(dim, p))
	}
	if len(words) == 0 {
		return "nothing"
	}
	return strings.Join(words, ", ")
}

// Regular expressions are compiled at first use, not at start-up: the host
// starts once per browser session and every millisecond of it is waited for
// (BENCHMARKS.md, section 2).
var durationWords = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^P(?:(\d{1,9})Y)?(?:(\d{1,9})M)?(?:(\d{1,9})W)?(?:(\d{1,9})D)?(?:T(?:(\d{1,9})H)?(?:(\d{1,9})M)?(?:(\d{1,9})S)?)?$`)
})

// humanDuration: "P1Y6M" → "1 year 6 months".
func humanDuration(iso string) (string, bool) {
	if _, err := ParseRetention(iso); err != nil {
		return "", false
	}
	m := durationWords().FindStringSubmatch(iso)
	if m == nil {
		return "", false
	}
	units := []string{"year", "month", "week", "day", "hour", "minute", "second"}
	var parts []string
	for i, x := range m[1:] {
		n, _ := strconv.Atoi(x)
		if n <= 0 {
			continue
		}
		w := units[i]
		if n != 1 {
			w += "s"
		}
		parts = append(parts, fmt.Sprintf("%d %s", n, w))
	}
	if len(parts) == 0 {
		return "0 seconds", true
	}
	return strings.Join(parts, " "), true
}
