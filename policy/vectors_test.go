package policy

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readVectors(t testing.TB, name string, v any) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "policy", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

// parsers maps the vector files' parser names to the parsers, each returning
// the parsed value.
var parsers = map[string]func([]byte) (any, error){
	"terms":      func(b []byte) (any, error) { return ParseTermsDocument(b) },
	"user":       func(b []byte) (any, error) { return ParseUserTerms(b) },
	"agreement":  func(b []byte) (any, error) { return ParseAgreement(b) },
	"record":     func(b []byte) (any, error) { return ParseRecord(b) },
	"event":      func(b []byte) (any, error) { return ParseEvent(b) },
	"proposal":   func(b []byte) (any, error) { return ParseProposal(b) },
	"answer":     func(b []byte) (any, error) { return ParseAnswer(b) },
	"error":      func(b []byte) (any, error) { return ParseErrorDocument(b) },
	"request":    func(b []byte) (any, error) { return ParseSignedRequest(b) },
	"datareturn": func(b []byte) (any, error) { return ParseDataReturn(b) },
	"end":        func(b []byte) (any, error) { return ParseEndAnswer(b) },
}

type documentCase struct {
	Name   string          `json:"name"`
	Parser string          `json:"parser"`
	Doc    json.RawMessage `json:"doc"`
	Raw    *string         `json:"raw"`
	Error  *string         `json:"error"`
	Kind   string          `json:"kind"`
}

func (c documentCase) input() []byte {
	if c.Raw != nil {
		return []byte(*c.Raw)
	}
	return c.Doc
}

func loadDocumentCases(t testing.TB) []documentCase {
	var cases []documentCase
	readVectors(t, "documents.json", &cases)
	return cases
}

