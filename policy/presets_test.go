package policy

import (
	"encoding/json"
	"testing"
)

// presetVectors is testdata/policy/presets.json: Presets as JSON, which the
// extension's copy (extension/lib/vocabulary.js, FALLBACK_PRESETS) must equal
// (extension/test/go-agreement.test.js).
func presetVectors(t testing.TB) []byte {
	b, err := json.MarshalIndent(Presets, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// The contract's demo vendors rely on these two facts about the default preset.
func TestDefaultPresetAcceptsShopRefusesPersonalisedAds(t *testing.T) {
	t.Parallel()
	user, ok := Preset(DefaultPreset)
	if !ok {
		t.Fatalf("no preset %q", DefaultPreset)
	}
	shop := Offer{ID: "shop", Terms: Terms{
		Tracking: TrackingFirstParty, Purposes: []Purpose{PurposeService, PurposeAnalytics}, Sharing: SharingProcessors,
		Retention: "P30D", Identity: IdentityPseudonymous, Contact: ContactTransactional,
	}, Obligations: Obligations{Access: LevelOnRequest, Deletion: LevelOnRequest, DataReturn: LevelOnRequest}}
	if cs := CheckOffer(user, shop); cs != nil {
		t.Errorf("default preset refuses the shop offer: %+v", cs)
	}
	news := shop
	news.ID = "news"
	news.Terms.Purposes = []Purpose{PurposeService, PurposePersonalisedAds}
	cs := CheckOffer(user, news)
	if len(cs) != 1 || cs[0].Dimension != DimPurposes || cs[0].Needs != "personalised-ads" || cs[0].Allows != "service, analytics" {
		t.Errorf("default preset vs personalised-ads: got %+v", cs)
	}
	weak := shop
	weak.Obligations.DataReturn = LevelNone
	cs = CheckOffer(user, weak)
	if len(cs) != 1 || cs[0] != (Conflict{Offer: "shop", Dimension: DimDataReturn, Needs: "none", Allows: "on-request"}) {
		t.Errorf("default preset vs no data return: got %+v", cs)
	}
}

// Every preset is valid and allows everything the one before it allows, so
// the chain really is ordered, as IEEE 7012's SD-BY ⊂ SD-BY-A ⊂ … is.
func TestPresetsFormAChain(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for i, p := range Presets {
		if err := p.Terms.Validate(); err != nil {
			t.Errorf("preset %s: %v", p.Name, err)
		}
		if seen[p.Name] || seen[p.Terms.Preset] {
			t.Errorf("preset %s: duplicate name or code", p.Name)
		}
		seen[p.Name], seen[p.Terms.Preset] = true, true
		if got, ok := Preset(p.Name); !ok || got.Preset != p.Terms.Preset {
			t.Errorf("Preset(%q) = %v, %v", p.Name, got, ok)
		}
		if i == 0 {
			continue
		}
		// An offer equal to the previous preset's ceiling and floor must be
		// acceptable under this preset.
		prev := Presets[i-1].Terms
		o := Offer{ID: "prev", Terms: prev.Terms, Obligations: p.Terms.Obligations}
		if cs := CheckOffer(p.Terms, o); cs != nil {
			t.Errorf("preset %s does not allow all of %s: %+v", p.Name, Presets[i-1].Name, cs)
		}
		if levelRank(p.Terms.Obligations.Access) > levelRank(prev.Obligations.Access) ||
			levelRank(p.Terms.Obligations.Deletion) > levelRank(prev.Obligations.Deletion) ||
			levelRank(p.Terms.Obligations.DataReturn) > levelRank(prev.Obligations.DataReturn) {
			t.Errorf("preset %s requires more than %s", p.Name, Presets[i-1].Name)
		}
	}
	if _, ok := Preset("no-such"); ok {
		t.Error(`Preset("no-such") found something`)
	}
}
