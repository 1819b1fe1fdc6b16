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
