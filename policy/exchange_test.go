package policy

import (
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// exampleProposal returns the worked example's terms document, its digest,
// and its proposal, read from testdata/protocol.
func exampleProposal(t *testing.T) (*TermsDocument, string, *Proposal) {
	t.Helper()
	termsBytes, err := os.ReadFile(filepath.Join("..", "testdata", "protocol", "terms.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ParseTermsDocument(termsBytes)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := os.ReadFile(filepath.Join("..", "testdata", "protocol", "proposal.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseProposal(pb)
	if err != nil {
		t.Fatal(err)
	}
	return doc, Digest(termsBytes), p
}

func TestCheckProposal(t *testing.T) {
	t.Parallel()
	doc, digest, good := exampleProposal(t)
	userPriv := ed25519.NewKeyFromSeed(exampleUserSeed)
	now := exampleCreated.Add(time.Minute)
	resign := func(p *Proposal) {
		sig, err := SignAgreement(p.Agreement, userPriv)
		if err != nil {
			t.Fatal(err)
		}
		p.UserSignature = sig
	}
	if err := CheckProposal(good, exampleSite, doc, digest, now); err != nil {
		t.Fatalf("example proposal: %v", err)
	}
	cases := []struct {
		name   string
		origin string
		now    time.Time
		mutate func(p *Proposal)
		path   string
		code   string
	}{
		{"another site's proposal", "https://other.example", now, nil, "agreement.site", CodeInvalid},
		{"another site key", exampleSite, now, func(p *Proposal) { p.Agreement.SiteKey = p.Agreement.UserKey; resign(p) }, "agreement.siteKey", CodeInvalid},
		{"old terms", exampleSite, now, func(p *Proposal) { p.Agreement.TermsDigest = Digest([]byte("old")); resign(p) }, "agreement.termsDigest", CodeTermsChanged},
		{"six minutes late", exampleSite, exampleCreated.Add(6 * time.Minute), nil, "agreement.created", CodeStale},
		{"six minutes early", exampleSite, exampleCreated.Add(-6 * time.Minute), nil, "agreement.created", CodeStale},
		{"retention edited after signing", exampleSite, now, func(p *Proposal) { p.Agreement.Terms.Retention = "P1D" }, "userSignature", CodeBadSignature},
		{"unknown offer", exampleSite, now, func(p *Proposal) { p.Agreement.Offer = "gold"; resign(p) }, "agreement.offer", CodeUnknownOffer},
		{"offer with weaker obligations", exampleSite, now, func(p *Proposal) { p.Agreement.Obligations.DataReturn = LevelNone; resign(p) }, "agreement.terms", CodeUnknownOffer},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := *good
			p.Agreement.Terms.Purposes = append([]Purpose(nil), good.Agreement.Terms.Purposes...)
			if c.mutate != nil {
				c.mutate(&p)
			}
			err := CheckProposal(&p, c.origin, doc, digest, c.now)
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Path != c.path || WireErrorCode(err) != c.code {
				t.Fatalf("got %v (code %q), want %s at %s", err, WireErrorCode(err), c.code, c.path)
			}
		})
	}
	// A counter-proposal (no offer) with the user's own terms passes the
	// protocol checks; whether to accept it is the site's decision.
	counter := *good
	counter.Agreement.Offer = ""
	counter.Agreement.Terms, counter.Agreement.Obligations = CounterProposal(Presets[0].Terms)
	resign(&counter)
	if err := CheckProposal(&counter, exampleSite, doc, digest, now); err != nil {
		t.Errorf("counter-proposal: %v", err)
	}
}

func TestCheckAccepted(t *testing.T) {
	t.Parallel()
	_, _, p := exampleProposal(t)
	sitePriv := ed25519.NewKeyFromSeed(exampleSiteSeed)
	siteSig, _ := SignAgreement(p.Agreement, sitePriv)
	rec, err := NewRecord(p.Agreement, p.UserSignature, siteSig)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckAccepted(p.Agreement, rec); err != nil {
		t.Fatal(err)
	}
	// A site that "accepts" but records different terms, signed by both keys
	// it could obtain, is caught by the comparison, not just by signatures.
	other := p.Agreement
	other.Terms.Retention = "P1Y"
	rec2, _ := NewRecord(other, p.UserSignature, siteSig)
	if err := CheckAccepted(p.Agreement, rec2); !errors.Is(err, ErrMismatch) {
		t.Errorf("changed agreement: %v", err)
	}
	rec3 := rec
	rec3.SiteSignature = p.UserSignature
	if err := CheckAccepted(p.Agreement, rec3); !errors.Is(err, ErrBadSignature) {
		t.Errorf("bad site signature: %v", err)
	}
}

func TestErrorCodes(t *testing.T) {
	t.Parallel()
	want := map[string]int{CodeMalformed: 400, CodeInvalid: 400, CodeBadSignature: 400, CodeUnknownOffer: 400,
		CodeStale: 400, CodeReplay: 400, CodeTooLarge: 413, CodeTermsChanged: 409, CodeNotFound: 404, CodeEnded: 410,
		CodeMethodNotAllowed: 405, CodeWrongHost: 421, CodeRateLimited: 429, CodeUnavailable: 503}
	if len(ErrorCodes) != len(want) {
		t.Errorf("ErrorCodes has %d codes, want %d", len(ErrorCodes), len(want))
	}
	for code, status := range want {
		if HTTPStatus(code) != status {
			t.Errorf("HTTPStatus(%s) = %d, want %d", code, HTTPStatus(code), status)
		}
		// Every code is one the error document accepts.
		if err := (&ErrorDocument{V: 1, Error: code, Message: "m"}).Validate(); err != nil {
			t.Errorf("code %s: %v", code, err)
		}
	}
	if WireErrorCode(nil) != "" || WireErrorCode(errors.New("x")) != "" || ErrorKind(nil) != "" {
		t.Error("unrelated errors got codes")
	}
	if e := (&ParseError{Err: ErrTooLarge}); e.Error() != "too large" || !errors.Is(e, ErrTooLarge) {
		t.Errorf("ParseError without path: %q", e.Error())
	}
}

func TestMatchEmptyDocument(t *testing.T) {
	t.Parallel()
	u, _ := Preset(DefaultPreset)
	if m := Match(u, &TermsDocument{}); m.Offer != nil || m.Conflicts != nil {
		t.Errorf("empty document: %+v", m)
	}
	if m := Match(u, nil); m.Offer != nil {
		t.Errorf("nil document: %+v", m)
	}
}
