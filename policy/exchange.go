package policy

import (
	"bytes"
	"time"
)

// CheckProposal applies a site's checks of PROTOCOL.md section 10.3, steps 3
// to 7, to a parsed proposal: p names this site (origin) and its key,
// binds the current terms (digest of the bytes served, termsDigest), is
// fresh at now, carries a valid user signature, and proposes either an offer
// of doc unchanged or (offer omitted) a counter-proposal. Parsing (step 1,
// ParseProposal) and the nonce cache (step 2) are the caller's. Errors map
// to wire codes with WireErrorCode.
func CheckProposal(p *Proposal, origin string, doc *TermsDocument, termsDigest string, now time.Time) error {
	a := &p.Agreement
	if a.Site != origin {
		return pathErr("agreement.site", ErrInvalidValue, "is not this site's origin "+origin)
	}
	if a.SiteKey != doc.PublicKey {
		return pathErr("agreement.siteKey", ErrInvalidValue, "is not this site's public key")
	}
	if a.TermsDigest != termsDigest {
		return pathErr("agreement.termsDigest", ErrTermsChanged, "is not the digest of the current terms document")
	}
	if err := CheckFresh(a.Created, now); err != nil {
		return &ParseError{Path: "agreement.created", Err: errorsUnwrapParse(err)}
	}
	if err := VerifyAgreement(*a, p.UserSignature, a.UserKey); err != nil {
		return &ParseError{Path: "userSignature", Err: err}
	}
	if a.Offer == "" {
		return nil
	}
	o := doc.Offer(a.Offer)
	if o == nil {
		return pathErr("agreement.offer", ErrUnknownOffer, "is not an offer of the current terms document")
	}
	if AgreedDigest(a.Terms, a.Obligations) != AgreedDigest(o.Terms, o.Obligations) {
		return pathErr("agreement.terms", ErrUnknownOffer, "differ from the terms of offer "+o.ID)
	}
	return nil
}

func errorsUnwrapParse(err error) error {
	if pe, ok := err.(*ParseError); ok {
		return pe.Err
	}
	return err
}

// CheckAccepted is the agent's check of an accepted answer: the record must
// hold exactly the agreement the agent proposed and verify (VerifyRecord).
func CheckAccepted(proposed Agreement, rec Record) error {
	want, err := SignedBytes(proposed)
	if err != nil {
		return err
	}
	got, err := SignedBytes(rec.Agreement)
	if err != nil {
		return err
	}
	if !bytes.Equal(want, got) {
		return pathErr("agreement", ErrMismatch, "differs from the proposed agreement")
	}
	return VerifyRecord(rec)
}

// HTTPStatus returns the HTTP status code of an error document's code
// (PROTOCOL.md section 10.6).
func HTTPStatus(code string) int {
	switch code {
	case CodeTooLarge:
		return 413
	case CodeTermsChanged:
		return 409
	case CodeNotFound:
		return 404
	case CodeEnded:
		return 410
	case CodeMethodNotAllowed:
		return 405
	case CodeWrongHost:
		return 421
	case CodeRateLimited:
		return 429
	case CodeUnavailable:
		return 503
	}
	return 400
}
