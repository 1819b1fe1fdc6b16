package site_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
)

var update = flag.Bool("update", false, "rewrite testdata/site/checks.json")

// checkVectors is testdata/site/checks.json: the order of a site's checks
// (PROTOCOL.md 10.3, 10.7, 13) as HTTP exchanges with exact bodies, for any
// implementation of the site side to replay against itself.
type checkVectors struct {
	About []string    `json:"about"`
	Site  vectorSite  `json:"site"`
	Steps []checkStep `json:"steps"`
}

type vectorSite struct {
	Origin    string `json:"origin"`
	Terms     string `json:"terms"`
	KeySeed   string `json:"keySeed"`
	Endpoints struct {
		Agreement  string `json:"agreement"`
		DataReturn string `json:"dataReturn"`
		End        string `json:"end"`
	} `json:"endpoints"`
}

type checkStep struct {
	Name        string `json:"name"`
	Now         string `json:"now,omitempty"`
	Method      string `json:"method"`
	Endpoint    string `json:"endpoint"`
	Host        string `json:"host,omitempty"`
	ContentType string `json:"contentType,omitempty"`
	Body        string `json:"body,omitempty"`

	Status      int    `json:"status"`
	Error       string `json:"error,omitempty"`
	Allow       string `json:"allow,omitempty"`
	TermsDigest string `json:"termsDigest,omitempty"`
	BodyDigest  string `json:"bodyDigest,omitempty"`
	Answer      string `json:"answer,omitempty"`
	Record      string `json:"record,omitempty"`
	Offer       string `json:"offer,omitempty"`
	SameAs      string `json:"sameAs,omitempty"`
}

const checksFile = "../testdata/site/checks.json"

