package policy

import (
	"strings"
	"testing"
)

func TestSameParty(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"https://shop.example", "https://shop.example", true},
		{"https://www.shop.example", "https://cdn.shop.example", true},
		{"https://shop.example", "https://shop.example:8443", true},
		{"https://shop.example", "http://localhost", false},
		{"https://shop.co.uk", "https://tracker.co.uk", false}, // a public suffix is no party
		{"https://a.shop.co.uk", "https://b.shop.co.uk", true},
		{"https://shop.example", "https://tracker.example.net", false},
		{"http://127.0.0.1:8441", "http://127.0.0.1:8441", true},
		{"http://127.0.0.1:8441", "http://127.0.0.1:8442", false}, // another server on the host
		{"http://127.0.0.1:8441", "http://127.0.0.2:8441", false},
		{"http://localhost:8441", "http://localhost:8444", false},
		{"http://[::1]:8441", "http://[::1]:8441", true},
		{"http://[::1]:8441", "http://[::1]:9", false},
		{"not an origin", "https://shop.example", false},
	}
	for _, tt := range tests {
		if got := SameParty(tt.a, tt.b); got != tt.want {
			t.Errorf("SameParty(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := SameParty(tt.b, tt.a); got != tt.want {
			t.Errorf("SameParty(%q, %q) = %v, want %v (not symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestCheckCompliance(t *testing.T) {
	const site = "https://shop.example"
	agreement := func(s Sharing) Agreement {
		return Agreement{Site: site, Terms: Terms{Tracking: TrackingFirstParty, Purposes: []Purpose{PurposeService}, Sharing: s,
			Retention: "P30D", Identity: IdentityPseudonymous, Contact: ContactTransactional}}
	}
	type want struct{ term, origin, detail string }
	tests := []struct {
		name       string
		sharing    Sharing
		processors []string
		obs        PageObservation
		want       []want
	}{
		{
			name: "sharing none: every third party, once, sorted; own hosts are not third parties", sharing: SharingNone,
			obs: PageObservation{Page: "/partner", Contacted: []string{"https://tracker.example.net", "https://cdn.shop.example", site,
				"https://ads.example.org", "https://tracker.example.net"}},
			want: []want{
				{DimSharing, "https://ads.example.org", "page /partner contacted the third party https://ads.example.org; the agreement says sharing: none"},
				{DimSharing, "https://tracker.example.net", "page /partner contacted the third party https://tracker.example.net; the agreement says sharing: none"},
			},
		},
		{
			name: "sharing processors without named processors: nothing can be told", sharing: SharingProcessors,
			obs: PageObservation{Page: "/", Contacted: []string{"https://tracker.example.net"}},
		},
		{
			name: "sharing processors with named processors: only the others", sharing: SharingProcessors,
			processors: []string{"https://pay.example.com"},
			obs:        PageObservation{Page: "/", Contacted: []string{"https://api.pay.example.com", "https://tracker.example.net"}},
			want:       []want{{DimSharing, "https://tracker.example.net", "the site's terms do not name it among its processors"}},
		},
		{
			name: "sharing anonymised allows third-party requests but not their cookies", sharing: SharingAnonymised,
			obs:  PageObservation{Page: "/", Contacted: []string{"https://tracker.example.net"}, Cookies: []string{"https://tracker.example.net"}},
			want: []want{{DimSharing, "https://tracker.example.net", "the third party https://tracker.example.net keeps a cookie under this site; the agreement says sharing: anonymised"}},
		},
		{
			name: "sharing third-parties allows both", sharing: SharingThirdParties,
			obs: PageObservation{Page: "/", Contacted: []string{"https://tracker.example.net"}, Cookies: []string{"https://tracker.example.net"}},
		},
		{
			name: "a first-party cookie is no discrepancy", sharing: SharingNone,
			obs: PageObservation{Page: "/", Cookies: []string{"https://www.shop.example"}},
		},
		{
			name: "Tk: C with a status id matches", sharing: SharingNone,
			obs: PageObservation{Page: "/", Tk: "C;abc", TkSeen: true},
		},
		{
			name: "Tk: N to the agreed digest", sharing: SharingProcessors,
			obs:  PageObservation{Page: "/basket", Tk: "N", TkSeen: true},
			want: []want{{TermTk, site, "page /basket answered Tk: N to a request carrying the agreed digest"}},
		},
		{
			name: "no Tk header at all", sharing: SharingProcessors,
			obs:  PageObservation{Tk: "", TkSeen: true},
			want: []want{{TermTk, site, "page / answered no Tk header"}},
		},
		{
			name: "Tk not observed: nothing claimed", sharing: SharingProcessors,
			obs: PageObservation{Page: "/"},
		},
		{
			name: "loopback: another port is another party", sharing: SharingNone,
			obs:  PageObservation{Page: "/", Contacted: []string{"http://127.0.0.1:9"}},
			want: []want{{DimSharing, "http://127.0.0.1:9", "contacted the third party http://127.0.0.1:9"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckCompliance(site, agreement(tt.sharing), tt.processors, tt.obs)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d discrepancies, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Term != w.term || g.Origin != w.origin || !strings.Contains(g.Detail, w.detail) {
					t.Errorf("[%d] = %+v, want term %q origin %q detail containing %q", i, g, w.term, w.origin, w.detail)
				}
			}
		})
	}
}

func TestCheckComplianceDetailBounded(t *testing.T) {
	a := Agreement{Site: "https://shop.example", Terms: Terms{Sharing: SharingNone}}
	long := "https://" + strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + ".example"
	got := CheckCompliance(a.Site, a, nil, PageObservation{Page: "/" + strings.Repeat("p", 2000), Contacted: []string{long}})
	if len(got) != 1 {
		t.Fatalf("got %+v", got)
	}
	e := Event{Seq: 0, Type: EventCompliance, Time: exampleCreated, Detail: got[0].Detail, Hash: strings.Repeat("A", 43) + "="}
	if err := e.Validate(); err != nil {
		t.Errorf("a compliance event with this detail does not validate: %v", err)
	}
}
