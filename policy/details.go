package policy

import (
	"net/mail"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// Details are the user's own details as a site may hold them (PROTOCOL.md,
// "Details update"): only the members the agreement allows
// (AllowedDetails), each as the user wrote it.
type Details struct {
	Name        string            `json:"name,omitempty" validate:"omitempty,max=200"`
	Email       string            `json:"email,omitempty" validate:"omitempty,max=254"`
	Address     string            `json:"address,omitempty" validate:"omitempty,max=500"`
	Phone       string            `json:"phone,omitempty" validate:"omitempty,max=32"`
	Preferences map[string]string `json:"preferences,omitempty" validate:"omitempty,max=32,dive,keys,min=1,max=64,endkeys,max=200"`
}

// Detail names, the members of Details in the order they are shown.
const (
	DetailName        = "name"
	DetailEmail       = "email"
	DetailAddress     = "address"
	DetailPhone       = "phone"
	DetailPreferences = "preferences"
)

// DetailFields lists every detail name in display order.
var DetailFields = []string{DetailName, DetailEmail, DetailAddress, DetailPhone, DetailPreferences}

var phoneRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\+?[0-9][0-9 ()./-]{3,30}$`) })

// Validate checks lengths and forms: an email is one addr-spec with an @, a
// phone is digits with the usual separators, text has no control characters
// except the address's line breaks. Errors name the member.
func (d *Details) Validate() error {
	if err := validateStruct(d); err != nil {
		return err
	}
	if d.Email != "" {
		a, err := mail.ParseAddress(d.Email)
		if err != nil || a.Address != d.Email || !strings.Contains(d.Email, "@") {
			return pathErr(DetailEmail, ErrInvalidValue, "must be an e-mail address like name@example.org")
		}
	}
	if d.Phone != "" && !phoneRe().MatchString(d.Phone) {
		return pathErr(DetailPhone, ErrInvalidValue, "must be a phone number: digits, optionally a leading + and spaces, dots, dashes or brackets")
	}
	for _, f := range []struct{ name, v string }{{DetailName, d.Name}, {DetailEmail, d.Email}, {DetailPhone, d.Phone}} {
		if !plainText(f.v, false) {
			return pathErr(f.name, ErrInvalidValue, "must be one line of text without control characters")
		}
	}
	if !plainText(d.Address, true) {
		return pathErr(DetailAddress, ErrInvalidValue, "must be text without control characters other than line breaks")
	}
	for k, v := range d.Preferences {
		if !plainText(k, false) || !plainText(v, false) {
			return pathErr(DetailPreferences+"."+k, ErrInvalidValue, "must be one line of text without control characters")
		}
	}
	return nil
}

func plainText(s string, lines bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == '\n' && lines {
			continue
		}
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// ParseDetails parses and validates a Details object strictly.
func ParseDetails(b []byte) (*Details, error) { return parse(b, MaxMessage, (*Details).Validate) }

// Fields returns the names of the non-empty members, in display order.
func (d Details) Fields() []string {
	var out []string
	for _, f := range DetailFields {
		if d.Get(f) != "" {
			out = append(out, f)
		}
	}
	return out
}

// Get returns one member as text; preferences as "key=value" lines, sorted.
func (d Details) Get(field string) string {
	switch field {
	case DetailName:
		return d.Name
	case DetailEmail:
		return d.Email
	case DetailAddress:
		return d.Address
	case DetailPhone:
		return d.Phone
	case DetailPreferences:
		keys := make([]string, 0, len(d.Preferences))
		for k := range d.Preferences {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for i, k := range keys {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(k + "=" + d.Preferences[k])
		}
		return b.String()
	}
	return ""
}

// Apply returns d updated as a details update (PROTOCOL.md 13.3) updates
// what a site holds: each member upd holds replaces d's (preferences as a
// whole); a member upd lacks was not sent, so d's is kept, not cleared.
func (d Details) Apply(upd Details) Details {
	out := d.Only(DetailFields) // a copy: the result shares no map with d
	if upd.Name != "" {
		out.Name = upd.Name
	}
	if upd.Email != "" {
		out.Email = upd.Email
	}
	if upd.Address != "" {
		out.Address = upd.Address
	}
	if upd.Phone != "" {
		out.Phone = upd.Phone
	}
	if len(upd.Preferences) > 0 {
		out.Preferences = upd.Only([]string{DetailPreferences}).Preferences
	}
	return out
}

// Only returns a copy of d holding only the named members.
func (d Details) Only(fields []string) Details {
	var out Details
	for _, f := range fields {
		switch f {
		case DetailName:
			out.Name = d.Name
		case DetailEmail:
			out.Email = d.Email
		case DetailAddress:
			out.Address = d.Address
		case DetailPhone:
			out.Phone = d.Phone
		case DetailPreferences:
			if len(d.Preferences) > 0 {
				out.Preferences = make(map[string]string, len(d.Preferences))
				for k, v := range d.Preferences {
					out.Preferences[k] = v
				}
			}
		}
	}
	return out
}

// AllowedDetails returns the details a site may hold under agreed terms
// (PROTOCOL.md, "Details update"):
//
//   - name and address: identity identified;
//   - email: identity pseudonymous or identified, and contact transactional or marketing;
//   - phone: identity identified and contact transactional or marketing;
//   - preferences: identity pseudonymous or identified.
//
// An anonymous agreement allows nothing: any detail would identify.
func AllowedDetails(t Terms) []string {
	identified := t.Identity == IdentityIdentified
	known := identified || t.Identity == IdentityPseudonymous
	contact := t.Contact == ContactTransactional || t.Contact == ContactMarketing
	var out []string
	for _, f := range DetailFields {
		ok := false
		switch f {
		case DetailName, DetailAddress:
			ok = identified
		case DetailEmail:
			ok = known && contact
		case DetailPhone:
			ok = identified && contact
		case DetailPreferences:
			ok = known
		}
		if ok {
			out = append(out, f)
		}
	}
	return out
}

// DetailsAnswer is a site's 200 answer to a details update.
type DetailsAnswer struct {
	V      int      `json:"v" validate:"eq=1"`
	Status string   `json:"status" validate:"required,eq=updated"`
	Record string   `json:"record" validate:"required,digest"`
	Fields []string `json:"fields" validate:"max=5,dive,oneof=name email address phone preferences"`
}

// Validate applies the checks ParseDetailsAnswer applies.
func (a *DetailsAnswer) Validate() error { return validateStruct(a) }

// ParseDetailsAnswer parses and validates a site's answer to a details update.
func ParseDetailsAnswer(b []byte) (*DetailsAnswer, error) {
	return parse(b, MaxMessage, (*DetailsAnswer).Validate)
}