func seedKey(from byte) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = from + byte(i)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func readProtocolFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "protocol", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCheckVectors replays testdata/site/checks.json against a Vendor set
// up as the file says: the worked example's terms document (PROTOCOL.md 16),
// its site key, a clock at each step's time, rate limiting off.
func TestCheckVectors(t *testing.T) {
	if *update {
		b := generateCheckVectors(t)
		if err := os.MkdirAll(filepath.Dir(checksFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(checksFile, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(checksFile)
	if err != nil {
		t.Fatal(err)
	}
	if !*update && !bytes.Equal(raw, generateCheckVectors(t)) {
		t.Errorf("%s is not what the generator makes: run go test ./site -run TestCheckVectors -update", checksFile)
	}
	var vf checkVectors
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Steps) < 30 {
		t.Fatalf("only %d steps", len(vf.Steps))
	}
	terms := readProtocolFile(t, filepath.Base(vf.Site.Terms))
	h, clk := vectorVendor(t, vf.Site, terms)
	ep := map[string]string{"terms": policy.WellKnownPath, "agreement": vf.Site.Endpoints.Agreement,
		"dataReturn": vf.Site.Endpoints.DataReturn, "end": vf.Site.Endpoints.End}
	bodies := map[string][]byte{}
	for _, st := range vf.Steps {
		if st.Now != "" {
			now, err := time.Parse(time.RFC3339, st.Now)
			if err != nil {
				t.Fatalf("%s: now: %v", st.Name, err)
			}
			clk.Set(now)
		}
		req := httptest.NewRequest(st.Method, ep[st.Endpoint], strings.NewReader(st.Body))
		req.Host = "shop.example"
		if st.Host != "" {
			req.Host = st.Host
		}
		if st.ContentType != "" {
			req.Header.Set("Content-Type", st.ContentType)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body := rec.Body.Bytes()
		bodies[st.Name] = body
		fail := func(format string, args ...any) {
			t.Helper()
			t.Errorf("%s: "+format+"\n%s", append([]any{st.Name}, append(args, body)...)...)
		}
		if rec.Code != st.Status {
			fail("status %d, want %d", rec.Code, st.Status)
			continue
		}
		if ct := rec.Header().Get("Content-Type"); ct != policy.MediaType {
			fail("Content-Type %q", ct)
		}
		if st.Allow != "" && rec.Header().Get("Allow") != st.Allow {
			fail("Allow %q, want %q", rec.Header().Get("Allow"), st.Allow)
		}
		if st.SameAs != "" && !bytes.Equal(body, bodies[st.SameAs]) {
			fail("body differs from the answer to %q", st.SameAs)
		}
		if st.Error != "" {
			e, err := policy.ParseErrorDocument(body)
			if err != nil {
				fail("error document: %v", err)
				continue
			}
			if e.Error != st.Error || e.TermsDigest != st.TermsDigest {
				fail("error %q termsDigest %q, want %q %q", e.Error, e.TermsDigest, st.Error, st.TermsDigest)
			}
			continue
		}
		switch {
		case st.BodyDigest != "":
			if policy.Digest(body) != st.BodyDigest {
				fail("body digest %s, want %s", policy.Digest(body), st.BodyDigest)
			}
		case st.Endpoint == "agreement":
			a, err := policy.ParseAnswer(body)
			if err != nil || a.Status != st.Answer {
				fail("answer %v, want %s", err, st.Answer)
				continue
			}
			if st.Record != "" && (a.Record == nil || a.Record.ID != st.Record || policy.VerifyRecord(*a.Record) != nil) {
				fail("record, want %s verified", st.Record)
			}
		case st.Endpoint == "dataReturn":
			d, err := policy.ParseDataReturn(body)
			if err != nil || d.Record != st.Record {
				fail("data return %v, want record %s", err, st.Record)
				continue
			}
			found := false
			for _, it := range d.Items {
				if it.Type == "agreement" && it.Data["record"] == st.Record && it.Data["offer"] == st.Offer && it.Data["termsDigest"] == policy.Digest(terms) {
					found = true
				}
			}
			if !found {
				fail("no agreement item for record %s offer %s", st.Record, st.Offer)
			}
		case st.Endpoint == "end":
			a, err := policy.ParseEndAnswer(body)
			if err != nil || a.Record != st.Record {
				fail("end answer %v, want record %s", err, st.Record)
			}
		}
	}
}

type setClock struct{ clock }

func (c *setClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// vectorVendor sets a Vendor up as site describes and checks it serves
// exactly the terms document given.
func vectorVendor(t *testing.T, vs vectorSite, terms []byte) (http.Handler, *setClock) {
	t.Helper()
	doc, err := policy.ParseTermsDocument(terms)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := base64.StdEncoding.DecodeString(vs.KeySeed)
	if err != nil || len(seed) != ed25519.SeedSize {
		t.Fatalf("keySeed %q", vs.KeySeed)
	}
	clk := &setClock{clock{t: doc.LastUpdate}}
	v, err := site.New(site.Config{Origin: vs.Origin, Controller: doc.Controller, PolicyURL: doc.Policy, Offers: doc.Offers,
		Endpoints: doc.Endpoints, PrivateKey: ed25519.NewKeyFromSeed(seed), Now: clk.Now, RateLimit: site.RateLimit{Every: -1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, raw, _ := v.Terms(); !bytes.Equal(raw, terms) {
		t.Fatalf("the vendor serves other bytes than %s:\n%s", vs.Terms, raw)
	}
	return v.Handler(), clk
}

// generateCheckVectors makes testdata/site/checks.json from fixed inputs:
// the worked example of PROTOCOL.md 16 (terms, keys, proposal, data-return
// request), a second user key from seed bytes 0x40…0x5f, and fixed nonces
// and times. Ed25519 signatures are deterministic, so the file is too.
func generateCheckVectors(t *testing.T) []byte {
	t.Helper()
	terms := readProtocolFile(t, "terms.json")
	doc, err := policy.ParseTermsDocument(terms)
	if err != nil {
		t.Fatal(err)
	}
	digest := policy.Digest(terms)
	siteKey, user1, user2 := seedKey(0x00), seedKey(0x20), seedKey(0x40)
	pub := func(k ed25519.PrivateKey) string { return policy.EncodeKey(k.Public().(ed25519.PublicKey)) }
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	nonce := func(b byte) string {
		return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, policy.NonceSize))
	}
	compact := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	basic := doc.Offer("basic")
	agreement := func(user ed25519.PrivateKey, n byte, created string) policy.Agreement {
		return policy.Agreement{V: 1, Site: "https://shop.example", TermsDigest: digest, Offer: basic.ID, Terms: basic.Terms,
			Obligations: basic.Obligations, UserKey: pub(user), SiteKey: pub(siteKey), Nonce: nonce(n), Created: at(created)}
	}
	// proposal signs a with signer (the user's own key, or another to break the signature).
	proposal := func(a policy.Agreement, signer ed25519.PrivateKey) string {
		sig, err := policy.SignAgreement(a, signer)
		if err != nil {
			t.Fatal(err)
		}
		return compact(policy.Proposal{V: 1, Type: "proposal", Agreement: a, UserSignature: sig})
	}
	request := func(typ, record string, n byte, created string, signer ed25519.PrivateKey) string {
		r := policy.SignedRequest{V: 1, Type: typ, Record: record, Nonce: nonce(n), Created: at(created)}
		if err := policy.SignRequest(&r, signer); err != nil {
			t.Fatal(err)
		}
		return compact(r)
	}
	recordID := func(a policy.Agreement) string {
		id, err := policy.RecordID(a)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	edit := func(body string, pairs ...string) string {
		for i := 0; i < len(pairs); i += 2 {
			if !strings.Contains(body, pairs[i]) {
				t.Fatalf("%q not in %s", pairs[i], body)
			}
			body = strings.Replace(body, pairs[i], pairs[i+1], 1)
		}
		return body
	}
	example := string(readProtocolFile(t, "proposal.json"))
	exampleRecord := struct{ ID string }{}
	json.Unmarshal(readProtocolFile(t, "record.json"), &exampleRecord)
	exampleRequest := string(readProtocolFile(t, "data-request.json"))
	var exampleReq policy.SignedRequest
	json.Unmarshal([]byte(exampleRequest), &exampleReq)
	const ct = policy.MediaType
	valid := proposal(agreement(user1, 0x01, "2026-11-24T13:00:00Z"), user1)
	oldDigest := policy.Digest([]byte("the terms before"))

	steps := []checkStep{
		// PROTOCOL.md 10.7: the checks every endpoint makes first.
		{Name: "terms document under another host name", Now: "2026-11-24T13:00:30Z", Method: "GET", Endpoint: "terms", Host: "rebound.example", Status: 421, Error: "wrong_host"},
		{Name: "terms document", Method: "GET", Endpoint: "terms", Status: 200, BodyDigest: digest},
		{Name: "terms document with DELETE", Method: "DELETE", Endpoint: "terms", Status: 405, Error: "method_not_allowed", Allow: "GET, HEAD"},
		{Name: "agreement endpoint with GET", Method: "GET", Endpoint: "agreement", Status: 405, Error: "method_not_allowed", Allow: "POST"},
		{Name: "another host name comes before method and media type", Method: "PUT", Endpoint: "agreement", Host: "shop.example.rebound.example", ContentType: "text/plain", Body: "x", Status: 421, Error: "wrong_host"},
		{Name: "the host compares like an origin: case and default port aside", Method: "POST", Endpoint: "agreement", Host: "SHOP.example:443", ContentType: ct, Body: "{", Status: 400, Error: "malformed"},
		{Name: "method before media type", Method: "PUT", Endpoint: "agreement", ContentType: "text/plain", Body: valid, Status: 405, Error: "method_not_allowed", Allow: "POST"},
		{Name: "wrong media type", Method: "POST", Endpoint: "agreement", ContentType: "application/json", Body: valid, Status: 415, Error: "malformed"},
		{Name: "no media type", Method: "POST", Endpoint: "agreement", Body: valid, Status: 415, Error: "malformed"},
		{Name: "media type parameters are ignored; an array is no proposal (invalid)", Method: "POST", Endpoint: "agreement", ContentType: ct + "; charset=utf-8", Body: "[]", Status: 400, Error: "invalid"},

		// 10.3 step 1: malformed (not well-formed, or an undefined member) or invalid (the rest).
		{Name: "proposal: not JSON", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: `{"v":1,`, Status: 400, Error: "malformed"},
		{Name: "proposal: trailing data", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: valid + " {}", Status: 400, Error: "malformed"},
		{Name: "proposal: duplicate member", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: edit(valid, `{"v":1,`, `{"v":1,"v":1,`), Status: 400, Error: "malformed"},
		{Name: "proposal: a member not defined for the agreement", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: edit(valid, `"agreement":{`, `"agreement":{"cookie":"x",`), Status: 400, Error: "malformed"},
		{Name: "proposal: a defined member in another case as well", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: edit(valid, `"type":"proposal"`, `"type":"proposal","Type":"proposal"`), Status: 400, Error: "malformed"},
		{Name: "proposal: required member missing", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: edit(valid, `"nonce":"`+nonce(0x01)+`",`, ``), Status: 400, Error: "invalid"},
		{Name: "proposal: member of the wrong JSON type", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: edit(valid, `"created":"2026-11-24T13:00:00Z"`, `"created":1795525200`), Status: 400, Error: "invalid"},
		{Name: "proposal: member null", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: edit(valid, `"offer":"basic"`, `"offer":null`), Status: 400, Error: "invalid"},
		{Name: "proposal: type is not proposal", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: edit(valid, `"type":"proposal"`, `"type":"end"`), Status: 400, Error: "invalid"},
		{Name: "proposal: value outside its grammar", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: edit(valid, `"retention":"P30D"`, `"retention":"P1.5D"`), Status: 400, Error: "invalid"},
	}

	// 10.3 steps 3–7, each vector breaking its step and every later one.
	bad := agreement(user1, 0x02, "2026-11-24T12:00:00Z")
	bad.Offer, bad.TermsDigest = "gold", oldDigest
	otherSite := bad
	otherSite.Site = "https://other.example"
	otherKey := bad
	otherKey.SiteKey = pub(user2)
	otherKey.Nonce = nonce(0x03)
	oldTerms := bad
	oldTerms.Nonce = nonce(0x04)
	staleOnly := bad
	staleOnly.TermsDigest, staleOnly.Nonce = digest, nonce(0x05)
	badSig := staleOnly
	badSig.Created, badSig.Nonce = at("2026-11-24T13:00:00Z"), nonce(0x06)
	unknown := badSig
	unknown.Nonce = nonce(0x07)
	changed := agreement(user1, 0x08, "2026-11-24T13:00:00Z")
	changed.Terms.Retention = "P1Y"
	taken := agreement(user2, 0x09, "2026-11-24T13:00:00Z")
	steps = append(steps, []checkStep{
		{Name: "step 3 first: another site (old digest, stale, bad signature, unknown offer too)", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: proposal(otherSite, user2), Status: 400, Error: "invalid"},
		{Name: "step 3: not the site's key (and steps 4–7 broken)", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: proposal(otherKey, user2), Status: 400, Error: "invalid"},
		{Name: "step 4: old terms digest (stale, bad signature, unknown offer too)", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: proposal(oldTerms, user2), Status: 409, Error: "terms_changed", TermsDigest: digest},
		{Name: "step 5: stale (bad signature, unknown offer too)", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: proposal(staleOnly, user2), Status: 400, Error: "stale"},
		{Name: "step 6: bad signature (unknown offer too)", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: proposal(badSig, user2), Status: 400, Error: "bad_signature"},
		{Name: "step 7: unknown offer", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: proposal(unknown, user1), Status: 400, Error: "unknown_offer"},
		{Name: "step 7 answers are stored: the same body again", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: proposal(unknown, user1), Status: 400, Error: "unknown_offer", SameAs: "step 7: unknown offer"},
		{Name: "step 7: terms that differ from the offer's", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: proposal(changed, user1), Status: 400, Error: "unknown_offer"},
		{Name: "an answer before the signature verified takes no nonce: bad signature", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: proposal(taken, user1), Status: 400, Error: "bad_signature"},
		{Name: "an answer before the signature verified takes no nonce: the same nonce, signed", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: proposal(taken, user2), Status: 200, Answer: policy.StatusAccepted, Record: recordID(taken)},

		// The worked example, its retry, and its nonce reused (step 2).
		{Name: "the worked example's proposal", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: example, Status: 200, Answer: policy.StatusAccepted, Record: exampleRecord.ID},
		{Name: "the worked example's proposal again: the same answer", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: example, Status: 200, Answer: policy.StatusAccepted, Record: exampleRecord.ID, SameAs: "the worked example's proposal"},
		{Name: "the example's nonce with another signed body: replay", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: func() string {
			a := agreement(user1, 0xa0, "2026-11-24T13:00:01Z")
			a.Nonce = "oKGio6SlpqeoqaqrrK2urw=="
			return proposal(a, user1)
		}(), Status: 400, Error: "replay"},
		{Name: "the example's nonce with another unsigned body: replay before the signature", Method: "POST", Endpoint: "agreement", ContentType: ct, Body: edit(example, `"offer": "basic",`, `"offer": "ads",`), Status: 400, Error: "replay"},
	}...)

	// Section 13: data-return and end requests for the example's record.
	rec := exampleRecord.ID
	unknownRecord := policy.Digest([]byte("no such record"))
	steps = append(steps, []checkStep{
		{Name: "data-return request at the end endpoint: type not the endpoint's", Method: "POST", Endpoint: "end", ContentType: ct, Body: request("data-return", rec, 0x11, "2026-11-24T13:00:30Z", user1), Status: 400, Error: "invalid"},
		{Name: "end request at the data-return endpoint", Method: "POST", Endpoint: "dataReturn", ContentType: ct, Body: request("end", rec, 0x12, "2026-11-24T13:00:30Z", user1), Status: 400, Error: "invalid"},
		{Name: "data-return: a member not defined", Method: "POST", Endpoint: "dataReturn", ContentType: ct, Body: edit(request("data-return", rec, 0x13, "2026-11-24T13:00:30Z", user1), `{"v":1,`, `{"v":1,"session":"x",`), Status: 400, Error: "malformed"},
		{Name: "data-return: signature missing", Method: "POST", Endpoint: "dataReturn", ContentType: ct, Body: compact(policy.SignedRequest{V: 1, Type: "data-return", Record: rec, Nonce: nonce(0x14), Created: at("2026-11-24T13:00:30Z")}), Status: 400, Error: "invalid"},
		{Name: "data-return: unknown record (bad signature, stale too)", Method: "POST", Endpoint: "dataReturn", ContentType: ct, Body: request("data-return", unknownRecord, 0x15, "2026-11-24T12:00:00Z", user2), Status: 404, Error: "not_found"},
		{Name: "data-return: bad signature (stale too)", Method: "POST", Endpoint: "dataReturn", ContentType: ct, Body: request("data-return", rec, 0x16, "2026-11-24T12:00:00Z", user2), Status: 400, Error: "bad_signature"},
		{Name: "data-return: stale", Method: "POST", Endpoint: "dataReturn", ContentType: ct, Body: request("data-return", rec, 0x17, "2026-11-24T12:00:00Z", user1), Status: 400, Error: "stale"},
		{Name: "data-return: the worked example's request", Now: "2026-11-24T13:10:00Z", Method: "POST", Endpoint: "dataReturn", ContentType: ct, Body: exampleRequest, Status: 200, Record: rec, Offer: "basic"},
		{Name: "data-return: the same request again gets the same document", Method: "POST", Endpoint: "dataReturn", ContentType: ct, Body: exampleRequest, Status: 200, Record: rec, Offer: "basic", SameAs: "data-return: the worked example's request"},
		{Name: "data-return: the example's nonce with another body", Method: "POST", Endpoint: "dataReturn", ContentType: ct, Body: func() string {
			r := policy.SignedRequest{V: 1, Type: "data-return", Record: rec, Nonce: exampleReq.Nonce, Created: at("2026-11-24T13:09:59Z")}
			if err := policy.SignRequest(&r, user1); err != nil {
				t.Fatal(err)
			}
			return compact(r)
		}(), Status: 400, Error: "replay"},
		{Name: "end", Method: "POST", Endpoint: "end", ContentType: ct, Body: request("end", rec, 0x21, "2026-11-24T13:10:00Z", user1), Status: 200, Record: rec},
		{Name: "end again: the same answer, not 410", Method: "POST", Endpoint: "end", ContentType: ct, Body: request("end", rec, 0x21, "2026-11-24T13:10:00Z", user1), Status: 200, Record: rec, SameAs: "end"},
		{Name: "data-return after the end", Method: "POST", Endpoint: "dataReturn", ContentType: ct, Body: request("data-return", rec, 0x22, "2026-11-24T13:10:00Z", user1), Status: 410, Error: "ended"},
		{Name: "end after the end: bad signature before ended", Method: "POST", Endpoint: "end", ContentType: ct, Body: request("end", rec, 0x23, "2026-11-24T13:10:00Z", user2), Status: 400, Error: "bad_signature"},
		{Name: "end after the end: stale before ended", Method: "POST", Endpoint: "end", ContentType: ct, Body: request("end", rec, 0x24, "2026-11-24T13:00:00Z", user1), Status: 400, Error: "stale"},
		{Name: "end after the end: another nonce", Method: "POST", Endpoint: "end", ContentType: ct, Body: request("end", rec, 0x25, "2026-11-24T13:10:00Z", user1), Status: 410, Error: "ended"},
		{Name: "the other relationship is untouched", Method: "POST", Endpoint: "dataReturn", ContentType: ct, Body: request("data-return", recordID(taken), 0x26, "2026-11-24T13:10:00Z", user2), Status: 200, Record: recordID(taken), Offer: "basic"},
	}...)

	vf := checkVectors{
		About: []string{
			"The order of a DNT-D site's checks (PROTOCOL.md 10.3, 10.7, 13) as HTTP exchanges, for any implementation of the site side.",
			"Set the site up as 'site' says: origin, the terms document of the worked example (served byte for byte), its Ed25519 key from the seed, rate limiting off.",
			"Run the steps in order against one fresh site (they share its nonce cache and records). Before a step with 'now', set the site's clock to it.",
			"Send method to the endpoint's path with Host 'shop.example' unless 'host' is given, Content-Type 'contentType' if given, and 'body' byte for byte.",
			"Expect 'status' and Content-Type application/dnt-d+json; 'error': the error document's code ('termsDigest' its termsDigest); 'allow': the Allow header;",
			"'bodyDigest': SHA-256 of the body; 'answer'/'record': a 200 answer's status and record id; for a data return, 'record' and an item of type agreement",
			"for that record with 'offer' and the terms digest; for an end answer, 'record'; 'sameAs': the body is byte for byte the answer to that earlier step.",
			"Generated by go test ./site -run TestCheckVectors -update.",
		},
		Site: vectorSite{Origin: "https://shop.example", Terms: "../protocol/terms.json", KeySeed: base64.StdEncoding.EncodeToString(siteKey.Seed())},
	}
	vf.Site.Endpoints.Agreement, vf.Site.Endpoints.DataReturn, vf.Site.Endpoints.End = doc.Endpoints.Agreement, doc.Endpoints.DataReturn, doc.Endpoints.End
	vf.Steps = steps
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(vf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
