package policy

import (
	"math/rand/v2"
	"testing"
)

// randomOffer draws an offer from the whole vocabulary.
func randomOffer(r *rand.Rand, id string) Offer {
	pick := func(n int) int { return r.IntN(n) }
	var ps []Purpose
	for _, p := range PurposeLadder {
		if pick(3) == 0 {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		ps = []Purpose{PurposeLadder[pick(len(PurposeLadder))]}
	}
	rets := []Retention{"none", "session", "PT1H", "P1D", "P1W", "P7D", "P30D", "P1M", "P90D", "P1Y", "indefinite"}
	return Offer{ID: id, Terms: Terms{
		Tracking: TrackingLadder[pick(len(TrackingLadder))], Purposes: ps, Sharing: SharingLadder[pick(len(SharingLadder))],
		Retention: rets[pick(len(rets))], Identity: IdentityLadder[pick(len(IdentityLadder))], Contact: ContactLadder[pick(len(ContactLadder))],
	}, Obligations: Obligations{Access: LevelLadder[pick(3)], Deletion: LevelLadder[pick(3)], DataReturn: LevelLadder[pick(3)]}}
}

// The order of section 8.3 is total and strict, so the choice does not
// depend on the order offers appear in the document.
func TestMatchIgnoresOfferOrder(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	ids := []string{"a", "b", "c", "d", "e", "f"}
	for round := 0; round < 500; round++ {
		doc := &TermsDocument{}
		for _, id := range ids {
			doc.Offers = append(doc.Offers, randomOffer(r, id))
		}
		for _, o := range doc.Offers {
			if err := Validator().Struct(o); err != nil {
				t.Fatal(err)
			}
		}
		for i, a := range doc.Offers {
			if MorePrivate(a, a) {
				t.Fatal("MorePrivate is not irreflexive")
			}
			for _, b := range doc.Offers[i+1:] {
				if MorePrivate(a, b) == MorePrivate(b, a) {
					t.Fatalf("offers %s and %s are not strictly ordered", a.ID, b.ID)
				}
			}
		}
		user := Presets[r.IntN(len(Presets))].Terms
		first := Match(user, doc)
		firstID := ""
		if first.Offer != nil {
			firstID = first.Offer.ID // Offer points into doc.Offers, shuffled next
		}
		r.Shuffle(len(doc.Offers), func(i, j int) { doc.Offers[i], doc.Offers[j] = doc.Offers[j], doc.Offers[i] })
		second := Match(user, doc)
		if (first.Offer == nil) != (second.Offer == nil) || (second.Offer != nil && firstID != second.Offer.ID) {
			t.Fatalf("round %d: choice depends on offer order", round)
		}
		if first.Offer != nil {
			for _, o := range doc.Offers {
				if CheckOffer(user, o) == nil && MorePrivate(o, *second.Offer) {
					t.Fatalf("round %d: %s is acceptable and more private than the choice %s", round, o.ID, second.Offer.ID)
				}
			}
		} else if len(first.Conflicts) == 0 {
			t.Fatal("no offer and no conflicts")
		}
	}
}