func TestDocumentVectors(t *testing.T) {
	t.Parallel()
	cases := loadDocumentCases(t)
	if len(cases) < 40 {
		t.Fatalf("only %d document vectors", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			parse, ok := parsers[c.Parser]
			if !ok {
				t.Fatalf("unknown parser %q", c.Parser)
			}
			v, err := parse(c.input())
			if c.Error == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				// A valid document re-marshals to the same JSON value.
				out, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				var a, b any
				json.Unmarshal(c.input(), &a)
				json.Unmarshal(out, &b)
				if !reflect.DeepEqual(a, b) {
					t.Errorf("round trip changed the document:\n in: %s\nout: %s", c.input(), out)
				}
				return
			}
			if err == nil {
				t.Fatalf("parsed; want error at %q", *c.Error)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			if pe.Path != *c.Error {
				t.Errorf("error path %q, want %q (error: %v)", pe.Path, *c.Error, err)
			}
			if got := ErrorKind(err); got != c.Kind {
				t.Errorf("error kind %q, want %q (error: %v)", got, c.Kind, err)
			}
			if *c.Error != "" && !strings.HasPrefix(err.Error(), *c.Error+": ") {
				t.Errorf("message %q does not start with the path", err)
			}
			if v != nil && !reflect.ValueOf(v).IsNil() {
				t.Errorf("parser returned a value with its error")
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	t.Parallel()
	big := []byte(`{"v":1,"policy":"` + strings.Repeat("a", MaxTermsDocument) + `"}`)
	for name, parse := range parsers {
		_, err := parse(big)
		if !errors.Is(err, ErrTooLarge) || WireErrorCode(err) != CodeTooLarge {
			t.Errorf("%s: got %v, want ErrTooLarge", name, err)
		}
	}
}

func TestInvalidUTF8(t *testing.T) {
	t.Parallel()
	_, err := ParseUserTerms([]byte("{\"v\":1,\"preset\":\"\xff\"}"))
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("got %v, want ErrMalformed", err)
	}
}

// TestDeepNesting: nesting where a string belongs is refused at its first
// bracket, as the wrong type, before the depth limit is reached.
func TestDeepNesting(t *testing.T) {
	t.Parallel()
	doc := `{"v":1,"preset":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`
	_, err := ParseUserTerms([]byte(doc))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Path != "preset" || !errors.Is(err, ErrInvalidValue) {
		t.Errorf("got %v, want an invalid value at preset", err)
	}
}

func TestRetentionVectors(t *testing.T) {
	t.Parallel()
	var v struct {
		Parse []struct {
			In      string `json:"in"`
			Class   string `json:"class"`
			Seconds int64  `json:"seconds"`
			Error   bool   `json:"error"`
		} `json:"parse"`
		Compare []struct {
			A, B Retention
			Want int `json:"want"`
		} `json:"compare"`
	}
	readVectors(t, "retention.json", &v)
	classes := map[string]RetentionClass{"none": ClassNone, "session": ClassSession, "duration": ClassDuration, "indefinite": ClassIndefinite}
	for _, c := range v.Parse {
		r, err := ParseRetention(c.In)
		if c.Error {
			if err == nil || !errors.Is(err, ErrInvalidValue) {
				t.Errorf("ParseRetention(%q) = %+v, %v; want ErrInvalidValue", c.In, r, err)
			}
			continue
		}
		if err != nil || r.Class != classes[c.Class] || r.Seconds != c.Seconds || r.String() != c.In {
			t.Errorf("ParseRetention(%q) = %+v, %v; want %s %d", c.In, r, err, c.Class, c.Seconds)
		}
	}
	for _, c := range v.Compare {
		if got := CompareRetention(c.A, c.B); got != c.Want {
			t.Errorf("CompareRetention(%q, %q) = %d, want %d", c.A, c.B, got, c.Want)
		}
		if got := CompareRetention(c.B, c.A); got != -c.Want {
			t.Errorf("CompareRetention(%q, %q) = %d, want %d", c.B, c.A, got, -c.Want)
		}
	}
}

func TestOriginVectors(t *testing.T) {
	t.Parallel()
	var cases []struct {
		In    string `json:"in"`
		Out   string `json:"out"`
		Error bool   `json:"error"`
	}
	readVectors(t, "origins.json", &cases)
	for _, c := range cases {
		got, err := ParseOrigin(c.In)
		if c.Error {
			if err == nil || !errors.Is(err, ErrInvalidValue) {
				t.Errorf("ParseOrigin(%q) = %q, %v; want ErrInvalidValue", c.In, got, err)
			}
			continue
		}
		if err != nil || got != c.Out {
			t.Errorf("ParseOrigin(%q) = %q, %v; want %q", c.In, got, err, c.Out)
		}
		if again, err := ParseOrigin(got); err != nil || again != got {
			t.Errorf("ParseOrigin not idempotent on %q: %q, %v", got, again, err)
		}
	}
}

func TestHeaderVectors(t *testing.T) {
	t.Parallel()
	var v struct {
		Request []struct {
			In     string  `json:"in"`
			Agreed string  `json:"agreed"`
			Error  *string `json:"error"`
		} `json:"request"`
		Response []struct {
			In    string  `json:"in"`
			Terms string  `json:"terms"`
			Error *string `json:"error"`
		} `json:"response"`
	}
	readVectors(t, "headers.json", &v)
	check := func(in string, got string, err error, want string, wantErr *string) {
		t.Helper()
		if wantErr != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Path != *wantErr {
				t.Errorf("%q: got %q, %v; want error at %q", in, got, err, *wantErr)
			}
			return
		}
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
		}
	}
	for _, c := range v.Request {
		got, err := ParseRequestHeader(c.In)
		check(c.In, got, err, c.Agreed, c.Error)
	}
	for _, c := range v.Response {
		got, err := ParseResponseHeader(c.In)
		check(c.In, got, err, c.Terms, c.Error)
	}
	// What we send parses back to what we meant.
	d := "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="
	if got, err := ParseRequestHeader(RequestHeaderValue(d)); err != nil || got != d {
		t.Errorf("request header round trip: %q, %v", got, err)
	}
	if RequestHeaderValue("") != "v=1" {
		t.Errorf("RequestHeaderValue(\"\") = %q", RequestHeaderValue(""))
	}
	if got, err := ParseResponseHeader(ResponseHeaderValue(d)); err != nil || got != d {
		t.Errorf("response header round trip: %q, %v", got, err)
	}
}

