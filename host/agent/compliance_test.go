package agent

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
)

// agreedWithProcessors negotiates basicOffer (sharing processors) with a
// site whose terms name processors.
func agreedWithProcessors(t *testing.T, processors ...string) (*Agent, *testSite, store.Relationship) {
	t.Helper()
	s := newTestSite(t, basicOffer)
	doc := s.docFor(basicOffer)
	doc.Processors = processors
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	s.setDoc(b)
	a := newAgent(t)
	rel := mustCall[store.Relationship](t, a, proto.TypeNegotiate, negotiateParams(s))
	if rel.State != store.StateAgreed {
		t.Fatalf("relationship = %+v", rel)
	}
	return a, s, rel
}

func complianceEvents(t *testing.T, a *Agent, site string) []policy.Event {
	t.Helper()
	h := mustCall[HistoryResult](t, a, proto.TypeHistoryGet, map[string]string{"site": site})
	if !h.Verified {
		t.Fatalf("history does not verify: %s", h.Problem)
	}
	var out []policy.Event
	for _, e := range h.Events {
		if e.Type == policy.EventCompliance {
			out = append(out, e)
		}
	}
	return out
}

func TestComplianceReport(t *testing.T) {
	t.Parallel()
	a, s, rel := agreedWithProcessors(t, "https://pay.example.com")
	tk := func(v string) *string { return &v }
	steps := []struct {
		name     string
		params   proto.ComplianceReportParams
		found    int      // discrepancies in the page
		recorded []string // details (substrings) of the events this report adds
	}{
		{
			name:   "a clean page: own origin and a named processor",
			params: proto.ComplianceReportParams{Page: "/", Origins: []string{s.origin, "https://api.pay.example.com"}, Tk: tk("C"), Agreed: rel.AgreedDigest},
		},
		{
			name:     "an undeclared third party and a wrong Tk",
			params:   proto.ComplianceReportParams{Page: "/partner", Origins: []string{"HTTPS://Tracker.Example.NET:443", "https://pay.example.com"}, Tk: tk("N"), Agreed: rel.AgreedDigest},
			found:    2,
			recorded: []string{"page /partner contacted the third party https://tracker.example.net; the agreement says sharing: processors", "page /partner answered Tk: N"},
		},
		{
			name:   "the same page again: recorded once per page",
			params: proto.ComplianceReportParams{Page: "/partner", Origins: []string{"https://tracker.example.net"}, Tk: tk("N"), Agreed: rel.AgreedDigest},
			found:  2,
		},
		{
			name:     "another page with the same third party: its own event",
			params:   proto.ComplianceReportParams{Page: "/basket", Origins: []string{"https://tracker.example.net"}},
			found:    1,
			recorded: []string{"page /basket contacted the third party https://tracker.example.net"},
		},
		{
			name:   "a Tk answer to another digest says nothing about this agreement",
			params: proto.ComplianceReportParams{Page: "/old", Tk: tk("N"), Agreed: strings.Repeat("A", 43) + "="},
		},
		{
			name:     "a third-party cookie; plain http origins are named too",
			params:   proto.ComplianceReportParams{Page: "/c", Cookies: []string{"http://ads.example.org"}},
			found:    1,
			recorded: []string{"page /c: the third party http://ads.example.org keeps a cookie under this site"},
		},
	}
	total := 0
	for _, st := range steps {
		st.params.Site = s.origin
		res := mustCall[ComplianceResult](t, a, proto.TypeComplianceReport, st.params)
		if res.Discrepancies != st.found || len(res.Recorded) != len(st.recorded) {
			t.Fatalf("%s: %d discrepancies, recorded %+v; want %d and %d recorded", st.name, res.Discrepancies, res.Recorded, st.found, len(st.recorded))
		}
		for i, want := range st.recorded {
			e := res.Recorded[i]
			if e.Type != policy.EventCompliance || e.Agreement != rel.Record.ID || !strings.Contains(e.Detail, want) {
				t.Errorf("%s: recorded[%d] = %+v, want a compliance event of record %s with %q", st.name, i, e, rel.Record.ID, want)
			}
		}
		total += len(st.recorded)
		if got := complianceEvents(t, a, s.origin); len(got) != total {
			t.Fatalf("%s: history has %d compliance events, want %d", st.name, len(got), total)
		}
	}
}

func TestComplianceReportRefused(t *testing.T) {
	t.Parallel()
	a, s, _ := agreedWithProcessors(t)
	tests := []struct {
		name   string
		params any
		code   string
	}{
		{"no agreement with the site", proto.ComplianceReportParams{Site: "https://other.example", Page: "/"}, proto.CodeNoAgreement},
		{"not an origin", proto.ComplianceReportParams{Site: "shop", Page: "/"}, proto.CodeInvalidSite},
		{"page with a query", proto.ComplianceReportParams{Site: s.origin, Page: "/search?q=boots"}, proto.CodeInvalidParams},
		{"page not a path", proto.ComplianceReportParams{Site: s.origin, Page: "https://x/"}, proto.CodeInvalidParams},
		{"page missing", map[string]any{"site": s.origin, "origins": []string{}}, proto.CodeInvalidParams},
		{"a full URL as an origin", proto.ComplianceReportParams{Site: s.origin, Page: "/", Origins: []string{"https://t.example/pixel.gif?id=1"}}, proto.CodeInvalidParams},
		{"too many origins", proto.ComplianceReportParams{Site: s.origin, Page: "/", Origins: manyOrigins(policy.MaxObservedOrigins + 1)}, proto.CodeInvalidParams},
		{"unknown member", map[string]any{"site": s.origin, "page": "/", "url": "https://x/"}, proto.CodeInvalidParams},
	}
	for _, tt := range tests {
		if _, perr := call(t, a, proto.TypeComplianceReport, tt.params); perr == nil || perr.Code != tt.code {
			t.Errorf("%s: error %v, want code %s", tt.name, perr, tt.code)
		}
	}
	if got := complianceEvents(t, a, s.origin); len(got) != 0 {
		t.Errorf("refused reports recorded %+v", got)
	}
}

// After the agreement ends, reports are refused and nothing is recorded.
func TestComplianceReportAfterEnd(t *testing.T) {
	t.Parallel()
	a, s, _ := agreedWithProcessors(t)
	mustCall[store.Relationship](t, a, proto.TypeRelationshipEnd, map[string]string{"site": s.origin})
	p := proto.ComplianceReportParams{Site: s.origin, Page: "/", Origins: []string{"https://tracker.example.net"}}
	if _, perr := call(t, a, proto.TypeComplianceReport, p); perr == nil || perr.Code != proto.CodeNoAgreement {
		t.Fatalf("error %v, want no_agreement", perr)
	}
}

func manyOrigins(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "https://t" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + ".example"
	}
	return out
}
