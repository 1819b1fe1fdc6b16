package agent

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/policy"
)

// The members the DPV-27560 "record" profile requires (its guide,
// w3id.org/dpv/guides/consent-27560: fields of cardinality 1 and 1..*),
// with the JSON shape this export gives each. A path's last element is
// checked in every object the path before it reaches; "[]" means "each
// element of the array".
var required27560 = []struct {
	path string
	kind string // "string", "iri" (a string or {"@id"}), "object", "array+" (non-empty array), "time"
	why  string
}{
	{"@type", "string", "the record is a dpv:ConsentRecord"},
	{"@id", "string", "the record's IRI"},
	{"dct:conformsTo", "string", "Schema Version (1)"},
	{"dct:identifier", "string", "Record Identifier (1..*)"},
	{"dpv:hasDataSubject", "object", "Data Subject (1)"},
	{"dpv:hasDataSubject/dct:identifier", "string", "pii_principal_id"},
	{"dpv:hasNotice", "object", "Notice (1..*)"},
	{"dpv:hasNotice/@id", "string", "the notice shown"},
	{"dct:language", "string", "Notice Language (1..*)"},
	{"dpv:hasLegalBasis", "iri", "event type: the kind of consent"},
	{"dpv:hasProcess", "object", "Process (1..*)"},
	{"dpv:hasProcess/dpv:hasPurpose", "array+", "Purpose (1..*)"},
	{"dpv:hasProcess/dpv:hasPurpose/[]/@id", "string", "purpose concept"},
	{"dpv:hasProcess/dpv:hasPersonalData", "array+", "Personal Data (1..*)"},
	{"dpv:hasProcess/dpv:hasStorageCondition", "object", "Storage Condition (1..*): retention period"},
	{"dpv:hasProcess/dpv:hasStorageCondition/dpv:hasDuration", "string", "retention_period"},
	{"dpv:hasProcess/dpv:hasDataController", "object", "Data Controller (1..*)"},
	{"dpv:hasProcess/dpv:hasDataController/dpv:hasName", "string", "party name (mandatory)"},
	{"dpv:hasProcess/dpv:hasDataController/dpv:hasContact", "string", "party contact (mandatory)"},
	{"dpv:hasProcess/dpv:hasDataController/dpv:hasAddress", "string", "party address (mandatory)"},
	{"dpv:hasProcess/dpv:hasDataController/dct:identifier", "string", "party id (mandatory)"},
	{"dpv:hasProcess/dpv:hasRecipient", "array+", "Recipients (1..*)"},
	{"dpv:hasProcess/dpv:hasConsentControl", "array+", "Consent Change & Withdrawal (1..*)"},
	{"dpv:hasProcess/dpv:hasJurisdiction", "array+", "Jurisdiction (1..*)"},
	{"dpv:hasProcess/dpv:hasRight", "array+", "Rights (1..*)"},
	{"dpv:hasConsentStatus", "array+", "consent events"},
	{"dpv:hasConsentStatus/[]/@type", "string", "event state"},
	{"dpv:hasConsentStatus/[]/dct:date", "time", "event time (mandatory)"},
	{"dpv:hasConsentStatus/[]/dct:valid", "string", "validity duration (mandatory)"},
	{"dpv:hasConsentStatus/[]/dpv:isImplementedByEntity", "iri", "entity id (mandatory)"},
	{"dct:subject/@type", "string", "the P7012 agreement"},
}

// consentStates are the DPV consent status concepts an event may carry.
var consentStates = map[string]bool{"dpv:ConsentGiven": true, "dpv:RenewedConsentGiven": true, "dpv:ConsentWithdrawn": true, "dpv:ConsentRefused": true}

// values returns every value the path reaches in v.
func values(v any, path []string) []any {
	if len(path) == 0 {
		return []any{v}
	}
	if path[0] == "[]" {
		arr, _ := v.([]any)
		var out []any
		for _, e := range arr {
			out = append(out, values(e, path[1:])...)
		}
		return out
	}
	switch x := v.(type) {
	case map[string]any:
		m, ok := x[path[0]]
		if !ok {
			return []any{missing{}}
		}
		return values(m, path[1:])
	case []any:
		var out []any
		for _, e := range x {
			out = append(out, values(e, path)...)
		}
		return out
	}
	return []any{missing{}}
}

type missing struct{}