type matchFile struct {
	BaseOffer Offer `json:"baseOffer"`
	Cases     []struct {
		Name      string            `json:"name"`
		User      json.RawMessage   `json:"user"`
		Offers    []json.RawMessage `json:"offers"`
		Chosen    string            `json:"chosen"`
		Conflicts []Conflict        `json:"conflicts"`
	} `json:"cases"`
}

// mergeOffer applies a vector's partial offer to the base offer.
func mergeOffer(t *testing.T, base Offer, raw json.RawMessage) Offer {
	t.Helper()
	var part struct {
		ID          string         `json:"id"`
		Terms       map[string]any `json:"terms"`
		Obligations map[string]any `json:"obligations"`
	}
	if err := json.Unmarshal(raw, &part); err != nil {
		t.Fatal(err)
	}
	merge := func(into any, over map[string]any) {
		b, _ := json.Marshal(into)
		m := map[string]any{}
		json.Unmarshal(b, &m)
		for k, v := range over {
			m[k] = v
		}
		b, _ = json.Marshal(m)
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatal(err)
		}
	}
	o := base
	o.Terms.Purposes = append([]Purpose(nil), base.Terms.Purposes...)
	o.ID = part.ID
	merge(&o.Terms, part.Terms)
	merge(&o.Obligations, part.Obligations)
	return o
}

func TestMatchVectors(t *testing.T) {
	t.Parallel()
	var f matchFile
	readVectors(t, "match.json", &f)
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			var user UserTerms
			var name string
			if json.Unmarshal(c.User, &name) == nil {
				var ok bool
				if user, ok = Preset(name); !ok {
					t.Fatalf("no preset %q", name)
				}
			} else {
				u, err := ParseUserTerms(c.User)
				if err != nil {
					t.Fatal(err)
				}
				user = *u
			}
			doc := &TermsDocument{}
			for _, raw := range c.Offers {
				o := mergeOffer(t, f.BaseOffer, raw)
				if err := Validator().Struct(o); err != nil {
					t.Fatalf("vector offer %s invalid: %v", o.ID, err)
				}
				doc.Offers = append(doc.Offers, o)
			}
			got := Match(user, doc)
			if c.Chosen != "" {
				if got.Offer == nil || got.Offer.ID != c.Chosen || got.Conflicts != nil {
					t.Fatalf("got %+v, want offer %q", got, c.Chosen)
				}
				if CheckOffer(user, *got.Offer) != nil {
					t.Error("chosen offer has conflicts")
				}
				return
			}
			if got.Offer != nil {
				t.Fatalf("chose %q, want conflicts %+v", got.Offer.ID, c.Conflicts)
			}
			if !reflect.DeepEqual(got.Conflicts, c.Conflicts) {
				t.Errorf("conflicts:\n got %+v\nwant %+v", got.Conflicts, c.Conflicts)
			}
		})
	}
}

// TestShapeStopsEarly: a parser stops at the first value that does not fit
// the message, so what follows it (here, bytes that are not even JSON) is
// never read: a hostile body costs what its fitting prefix costs.
func TestShapeStopsEarly(t *testing.T) {
	t.Parallel()
	garbage := strings.Repeat("0,", 1000) + "\x00 not JSON"
	valid, err := os.ReadFile(filepath.Join("..", "testdata", "protocol", "proposal.json"))
	if err != nil {
		t.Fatal(err)
	}
	purposes := `"purposes": [`
	at := strings.Index(string(valid), purposes)
	if at < 0 {
		t.Fatalf("proposal.json has no %s", purposes)
	}
	for _, tc := range []struct{ name, doc, path string }{
		{"array for an object", "[" + garbage, ""},
		{"unknown member", `{"v":1,"x":[` + garbage, "x"},
		{"object for a string", `{"v":1,"type":{` + garbage, "type"},
		{"seventh purpose", string(valid[:at]) + purposes + strings.Repeat(`"service",`, 7) + garbage, "agreement.terms.purposes"},
	} {
		_, err := ParseProposal([]byte(tc.doc))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Path != tc.path || errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want a shape error at %q", tc.name, err, tc.path)
		}
	}
}
