package negotiate

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/policy"
)

// Statements a site makes about itself outside DNT-D: its Global Privacy
// Control support (/.well-known/gpc.json) and the MyTerms agreements it
// accepts (PROTOCOL.md 9.2). Fetched for the host's site.check with the
// defences of every other request: the visited origin only, no cookies,
// no redirects followed, bodies capped.

// Statement states, as site.check reports them.
const (
	StatementFound       = "found"       // a valid statement
	StatementAbsent      = "absent"      // 404/410, another 4xx, or a redirect (never followed)
	StatementInvalid     = "invalid"     // an answer that does not parse, or is too large
	StatementUnreachable = "unreachable" // no answer, a 5xx or 429
)

// Fetched is the outcome of one statement fetch, in words for the popup.
type Fetched struct {
	State  string `json:"state"`
	Path   string `json:"path"`
	Detail string `json:"detail,omitempty"`
}

// fetchStatement GETs path on origin and sorts the outcome; body is set
// only when the site answered 200.
func (c *Client) fetchStatement(ctx context.Context, origin, path, accept string, max int64) (Fetched, []byte) {
	f := Fetched{Path: path}
	ou, _, err := checkOrigin(origin)
	if err == nil {
		var target string
		if target, err = endpointURL(ou, path); err == nil {
			var resp *response
			if resp, err = c.doAccept(ctx, origin, http.MethodGet, target, accept, max, nil); err == nil {
				switch {
				case resp.status == http.StatusOK:
					f.State = StatementFound
					return f, resp.body
				case resp.status == http.StatusTooManyRequests || resp.status >= 500:
					f.State, f.Detail = StatementUnreachable, fmt.Sprintf("the site answered %d", resp.status)
				default:
					f.State, f.Detail = StatementAbsent, fmt.Sprintf("the site answered %d", resp.status)
				}
				return f, nil
			}
		}
	}
	var se *Error
	switch {
	case errors.As(err, &se) && se.Code == proto.CodeSiteRedirect:
		f.State, f.Detail = StatementAbsent, "the site redirects this address elsewhere (not followed)"
	case errors.As(err, &se) && se.Code == proto.CodeSiteTooLarge:
		f.State, f.Detail = StatementInvalid, fmt.Sprintf("larger than %d bytes", max)
	case errors.As(err, &se) && se.Code == proto.CodeSiteCrossOriginEndpoint:
		f.State, f.Detail = StatementInvalid, err.Error()
	default:
		f.State, f.Detail = StatementUnreachable, err.Error()
	}
	return f, nil
}

// FetchGPC fetches origin's gpc.json.
func (c *Client) FetchGPC(ctx context.Context, origin string) (Fetched, *policy.GPCStatement) {
	f, body := c.fetchStatement(ctx, origin, policy.GPCPath, "application/json", policy.MaxGPCFile)
	if body == nil {
		return f, nil
	}
	s, err := policy.ParseGPC(body)
	if err != nil {
		f.State, f.Detail = StatementInvalid, err.Error()
		return f, nil
	}
	return f, s
}

// FetchMyTerms fetches origin's MyTerms file at path (the well-known path,
// or the same-origin path a page's <link rel="terms-of-service"> names).
func (c *Client) FetchMyTerms(ctx context.Context, origin, path string) (Fetched, *policy.MyTermsFile) {
	f, body := c.fetchStatement(ctx, origin, path, "application/json", policy.MaxMyTermsFile)
	if body == nil {
		return f, nil
	}
	m, err := policy.ParseMyTerms(body)
	if err != nil {
		f.State, f.Detail = StatementInvalid, err.Error()
		return f, nil
	}
	return f, m
}
