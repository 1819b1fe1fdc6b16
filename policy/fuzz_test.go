package policy

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// seedDocuments adds every document vector for parser, and the worked
// example's files, as fuzz seeds.
func seedDocuments(f *testing.F, parser string, extra ...string) {
	for _, c := range loadDocumentCases(f) {
		if c.Parser == parser {
			f.Add(c.input())
		}
	}
	for _, name := range extra {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "protocol", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// roundTrip is the property every parser must have: no panic, and whatever
// parses re-marshals to JSON that parses to the same value.
func roundTrip[T any](t *testing.T, b []byte, parse func([]byte) (*T, error)) {
	v, err := parse(b)
	if err != nil {
		if v != nil {
			t.Fatalf("value returned with error %v", err)
		}
		if _, ok := err.(*ParseError); !ok {
			t.Fatalf("error %v is %T, not *ParseError", err, err)
		}
		return
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	v2, err := parse(out)
	if err != nil {
		t.Fatalf("re-parse of %s: %v", out, err)
	}
	out2, _ := json.Marshal(v2)
	if !bytes.Equal(out, out2) {
		t.Fatalf("round trip changed the value:\n%s\n%s", out, out2)
	}
}

func FuzzParseTermsDocument(f *testing.F) {
	seedDocuments(f, "terms", "terms.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		roundTrip(t, b, ParseTermsDocument)
		if d, err := ParseTermsDocument(b); err == nil {
			// Matching any valid document against any preset never panics and
			// either chooses an offer of the document or reports conflicts.
			for _, p := range Presets {
				m := Match(p.Terms, d)
				if (m.Offer == nil) == (len(m.Conflicts) == 0) {
					t.Fatalf("match result %+v", m)
				}
			}
		}
	})
}

func FuzzParseUserTerms(f *testing.F) {
	seedDocuments(f, "user")
	f.Fuzz(func(t *testing.T, b []byte) { roundTrip(t, b, ParseUserTerms) })
}

func FuzzParseAgreement(f *testing.F) {
	seedDocuments(f, "agreement")
	f.Fuzz(func(t *testing.T, b []byte) {
		roundTrip(t, b, ParseAgreement)
		if a, err := ParseAgreement(b); err == nil {
			if _, err := RecordID(*a); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func FuzzParseRecord(f *testing.F) {
	seedDocuments(f, "record", "record.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		roundTrip(t, b, ParseRecord)
		if r, err := ParseRecord(b); err == nil {
			_ = VerifyRecord(*r) // must not panic
		}
	})
}

func FuzzParseEvent(f *testing.F) {
	seedDocuments(f, "event", "event.json")
	f.Fuzz(func(t *testing.T, b []byte) { roundTrip(t, b, ParseEvent) })
}

// FuzzParseMessages covers the exchange messages; the first byte picks the parser.
func FuzzParseMessages(f *testing.F) {
	names := []string{"proposal", "answer", "error", "request", "datareturn", "end"}
	for i, n := range names {
		for _, c := range loadDocumentCases(f) {
			if c.Parser == n {
				f.Add(append([]byte{byte(i)}, c.input()...))
			}
		}
	}
	for i, file := range []string{"proposal.json", "accepted.json", "", "data-request.json", "data-return.json"} {
		if file == "" {
			continue
		}
		b, err := os.ReadFile(filepath.Join("..", "testdata", "protocol", file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]byte{byte(i)}, b...))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		in := b[1:]
		switch int(b[0]) % len(names) {
		case 0:
			roundTrip(t, in, ParseProposal)
			if p, err := ParseProposal(in); err == nil {
				_ = VerifyProposal(*p)
			}
		case 1:
			roundTrip(t, in, ParseAnswer)
		case 2:
			roundTrip(t, in, ParseErrorDocument)
		case 3:
			roundTrip(t, in, ParseSignedRequest)
		case 4:
			roundTrip(t, in, ParseDataReturn)
		case 5:
			roundTrip(t, in, ParseEndAnswer)
		}
	})
}

func FuzzParseOrigin(f *testing.F) {
	var cases []struct {
		In string `json:"in"`
	}
	readVectors(f, "origins.json", &cases)
	for _, c := range cases {
		f.Add(c.In)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOrigin(s)
		if err != nil {
			return
		}
		again, err := ParseOrigin(o)
		if err != nil || again != o {
			t.Fatalf("ParseOrigin(%q) = %q, but ParseOrigin(%q) = %q, %v", s, o, o, again, err)
		}
	})
}

func FuzzParseRetention(f *testing.F) {
	var v struct {
		Parse []struct {
			In string `json:"in"`
		} `json:"parse"`
	}
	readVectors(f, "retention.json", &v)
	for _, c := range v.Parse {
		f.Add(c.In)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRetention(s)
		if err != nil {
			if CompareRetention(Retention(s), RetentionIndefinite) <= 0 {
				t.Fatalf("invalid %q sorts at or below indefinite", s)
			}
			return
		}
		again, err := ParseRetention(r.String())
		if err != nil || again != r {
			t.Fatalf("ParseRetention(%q) = %+v, re-parse %+v, %v", s, r, again, err)
		}
		if r.Seconds < 0 || CompareRetention(Retention(s), Retention(s)) != 0 {
			t.Fatalf("bad value %+v", r)
		}
	})
}

func FuzzParseHeaders(f *testing.F) {
	var v struct {
		Request []struct {
			In string `json:"in"`
		} `json:"request"`
		Response []struct {
			In string `json:"in"`
		} `json:"response"`
	}
	readVectors(f, "headers.json", &v)
	for _, c := range append(v.Request, v.Response...) {
		f.Add(c.In)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseRequestHeader(s); err == nil {
			if d2, err := ParseRequestHeader(RequestHeaderValue(d)); err != nil || d2 != d {
				t.Fatalf("request header %q: %q then %q, %v", s, d, d2, err)
			}
		}
		if d, err := ParseResponseHeader(s); err == nil {
			if d2, err := ParseResponseHeader(ResponseHeaderValue(d)); err != nil || d2 != d {
				t.Fatalf("response header %q: %q then %q, %v", s, d, d2, err)
			}
		}
	})
}
