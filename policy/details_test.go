package policy

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestAllowedDetails(t *testing.T) {
	for _, c := range []struct {
		identity Identity
		contact  Contact
		want     string
	}{
		{IdentityAnonymous, ContactMarketing, ""},
		{IdentityPseudonymous, ContactNever, "preferences"},
		{IdentityPseudonymous, ContactTransactional, "email preferences"},
		{IdentityIdentified, ContactNever, "name address preferences"},
		{IdentityIdentified, ContactMarketing, "name email address phone preferences"},
	} {
		got := strings.Join(AllowedDetails(Terms{Identity: c.identity, Contact: c.contact}), " ")
		if got != c.want {
			t.Errorf("identity %s, contact %s: %q, want %q", c.identity, c.contact, got, c.want)
		}
	}
}

func TestParseDetails(t *testing.T) {
	for _, c := range []struct{ in, path string }{
		{`{"email":"ada@example.org","name":"Ada","address":"1 Main St\nTown","phone":"+44 (20) 7946-0000","preferences":{"language":"en"}}`, ""},
		{`{"email":"ada"}`, "email"},
		{`{"email":"Ada <ada@example.org>"}`, "email"},
		{`{"phone":"call me"}`, "phone"},
		{`{"name":"Ada\nLovelace"}`, "name"},
		{`{"address":"` + strings.Repeat("x", 501) + `"}`, "address"},
		{`{"preferences":{"":"x"}}`, "preferences[]"},
		{`{"preferences":{"size":"` + strings.Repeat("x", 201) + `"}}`, "preferences[size]"},
		{`{"nickname":"x"}`, "nickname"},
		{`{"email":5}`, "email"},
	} {
		_, err := ParseDetails([]byte(c.in))
		if c.path == "" {
			if err != nil {
				t.Errorf("%.40s: %v", c.in, err)
			}
			continue
		}
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Path != c.path {
			t.Errorf("%.40s: %v, want an error at %q", c.in, err, c.path)
		}
	}
}

func TestDetailsRequestValidation(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "protocol", "details-request.json"))
	if err != nil {
		t.Fatal(err)
	}
	req, err := ParseSignedRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	bad := *req
	bad.Details = nil
	if err := bad.Validate(); err == nil || !strings.HasPrefix(err.Error(), "details:") {
		t.Errorf("a details request without details: %v", err)
	}
	bad = *req
	bad.Type = RequestEnd
	if err := bad.Validate(); err == nil || !strings.HasPrefix(err.Error(), "details:") {
		t.Errorf("an end request with details: %v", err)
	}
	bad = *req
	bad.Details = &Details{Email: "not-an-address"}
	if err := bad.Validate(); err == nil || !strings.HasPrefix(err.Error(), "details.email:") {
		t.Errorf("an invalid email: %v", err)
	}
	if got := (Details{Name: "A", Preferences: map[string]string{"b": "2", "a": "1"}}).Fields(); !slices.Equal(got, []string{"name", "preferences"}) {
		t.Errorf("Fields: %v", got)
	}
}

func FuzzParseDetails(f *testing.F) {
	f.Add([]byte(`{"email":"ada@example.org","preferences":{"language":"en"}}`))
	f.Add([]byte(`{"address":"1 Main St\nTown","phone":"+1 555 0100"}`))
	f.Fuzz(func(t *testing.T, b []byte) { roundTrip(t, b, ParseDetails) })
}

// An update replaces what it holds and keeps what it lacks; the result
// shares nothing with either side.
func TestDetailsApply(t *testing.T) {
	held := Details{Name: "Ada", Email: "ada@example.org", Preferences: map[string]string{"language": "en", "size": "M"}}
	for _, tc := range []struct {
		name string
		upd  Details
		want Details
	}{
		{"nothing sent", Details{}, held},
		{"one member", Details{Email: "ada@lovelace.example"},
			Details{Name: "Ada", Email: "ada@lovelace.example", Preferences: map[string]string{"language": "en", "size": "M"}}},
		{"preferences as a whole", Details{Preferences: map[string]string{"language": "fr"}},
			Details{Name: "Ada", Email: "ada@example.org", Preferences: map[string]string{"language": "fr"}}},
		{"new members", Details{Address: "1 Main St", Phone: "+44 20 7946 0000"},
			Details{Name: "Ada", Email: "ada@example.org", Address: "1 Main St", Phone: "+44 20 7946 0000", Preferences: map[string]string{"language": "en", "size": "M"}}},
	} {
		got := held.Apply(tc.upd)
		for _, f := range DetailFields {
			if got.Get(f) != tc.want.Get(f) {
				t.Errorf("%s: %s is %q, want %q", tc.name, f, got.Get(f), tc.want.Get(f))
			}
		}
		got.Preferences["language"] = "changed"
		if held.Preferences["language"] != "en" || tc.upd.Preferences != nil && tc.upd.Preferences["language"] == "changed" {
			t.Fatalf("%s: the result shares its preferences", tc.name)
		}
	}
}
