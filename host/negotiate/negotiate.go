package negotiate

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/policy"
)

// Input is what a negotiation starts from.
type Input struct {
	Origin  string // canonical origin
	Digest  string // advertised terms digest
	User    policy.UserTerms
	Public  ed25519.PublicKey
	Private ed25519.PrivateKey
	// BeforePropose, if set, runs once before the first proposal is sent
	// and returns the key pair to propose with (replacing Public and
	// Private): the agent stores the pairwise key there, or takes the one
	// another process stored meanwhile, so that a retry after a lost answer
	// or a killed host proposes with the same key (PROTOCOL.md 10.5). An
	// error stops the negotiation.
	BeforePropose func() (ed25519.PublicKey, ed25519.PrivateKey, error)
}

// Outcome is how a negotiation ended, when the site answered correctly.
// Record is set when agreed; otherwise Conflicts says why not.
type Outcome struct {
	Digest       string // digest of Doc's exact bytes
	Doc          *policy.TermsDocument
	Record       *policy.Record
	Offer        *policy.Offer // the offer agreed, or nil (own terms, or conflict)
	Conflicts    []policy.Conflict
	Reason       string // the site's reason for a refusal or counter-offer
	TermsChanged bool   // the site answered terms_changed and we refetched
}

// FetchTerms fetches origin's terms document and checks its digest against
// want (when want is not empty). It returns the parsed document and the
// digest of its exact bytes.
func (c *Client) FetchTerms(ctx context.Context, origin, want string) (*policy.TermsDocument, string, error) {
	resp, err := c.do(ctx, origin, http.MethodGet, origin+policy.WellKnownPath, nil)
	if err != nil {
		return nil, "", err
	}
	if resp.status == http.StatusTooManyRequests {
		return nil, "", siteError(resp)
	}
	if resp.status != http.StatusOK {
		return nil, "", errorf(proto.CodeSiteProtocolError, "%s%s answered %d", origin, policy.WellKnownPath, resp.status)
	}
	if resp.ctype != policy.MediaType {
		return nil, "", errorf(proto.CodeSiteProtocolError, "terms document has media type %q, want %s", resp.ctype, policy.MediaType)
	}
	got := policy.Digest(resp.body)
	if want != "" && got != want {
		return nil, "", errorf(proto.CodeSiteTermsMismatch, "terms document digest %s differs from the advertised %s", got, want)
	}
	if err := checkEndpoints(resp.body); err != nil {
		return nil, "", err
	}
	doc, err := policy.ParseTermsDocument(resp.body)
	if err != nil {
		return nil, "", errorf(proto.CodeSiteInvalidTerms, "invalid terms document: %v", err)
	}
	return doc, got, nil
}

// checkEndpoints refuses, with its own code, a terms document naming an
// endpoint that is not a path on the site's origin. (Strict parsing would
// refuse it too, but as generically invalid terms.)
func checkEndpoints(body []byte) error {
	var loose struct {
		Endpoints map[string]any `json:"endpoints"`
	}
	if json.Unmarshal(body, &loose) != nil {
		return nil // strict parsing reports it
	}
	for name, v := range loose.Endpoints {
		s, ok := v.(string)
		if !ok {
			continue
		}
		if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.Contains(s, "\\") {
			return errorf(proto.CodeSiteCrossOriginEndpoint, "endpoint %s %q is not a path on the site's origin", name, s)
		}
	}
	return nil
}

// DefaultNegotiateTimeout bounds one whole negotiation: fetching the terms,
// every proposal, and the re-fetch after terms_changed or unknown_offer
// (PROTOCOL.md 10.8 and section 20). The extension's own timeout for a
// negotiate message (20 s) exceeds it, so the host always answers first.
const DefaultNegotiateTimeout = 15 * time.Second

