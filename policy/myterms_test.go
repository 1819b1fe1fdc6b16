package policy

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// rosterVector is testdata/policy/myterms.json: the roster as the extension
// must state it, and what the presets make of it.
type rosterVector struct {
	Base    string            `json:"base"`
	Roster  []RosterAgreement `json:"roster"`
	Presets []presetVector    `json:"presets"`
}

type presetVector struct {
	Name      string   `json:"name"`
	Code      string   `json:"code"`
	Strictest string   `json:"strictest"`
	Fits      []string `json:"fits"`
}

func buildRosterVector() rosterVector {
	v := rosterVector{Base: P7012Base, Roster: Roster}
	for _, p := range Presets {
		pv := presetVector{Name: p.Name, Code: p.Terms.Preset, Fits: []string{}}
		if r, ok := StrictestRoster(p.Terms); ok {
			pv.Strictest = r.Code
		}
		for _, r := range Roster {
			if RosterFits(p.Terms, r) {
				pv.Fits = append(pv.Fits, r.Code)
			}
		}
		v.Presets = append(v.Presets, pv)
	}
	return v
}

func TestRosterVector(t *testing.T) {
	want, err := json.MarshalIndent(buildRosterVector(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	path := filepath.Join("..", "testdata", "policy", "myterms.json")
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./policy -run TestRosterVector -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from policy.Roster (run go test ./policy -run TestRosterVector -update)", path)
	}
}

// Every preset's code names a roster agreement (by its older code), the
// preset is at least as strict as that agreement, and the agreement fits
// the preset but for the data-return floor the presets add.
func TestPresetCodesAreRosterAgreements(t *testing.T) {
	t.Parallel()
	for _, p := range Presets {
		r, ok := LookupRoster(p.Terms.Preset)
		if !ok {
			t.Errorf("preset %s: code %q is not on the roster", p.Name, p.Terms.Preset)
			continue
		}
		if !AtLeastAsStrict(p.Terms, r) {
			t.Errorf("preset %s is not at least as strict as %s", p.Name, r.Code)
		}
		if !sameTerms(p.Terms.Terms, *r.Terms) {
			t.Errorf("preset %s: ceilings differ from %s", p.Name, r.Code)
		}
		if got, _ := LookupRoster(P7012Base + r.Code); got.Code != r.Code {
			t.Errorf("lookup by IRI of %s gave %q", r.Code, got.Code)
		}
		if got, _ := LookupRoster(strings.ToLower(p.Terms.Preset)); got.Code != r.Code {
			t.Errorf("lookup of lowercase %s gave %q", p.Terms.Preset, got.Code)
		}
	}
	if _, ok := LookupRoster("SD-NOPE"); ok {
		t.Error("an unknown code was found")
	}
}

func sameTerms(a, b Terms) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func TestRosterIsValidAndOrdered(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for i, r := range Roster {
		if seen[r.Code] || (r.Older != "" && seen[r.Older]) {
			t.Errorf("duplicate code %s", r.Code)
		}
		seen[r.Code], seen[r.Older] = true, true
		o, ok := r.Offer()
		if !ok {
			if !strings.HasPrefix(r.Code, "PDC-") {
				t.Errorf("%s: only the PDC contributions may be inexpressible", r.Code)
			}
			continue
		}
		if err := validateStruct(&o); err != nil {
			t.Errorf("%s as an offer: %v", r.Code, err)
		}
		// No later agreement is strictly stricter than this one.
		for _, later := range Roster[i+1:] {
			if later.Terms == nil {
				continue
			}
			u := UserTerms{V: 1, Terms: *r.Terms, Obligations: *r.Obligations}
			if AtLeastAsStrict(UserTerms{V: 1, Terms: *later.Terms, Obligations: *later.Obligations}, r) && !AtLeastAsStrict(u, later) {
				t.Errorf("%s comes before %s but allows more", r.Code, later.Code)
			}
		}
	}
}

// The roster table in PROTOCOL.md states the same mapping as the code.
func TestRosterTableInProtocol(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "PROTOCOL.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `((?:SD|PDC)-[A-Z0-9-]+)` \\|(.*)\\|$")
	rows := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		cells := strings.Split(m[2], "|")
		for i := range cells {
			cells[i] = strings.Trim(strings.TrimSpace(cells[i]), "`")
		}
		rows[m[1]] = cells
	}
	for _, r := range Roster {
		cells, ok := rows[r.Code]
		if !ok {
			t.Errorf("PROTOCOL.md has no roster row for %s", r.Code)
			continue
		}
		want := []string{r.Older}
		if r.Terms == nil {
			want = append(want, "—", "—", "—", "—", "—", "—", "—")
		} else {
			tm, ob := r.Terms, r.Obligations
			want = append(want, string(tm.Tracking), strings.Join(sortedPurposes(tm.Purposes), ", "), string(tm.Sharing),
				string(tm.Retention), string(tm.Identity), string(tm.Contact),
				string(ob.Access)+" / "+string(ob.Deletion)+" / "+string(ob.DataReturn))
		}
		if want[0] == "" {
			want[0] = "—"
		}
		if len(cells) != len(want) {
			t.Errorf("PROTOCOL.md row %s has %d cells, want %d", r.Code, len(cells), len(want))
			continue
		}
		for i := range want {
			if cells[i] != want[i] {
				t.Errorf("PROTOCOL.md row %s, column %d: %q, code says %q", r.Code, i+2, cells[i], want[i])
			}
		}
	}
	if len(rows) != len(Roster) {
		t.Errorf("PROTOCOL.md has %d roster rows, the code %d", len(rows), len(Roster))
	}
}

