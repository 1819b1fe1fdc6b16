package negotiate

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/policy"
)

// Details sends the user's details to the site's details endpoint under
// record recordID, signed with the relationship key (PROTOCOL.md, "Details
// update"), and checks that the site's answer names exactly the details sent.
// path is the site's endpoints.details.
func (c *Client) Details(ctx context.Context, origin, path, recordID string, d policy.Details, priv ed25519.PrivateKey) error {
	if path == "" {
		return errorf(proto.CodeNotSupported, "the site offers no details endpoint")
	}
	target, err := endpointURLString(origin, path)
	if err != nil {
		return err
	}
	req := policy.SignedRequest{V: policy.Version, Type: policy.RequestDetails, Record: recordID, Nonce: policy.NewNonce(),
		Created: c.now().UTC().Truncate(time.Second), Details: &d}
	if err := policy.SignRequest(&req, priv); err != nil {
		return err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, origin, http.MethodPost, target, body)
	if err != nil {
		return err
	}
	if resp.status != http.StatusOK {
		return siteError(resp)
	}
	if resp.ctype != policy.MediaType {
		return errorf(proto.CodeSiteProtocolError, "details answer has media type %q, not %s", resp.ctype, policy.MediaType)
	}
	a, err := policy.ParseDetailsAnswer(resp.body)
	if err != nil {
		return errorf(proto.CodeSiteInvalidResponse, "invalid details answer: %v", err)
	}
	if a.Record != recordID {
		return errorf(proto.CodeSiteInvalidResponse, "details answer is for record %s, not %s", a.Record, recordID)
	}
	got, want := slices.Clone(a.Fields), d.Fields()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return errorf(proto.CodeSiteInvalidResponse, "site says it took %v, but was sent %v", a.Fields, d.Fields())
	}
	return nil
}