// Negotiate runs one negotiation (PROTOCOL.md, "Exchange"): fetch and check
// the terms, match them against in.User, propose, and verify the record.
//
// The agent actions of PROTOCOL.md 10.6 are enforced here: at most
// policy.MaxProposals proposals in all, the second only after a
// counter-offer, a 409 terms_changed (whose termsDigest the re-fetched
// document must have) or an unknown_offer (after which the terms are
// re-fetched); every answer must carry the DNT-D media type; and the whole
// negotiation ends within NegotiateTimeout (site_timeout).
func (c *Client) Negotiate(ctx context.Context, in Input) (*Outcome, error) {
	timeout := c.NegotiateTimeout
	if timeout <= 0 {
		timeout = DefaultNegotiateTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := c.negotiate(ctx, in)
	if err != nil && ctx.Err() != nil {
		var e *Error
		if !errors.As(err, &e) || e.Code == proto.CodeSiteUnreachable {
			err = errorf(proto.CodeSiteTimeout, "negotiation with %s did not finish within %s", in.Origin, timeout)
		}
	}
	return out, err
}

func (c *Client) negotiate(ctx context.Context, in Input) (*Outcome, error) {
	doc, digest, err := c.FetchTerms(ctx, in.Origin, in.Digest)
	if err != nil {
		return nil, err
	}
	n := &negotiation{c: c, in: in, out: &Outcome{}}
	for {
		n.out.Doc, n.out.Digest = doc, digest
		err := n.withDoc(ctx)
		var again *refetch
		if !errors.As(err, &again) {
			if err != nil {
				return nil, err
			}
			return n.out, nil
		}
		if n.proposals >= policy.MaxProposals {
			return nil, errorf(proto.CodeSiteProtocolError, "site answered %s after the last of %d proposals allowed", again.code, policy.MaxProposals)
		}
		// Re-fetch once; after terms_changed the document must be the one
		// whose digest the site named.
		if again.code == policy.CodeTermsChanged {
			n.out.TermsChanged = true
		}
		newDoc, newDigest, err := c.FetchTerms(ctx, in.Origin, again.digest)
		if err != nil {
			return nil, err
		}
		if again.code == policy.CodeUnknownOffer && newDigest == digest {
			return nil, errorf(proto.CodeSiteProtocolError, "site answered unknown_offer to an offer of the terms it still serves")
		}
		doc, digest = newDoc, newDigest
	}
}

// refetch is the answer that makes the agent re-fetch the terms and
// propose again: terms_changed (with the digest the site now serves) or
// unknown_offer.
type refetch struct{ code, digest string }

func (r *refetch) Error() string { return "site answered " + r.code }

// negotiation is the state of one Negotiate call.
type negotiation struct {
	c         *Client
	in        Input
	out       *Outcome
	proposals int  // sent so far, in all
	countered bool // the site made a counter-offer
	keyStored bool // in.BeforePropose ran
}

// withDoc matches out.Doc and proposes until the site accepts, refuses or
// asks for a re-fetch (*refetch).
func (n *negotiation) withDoc(ctx context.Context) error {
	in, out := n.in, n.out
	agreementURL, err := endpointURLString(in.Origin, out.Doc.Endpoints.Agreement)
	if err != nil {
		return err
	}
	match := policy.Match(in.User, out.Doc)
	a := policy.Agreement{
		V:           policy.Version,
		Site:        in.Origin,
		TermsDigest: out.Digest,
		UserKey:     policy.EncodeKey(in.Public),
		SiteKey:     out.Doc.PublicKey,
	}
	if match.Offer != nil {
		a.Offer, a.Terms, a.Obligations = match.Offer.ID, match.Offer.Terms, match.Offer.Obligations
	} else {
		// Counter-propose the user's own terms: the site may accept them.
		a.Terms, a.Obligations = in.User.Terms, in.User.Obligations
	}
	for {
		if n.proposals >= policy.MaxProposals {
			return errorf(proto.CodeSiteProtocolError, "no agreement after %d proposals", policy.MaxProposals)
		}
		if !n.keyStored && in.BeforePropose != nil {
			pub, priv, err := in.BeforePropose()
			if err != nil {
				return err
			}
			n.in.Public, n.in.Private = pub, priv
			in = n.in
			a.UserKey = policy.EncodeKey(pub)
		}
		n.keyStored = true
		n.proposals++
		a.Nonce = policy.NewNonce()
		a.Created = n.c.now().UTC().Truncate(1e9)
		sig, err := policy.SignAgreement(a, in.Private)
		if err != nil {
			return errorf(proto.CodeSiteProtocolError, "signing proposal: %v", err)
		}
		body, err := json.Marshal(policy.Proposal{V: policy.Version, Type: "proposal", Agreement: a, UserSignature: sig})
		if err != nil {
			return err
		}
		resp, err := n.c.do(ctx, in.Origin, http.MethodPost, agreementURL, body)
		if err != nil {
			return err
		}
		if resp.status != http.StatusOK {
			serr := siteError(resp)
			var e *Error
			if errors.As(serr, &e) {
				switch e.SiteCode {
				case policy.CodeTermsChanged:
					if resp.status != http.StatusConflict {
						return errorf(proto.CodeSiteProtocolError, "site answered terms_changed with status %d, not 409", resp.status)
					}
					if e.SiteDigest == "" {
						return errorf(proto.CodeSiteProtocolError, "site answered terms_changed without the termsDigest it now serves")
					}
					return &refetch{code: e.SiteCode, digest: e.SiteDigest}
				case policy.CodeUnknownOffer:
					return &refetch{code: e.SiteCode}
				}
			}
			return serr
		}
		if resp.ctype != policy.MediaType {
			return errorf(proto.CodeSiteProtocolError, "agreement answer has media type %q, not %s", resp.ctype, policy.MediaType)
		}
		ans, err := policy.ParseAnswer(resp.body)
		if err != nil {
			return errorf(proto.CodeSiteInvalidResponse, "invalid answer to proposal: %v", err)
		}
		out.Reason = ans.Reason
		switch ans.Status {
		case policy.StatusAccepted:
			if err := checkRecord(ans.Record, a, sig); err != nil {
				return err
			}
			out.Record = ans.Record
			if a.Offer != "" {
				out.Offer = out.Doc.Offer(a.Offer)
			}
			out.Conflicts = nil
			return nil
		case policy.StatusRefused:
			out.Conflicts = match.Conflicts
			if len(out.Conflicts) == 0 {
				out.Conflicts = ans.Conflicts
			}
			return nil
		case policy.StatusCounterOffer:
			if n.countered {
				return errorf(proto.CodeSiteProtocolError, "site made a second counter-offer")
			}
			n.countered = true
			offer := out.Doc.Offer(ans.CounterOffer)
			if offer == nil {
				return errorf(proto.CodeSiteProtocolError, "site counter-offered %q, which its terms document does not contain", ans.CounterOffer)
			}
			if conflicts := policy.CheckOffer(in.User, *offer); len(conflicts) > 0 {
				out.Conflicts = conflicts
				return nil
			}
			a.Offer, a.Terms, a.Obligations = offer.ID, offer.Terms, offer.Obligations
		}
	}
}

func endpointURLString(origin, path string) (string, error) {
	u, _, err := checkOrigin(origin)
	if err != nil {
		return "", err
	}
	return endpointURL(u, path)
}

// checkRecord verifies a record the site returned for agreement a.
func checkRecord(r *policy.Record, a policy.Agreement, userSig string) error {
	if r == nil {
		return errorf(proto.CodeSiteInvalidResponse, "accepted answer without a record")
	}
	if err := policy.VerifyRecord(*r); err != nil {
		return errorf(proto.CodeSiteBadSignature, "record does not verify: %v", err)
	}
	got, err1 := policy.SignedBytes(r.Agreement)
	want, err2 := policy.SignedBytes(a)
	if err1 != nil || err2 != nil {
		return errorf(proto.CodeSiteInvalidResponse, "record's agreement cannot be encoded")
	}
	if bytes.Equal(got, want) {
		if r.UserSignature != userSig {
			return errorf(proto.CodeSiteBadSignature, "record's user signature is not ours")
		}
		return nil
	}
	// A site that already holds an agreement in force with this pairwise
	// key for the same terms answers with that record (PROTOCOL.md 10.5): a
	// retry after a lost answer or a killed host. It is ours if it differs
	// from the proposal only in nonce and created: the user key is ours and
	// VerifyRecord checked the user signature under it.
	earlier := r.Agreement
	earlier.Nonce, earlier.Created = a.Nonce, a.Created
	if same, err := policy.SignedBytes(earlier); err != nil || !bytes.Equal(same, want) {
		return errorf(proto.CodeSiteInvalidResponse, "record's agreement differs from the one proposed")
	}
	return nil
}

// siteError turns a non-200 answer into an *Error, using the site's error
// document when it has one.
func siteError(resp *response) error {
	if resp.status == http.StatusTooManyRequests {
		e := errorf(proto.CodeSiteRateLimited, "site answered 429: too many requests; it asks to wait %s", resp.retryAfter)
		if resp.retryAfter == 0 {
			e = errorf(proto.CodeSiteRateLimited, "site answered 429: too many requests")
		}
		e.RetryAfter = resp.retryAfter
		return e
	}
	if resp.ctype != policy.MediaType {
		return errorf(proto.CodeSiteProtocolError, "site answered %d with media type %q, not %s", resp.status, resp.ctype, policy.MediaType)
	}
	if ed, err := policy.ParseErrorDocument(resp.body); err == nil {
		e := errorf(proto.CodeSiteRefused, "site answered %d %s: %s", resp.status, ed.Error, ed.Message)
		e.SiteCode, e.SiteDigest = ed.Error, ed.TermsDigest
		return e
	}
	return errorf(proto.CodeSiteProtocolError, "site answered %d without a valid error document", resp.status)
}

// CheckAnswer checks an answer to a request the extension sent itself (a
// data-return request from data.request) as the client checks its own: a
// 200 with the DNT-D media type is nil; anything else is the error the
// client would have returned (its SiteCode set for an error document).
func CheckAnswer(status int, contentType string, body []byte) error {
	ct, _, _ := mime.ParseMediaType(contentType)
	resp := &response{status: status, ctype: ct, body: body}
	if status != http.StatusOK {
		return siteError(resp)
	}
	if ct != policy.MediaType {
		return errorf(proto.CodeSiteProtocolError, "data-return answer has media type %q, not %s", ct, policy.MediaType)
	}
	return nil
}

// SignedRequest builds a signed data-return or end request for recordID
// and the endpoint URL it goes to. The extension sends data-return requests
// built here itself (data.request), so the site's own first-party cookie can
// link what it recorded of the browsing to the relationship (PROTOCOL.md 13).
func (c *Client) SignedRequest(origin, path, typ, recordID string, priv ed25519.PrivateKey) (target string, body []byte, err error) {
	if path == "" {
		return "", nil, errorf(proto.CodeNotSupported, "the site offers no %s endpoint", typ)
	}
	target, err = endpointURLString(origin, path)
	if err != nil {
		return "", nil, err
	}
	req := policy.SignedRequest{V: policy.Version, Type: typ, Record: recordID, Nonce: policy.NewNonce(), Created: c.now().UTC().Truncate(1e9)}
	if err := policy.SignRequest(&req, priv); err != nil {
		return "", nil, err
	}
	body, err = json.Marshal(req)
	return target, body, err
}

// signed sends a signed data-return or end request for recordID.
func (c *Client) signed(ctx context.Context, origin, path, typ, recordID string, priv ed25519.PrivateKey) (*response, error) {
	target, body, err := c.SignedRequest(origin, path, typ, recordID, priv)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, origin, http.MethodPost, target, body)
	if err != nil {
		return nil, err
	}
	if resp.status != http.StatusOK {
		return nil, siteError(resp)
	}
	if resp.ctype != policy.MediaType {
		return nil, errorf(proto.CodeSiteProtocolError, "%s answer has media type %q, not %s", typ, resp.ctype, policy.MediaType)
	}
	return resp, nil
}