func TestParseMyTerms(t *testing.T) {
	t.Parallel()
	good := `{"effective_date": "Tue, 13 Jan 2026 10:00:00 +0000",
	  "agreements": [{"id": "SD-BASE", "url": "https://myterms.info/agreements/SD-BASE"}, {"id": "sd-base-a-dp"}, {"id": "SD-BASE"}, {"id": "X-LOCAL"}],
	  "tos_url": "https://shop.example/terms", "tos": "<p>Terms</p>", "extra": 1}`
	f, err := ParseMyTerms([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Agreements) != 3 || f.Agreements[0].Code != "SD-BASE" || f.Agreements[1].Code != "SD-BASE-A-DP" || f.Agreements[2].Code != "" {
		t.Errorf("agreements: %+v", f.Agreements)
	}
	if f.Digest != Digest([]byte(good)) || f.TOSURL != "https://shop.example/terms" {
		t.Errorf("file: %+v", f)
	}
	bad := map[string]string{
		"not JSON":        `{"agreements": [`,
		"no agreements":   `{"effective_date": "Tue, 13 Jan 2026 10:00:00 +0000"}`,
		"null agreements": `{"agreements": null}`,
		"empty id":        `{"agreements": [{"id": ""}]}`,
		"numeric id":      `{"agreements": [{"id": 7}]}`,
		"bad date":        `{"effective_date": "yesterday", "agreements": []}`,
		"trailing":        `{"agreements": []} {}`,
		"not utf-8":       "{\"agreements\": [{\"id\": \"\xff\"}]}",
		"too many":        `{"agreements": [` + strings.Repeat(`{"id":"A"},`, MaxMyTermsAgreements) + `{"id":"B"}]}`,
		"too large":       `{"agreements": [], "tos": "` + strings.Repeat("x", MaxMyTermsFile) + `"}`,
	}
	for name, in := range bad {
		if _, err := ParseMyTerms([]byte(in)); !errors.Is(err, ErrMyTerms) {
			t.Errorf("%s: got %v, want ErrMyTerms", name, err)
		}
	}
}

func FuzzParseMyTerms(f *testing.F) {
	f.Add([]byte(`{"agreements": [{"id": "SD-BASE"}]}`))
	f.Add([]byte(`{"effective_date": "Tue, 13 Jan 2026 10:00:00 +0000", "agreements": []}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		mt, err := ParseMyTerms(b)
		if err != nil {
			if !errors.Is(err, ErrMyTerms) {
				t.Fatalf("error does not wrap ErrMyTerms: %v", err)
			}
			return
		}
		if len(mt.Agreements) > MaxMyTermsAgreements || mt.Digest != Digest(b) {
			t.Fatalf("bounds: %+v", mt)
		}
	})
}

func TestProfferSignature(t *testing.T) {
	t.Parallel()
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	p := Proffer{V: 1, Site: "https://shop.example", Agreement: P7012Base + "SD-BASE-A-DP", FileDigest: Digest([]byte("{}")),
		Created: time.Date(2026, 12, 2, 3, 0, 0, 500, time.UTC), Status: ProfferPending}
	if err := SignProffer(&p, priv); err != nil {
		t.Fatal(err)
	}
	if err := VerifyProffer(p); err != nil {
		t.Fatalf("fresh proffer: %v", err)
	}
	if p.Created.Nanosecond() != 0 {
		t.Error("created keeps fractions of a second")
	}
	q := p
	q.Agreement = P7012Base + "SD-BASE-ATP"
	if err := VerifyProffer(q); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered agreement: %v", err)
	}
	id1, _ := ProfferID(p)
	id2, _ := ProfferID(q)
	if id1 == id2 || len(id1) != 44 {
		t.Errorf("ids %q %q", id1, id2)
	}
}

func TestParseGPC(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]GPCStatement{
		`{"gpc": true, "lastUpdate": "2026-01-13"}`: {GPC: true, LastUpdate: "2026-01-13"},
		`{"gpc": false}`: {GPC: false},
		`{"gpc": true, "lastUpdate": "soon", "x": [1]}`: {GPC: true},
		`{"gpc": true, "lastUpdate": 20260113}`:         {GPC: true},
	} {
		got, err := ParseGPC([]byte(in))
		if err != nil || *got != want {
			t.Errorf("%s: got %+v, %v", in, got, err)
		}
	}
	for _, in := range []string{`{}`, `{"gpc": "true"}`, `{"gpc": 1}`, `[true]`, `{"gpc": true} x`, `<html>`, `{"gpc": null}`,
		`{"gpc": true, "pad": "` + strings.Repeat("x", MaxGPCFile) + `"}`} {
		if _, err := ParseGPC([]byte(in)); !errors.Is(err, ErrGPCFile) {
			t.Errorf("%.40s: got %v, want ErrGPCFile", in, err)
		}
	}
}

func FuzzParseGPC(f *testing.F) {
	f.Add([]byte(`{"gpc": true, "lastUpdate": "2026-01-13"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ParseGPC(b); err != nil && !errors.Is(err, ErrGPCFile) {
			t.Fatalf("error does not wrap ErrGPCFile: %v", err)
		}
	})
}