func checkKind(v any, kind string) error {
	if _, ok := v.(missing); ok {
		return fmt.Errorf("missing")
	}
	switch kind {
	case "string":
		if s, ok := v.(string); !ok || s == "" {
			return fmt.Errorf("is %T %v, want a non-empty string", v, v)
		}
	case "time":
		s, ok := v.(string)
		if _, err := time.Parse(time.RFC3339, s); !ok || err != nil {
			return fmt.Errorf("is %v, want an RFC 3339 date-time", v)
		}
	case "iri":
		if s, ok := v.(string); ok && s != "" {
			return nil
		}
		if m, ok := v.(map[string]any); ok {
			if s, ok := m["@id"].(string); ok && s != "" {
				return nil
			}
		}
		return fmt.Errorf("is %v, want an IRI or {\"@id\"}", v)
	case "object":
		if _, ok := v.(map[string]any); !ok {
			return fmt.Errorf("is %T, want an object", v)
		}
	case "array+":
		if a, ok := v.([]any); !ok || len(a) == 0 {
			return fmt.Errorf("is %v, want a non-empty array", v)
		}
	}
	return nil
}

func TestExport27560Shape(t *testing.T) {
	a := newAgent(t)
	rv := newRealVendor(t, basicOffer)
	rv.negotiate(t, a)
	mustCall[ProfileView](t, a, proto.TypeProfileSet, map[string]any{"details": map[string]any{"email": "ada@example.org"}})
	mustCall[ShareView](t, a, proto.TypeProfileShare, map[string]any{"site": rv.origin})
	rv.changeTerms(t)
	rv.negotiate(t, a) // a second record replaces the first
	mustCall[any](t, a, proto.TypeRelationshipEnd, map[string]string{"site": rv.origin})

	doc, err := Export27560(a.DB, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]any
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	ctx, _ := top["@context"].(map[string]any)
	graph, _ := top["@graph"].([]any)
	if len(ctx) == 0 || len(graph) != 2 {
		t.Fatalf("want a context and 2 records, got %d context entries and %d records", len(ctx), len(graph))
	}
	for i, rec := range graph {
		for _, req := range required27560 {
			for _, v := range values(rec, strings.Split(req.path, "/")) {
				if err := checkKind(v, req.kind); err != nil {
					t.Errorf("record %d: %s (%s) %v", i, req.path, req.why, err)
				}
			}
		}
		m := rec.(map[string]any)
		if m["@type"] != "dpv:ConsentRecord" || m["dct:conformsTo"] != Profile27560 {
			t.Errorf("record %d: @type %v, dct:conformsTo %v", i, m["@type"], m["dct:conformsTo"])
		}
		for _, st := range values(rec, []string{"dpv:hasConsentStatus", "[]", "@type"}) {
			if !consentStates[fmt.Sprint(st)] {
				t.Errorf("record %d: consent status %v is not a DPV consent state", i, st)
			}
		}
		// Every prefixed name uses a prefix of the context, and the P7012
		// code is one of the codes the presets name.
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				for k, e := range x {
					if p, _, ok := strings.Cut(k, ":"); ok && !strings.HasPrefix(k, "@") {
						if _, ok := ctx[p]; !ok {
							t.Errorf("record %d: member %s uses an undeclared prefix", i, k)
						}
					}
					walk(e)
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			}
		}
		walk(rec)
		if id, ok := values(rec, []string{"dct:subject", "@id"})[0].(string); ok {
			code := strings.TrimPrefix(id, "p7012:")
			found := false
			for _, p := range policy.Presets {
				found = found || p.Terms.Preset == code
			}
			if !strings.HasPrefix(id, "p7012:") || !found {
				t.Errorf("record %d: P7012 agreement %q is not a P7012 code", i, id)
			}
		}
	}
	first, second := graph[0].(map[string]any), graph[1].(map[string]any)
	if first["dct:isReplacedBy"] != second["@id"] {
		t.Errorf("the first record is not marked as replaced by the second: %v", first["dct:isReplacedBy"])
	}
	st := values(second, []string{"dpv:hasConsentStatus", "[]", "@type"})
	if fmt.Sprint(st) != "[dpv:RenewedConsentGiven dpv:ConsentWithdrawn]" {
		t.Errorf("second record's events: %v", st)
	}
	pd := fmt.Sprint(values(second, []string{"dpv:hasProcess", "dpv:hasPersonalData", "[]", "@id"}))
	if !strings.Contains(pd, "pd:EmailAddress") {
		t.Errorf("the shared e-mail address is not among the personal data: %s", pd)
	}
	if !strings.Contains(fmt.Sprint(values(second, []string{"dpv:hasConsentStatus", "[]", "dct:valid"})), "/20") {
		t.Errorf("an ended agreement's validity has no end")
	}
}