// DataReturn asks the site for what it holds under record recordID.
func (c *Client) DataReturn(ctx context.Context, origin string, doc *policy.TermsDocument, recordID string, priv ed25519.PrivateKey) (*policy.DataReturn, error) {
	resp, err := c.signed(ctx, origin, doc.Endpoints.DataReturn, policy.RequestDataReturn, recordID, priv)
	if err != nil {
		return nil, err
	}
	return CheckDataReturn(resp.body, recordID)
}

// CheckDataReturn parses a site's data-return answer strictly and checks it
// is for recordID.
func CheckDataReturn(body []byte, recordID string) (*policy.DataReturn, error) {
	dr, err := policy.ParseDataReturn(body)
	if err != nil {
		return nil, errorf(proto.CodeSiteInvalidResponse, "invalid data return: %v", err)
	}
	if dr.Record != recordID {
		return nil, errorf(proto.CodeSiteInvalidResponse, "data return is for record %s, not %s", dr.Record, recordID)
	}
	return dr, nil
}

// End tells the site the user ends the relationship under recordID.
func (c *Client) End(ctx context.Context, origin string, doc *policy.TermsDocument, recordID string, priv ed25519.PrivateKey) error {
	resp, err := c.signed(ctx, origin, doc.Endpoints.End, policy.RequestEnd, recordID, priv)
	if err != nil {
		return err
	}
	ea, err := policy.ParseEndAnswer(resp.body)
	if err != nil {
		return errorf(proto.CodeSiteInvalidResponse, "invalid end answer: %v", err)
	}
	if ea.Record != recordID {
		return errorf(proto.CodeSiteInvalidResponse, "end answer is for record %s, not %s", ea.Record, recordID)
	}
	return nil
}
