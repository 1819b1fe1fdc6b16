package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// changeVectors is testdata/policy/changes.json, which the extension's unit
// tests read too: the same changes must read the same in both languages.
type changeVectors struct {
	BaseOffer json.RawMessage `json:"baseOffer"`
	Cases     []struct {
		Name    string            `json:"name"`
		Before  []json.RawMessage `json:"before"`
		After   []json.RawMessage `json:"after"`
		Changes []TermChange      `json:"changes"`
		Words   []string          `json:"words"`
	} `json:"cases"`
	Dimensions []struct {
		Dimension string `json:"dimension"`
		Label     string `json:"label"`
	} `json:"dimensions"`
	Values []struct {
		Dimension string `json:"dimension"`
		Value     string `json:"value"`
		Words     string `json:"words"`
	} `json:"values"`
}

func readChangeVectors(t *testing.T) changeVectors {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "policy", "changes.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v changeVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// offerFrom is the base offer with a vector's id, terms and obligations
// members laid over it.
func offerFrom(t *testing.T, base, over json.RawMessage) Offer {
	t.Helper()
	var o Offer
	if err := json.Unmarshal(base, &o); err != nil {
		t.Fatal(err)
	}
	var parts struct {
		ID          string          `json:"id"`
		Terms       json.RawMessage `json:"terms"`
		Obligations json.RawMessage `json:"obligations"`
	}
	if err := json.Unmarshal(over, &parts); err != nil {
		t.Fatal(err)
	}
	o.ID = parts.ID
	for _, p := range []struct {
		raw json.RawMessage
		dst any
	}{{parts.Terms, &o.Terms}, {parts.Obligations, &o.Obligations}} {
		if p.raw != nil {
			if err := json.Unmarshal(p.raw, p.dst); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := validateStruct(&o); err != nil {
		t.Fatalf("offer %s: %v", o.ID, err)
	}
	return o
}

func TestTermsChangesVectors(t *testing.T) {
	v := readChangeVectors(t)
	for _, c := range v.Cases {
		t.Run(c.Name, func(t *testing.T) {
			doc := func(offers []json.RawMessage) *TermsDocument {
				d := &TermsDocument{}
				for _, o := range offers {
					d.Offers = append(d.Offers, offerFrom(t, v.BaseOffer, o))
				}
				return d
			}
			got := TermsChanges(doc(c.Before), doc(c.After))
			if len(got) != 0 || len(c.Changes) != 0 {
				if !reflect.DeepEqual(got, c.Changes) {
					t.Errorf("changes = %+v, want %+v", got, c.Changes)
				}
			}
			var words []string
			for _, ch := range c.Changes {
				if err := validateStruct(&ch); err != nil {
					t.Errorf("change %+v: %v", ch, err)
				}
				words = append(words, ch.Words())
			}
			if len(words) != 0 || len(c.Words) != 0 {
				if !reflect.DeepEqual(words, c.Words) {
					t.Errorf("words = %q, want %q", words, c.Words)
				}
			}
			if want := strings.Join(c.Words, "; "); ChangesWords(c.Changes, 1000) != want {
				t.Errorf("ChangesWords = %q, want %q", ChangesWords(c.Changes, 1000), want)
			}
		})
	}
	if TermsChanges(nil, &TermsDocument{}) != nil {
		t.Error("no earlier document: no changes")
	}
}

// Every dimension's label and every ladder value's words are in the
// vectors, so the extension's copy is checked against all of them.
func TestValueWordsVectors(t *testing.T) {
	v := readChangeVectors(t)
	if len(v.Dimensions) != len(dimensionOrder) {
		t.Errorf("%d dimensions in the vectors, %d in dimensionOrder", len(v.Dimensions), len(dimensionOrder))
	}
	for i, d := range v.Dimensions {
		if d.Dimension != dimensionOrder[i] || DimensionLabel(d.Dimension) != d.Label {
			t.Errorf("dimension %d: vector %+v, Go %s %q", i, d, dimensionOrder[i], DimensionLabel(dimensionOrder[i]))
		}
	}
	covered := map[string]bool{}
	for _, x := range v.Values {
		covered[x.Dimension+"="+x.Value] = true
		if got := DescribeValue(x.Dimension, x.Value); got != x.Words {
			t.Errorf("%s %q: %q, want %q", x.Dimension, x.Value, got, x.Words)
		}
	}
	for dim, labels := range valueLabels {
		for value := range labels {
			if !covered[dim+"="+value] {
				t.Errorf("%s %q has words (%q) but no vector", dim, value, labels[value])
			}
		}
	}
	ladders := map[string][]string{}
	for _, x := range TrackingLadder {
		ladders[DimTracking] = append(ladders[DimTracking], string(x))
	}
	for _, x := range PurposeLadder {
		ladders[DimPurposes] = append(ladders[DimPurposes], string(x))
	}
	for _, x := range SharingLadder {
		ladders[DimSharing] = append(ladders[DimSharing], string(x))
	}
	for _, x := range IdentityLadder {
		ladders[DimIdentity] = append(ladders[DimIdentity], string(x))
	}
	for _, x := range ContactLadder {
		ladders[DimContact] = append(ladders[DimContact], string(x))
	}
	for _, x := range LevelLadder {
		for _, d := range []string{DimAccess, DimDeletion, DimDataReturn} {
			ladders[d] = append(ladders[d], string(x))
		}
	}
	for dim, values := range ladders {
		for _, value := range values {
			if _, ok := valueLabels[dim][value]; !ok {
				t.Errorf("%s %q has no words", dim, value)
			}
		}
	}
}

func TestChangesWordsBounded(t *testing.T) {
	var cs []TermChange
	for i := 0; i < 100; i++ {
		cs = append(cs, TermChange{Offer: "basic", Dimension: DimRetention, Before: "P30D", After: "P14D"})
	}
	s := ChangesWords(cs, 1000)
	if n := len([]rune(s)); n != 1000 || !strings.HasSuffix(s, "…") {
		t.Errorf("%d chars, ends %q", n, s[len(s)-10:])
	}
}
