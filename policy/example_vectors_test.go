package policy

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// go test ./policy -run TestGeneratedVectors -update rewrites the generated
// vector files and the matching blocks of PROTOCOL.md; without -update the test proves that regenerating them from
// the fixed seeds below gives the stored bytes exactly.
var update = flag.Bool("update", false, "rewrite generated test vectors")

// Fixed inputs of every generated vector (also listed in PROTOCOL.md).
var (
	exampleSiteSeed = seq(0x00, 32)
	exampleUserSeed = seq(0x20, 32)
	exampleNonce    = b64.EncodeToString(seq(0xa0, 16))
	exampleReqNonce = b64.EncodeToString(seq(0xb0, 16))
	exampleDetNonce = b64.EncodeToString(seq(0xc0, 16))
	exampleCreated  = time.Date(2026, 11, 24, 13, 0, 0, 0, time.UTC)
	exampleSite     = "https://shop.example"
)

func seq(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func marshalIndent(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// exampleFiles builds the worked example of PROTOCOL.md: path (relative to
// the repository root) → exact bytes.
func exampleFiles(t testing.TB) map[string][]byte {
	sitePriv := ed25519.NewKeyFromSeed(exampleSiteSeed)
	userPriv := ed25519.NewKeyFromSeed(exampleUserSeed)
	sitePub, userPub := sitePriv.Public().(ed25519.PublicKey), userPriv.Public().(ed25519.PublicKey)

	shop := Offer{ID: "basic", Preset: "SD-BY-A", Summary: "What we need to sell to you, and first-party analytics.",
		Terms: Terms{Tracking: TrackingFirstParty, Purposes: []Purpose{PurposeService, PurposeAnalytics}, Sharing: SharingProcessors,
			Retention: "P30D", Identity: IdentityPseudonymous, Contact: ContactTransactional},
		Obligations: Obligations{Access: LevelOnRequest, Deletion: LevelOnRequest, DataReturn: LevelOnRequest}}
	ads := Offer{ID: "ads", Preset: "SD-BY-ATP", Summary: "Personalised offers and ads in exchange for a discount.",
		Terms: Terms{Tracking: TrackingSameParty, Purposes: []Purpose{PurposeService, PurposeAnalytics, PurposePersonalisedAds}, Sharing: SharingProcessors,
			Retention: "P1Y", Identity: IdentityIdentified, Contact: ContactMarketing},
		Obligations: Obligations{Access: LevelOnRequest, Deletion: LevelOnRequest, DataReturn: LevelOnRequest}}
	doc := TermsDocument{V: 1, Controller: Controller{Name: "Example Shop Ltd", Contact: "privacy@shop.example"},
		Policy: "https://shop.example/privacy", PublicKey: EncodeKey(sitePub), LastUpdate: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		Endpoints: Endpoints{Agreement: "/.well-known/dnt-d/agree", DataReturn: "/.well-known/dnt-d/data", End: "/.well-known/dnt-d/end"},
		Offers:    []Offer{ads, shop}}
	termsBytes := marshalIndent(t, doc)
	parsed, err := ParseTermsDocument(termsBytes)
	if err != nil {
		t.Fatal(err)
	}
	user, _ := Preset(DefaultPreset)
	m := Match(user, parsed)
	if m.Offer == nil {
		t.Fatalf("example: no match: %+v", m.Conflicts)
	}
	a := Agreement{V: 1, Site: exampleSite, TermsDigest: Digest(termsBytes), Offer: m.Offer.ID,
		Terms: m.Offer.Terms, Obligations: m.Offer.Obligations, UserKey: EncodeKey(userPub), SiteKey: parsed.PublicKey,
		Nonce: exampleNonce, Created: exampleCreated}
	userSig, err := SignAgreement(a, userPriv)
	if err != nil {
		t.Fatal(err)
	}
	siteSig, err := SignAgreement(a, sitePriv)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := NewRecord(a, userSig, siteSig)
	if err != nil {
		t.Fatal(err)
	}
	signed, _ := SignedBytes(a)
	chain, err := AppendEvent(nil, Event{Type: EventNegotiated, Time: exampleCreated.Add(time.Second), Agreement: rec.ID, Detail: "accepted offer basic"})
	if err != nil {
		t.Fatal(err)
	}
	req := SignedRequest{V: 1, Type: RequestDataReturn, Record: rec.ID, Nonce: exampleReqNonce, Created: exampleCreated.Add(10 * time.Minute)}
	if err := SignRequest(&req, userPriv); err != nil {
		t.Fatal(err)
	}
	reqSigned, _ := RequestSignedBytes(req)
	dataReturn := DataReturn{V: 1, Record: rec.ID, Controller: doc.Controller, Generated: req.Created.Add(time.Second),
		Items: []DataItem{{Type: "page-view", Time: exampleCreated.Add(2 * time.Second), Data: map[string]string{"path": "/"}}}}
	hashed, _ := chain[0].HashedBytes()
	detReq := SignedRequest{V: 1, Type: RequestDetails, Record: rec.ID, Nonce: exampleDetNonce, Created: exampleCreated.Add(20 * time.Minute),
		Details: &Details{Email: "ada@example.org"}}
	if err := SignRequest(&detReq, userPriv); err != nil {
		t.Fatal(err)
	}
	if err := VerifyRequest(detReq, userPub); err != nil {
		t.Fatal(err)
	}
	detSigned, _ := RequestSignedBytes(detReq)
	return map[string][]byte{
		"testdata/protocol/details-request.json":       marshalIndent(t, detReq),
		"testdata/protocol/details-request-signed.txt": detSigned,
		"testdata/protocol/details-answer.json":        marshalIndent(t, DetailsAnswer{V: 1, Status: "updated", Record: rec.ID, Fields: []string{DetailEmail}}),
		"testdata/protocol/terms.json":                 termsBytes,
		"testdata/protocol/response-headers.txt":       []byte("Content-Type: text/html; charset=utf-8\n" + ResponseHeader + ": " + ResponseHeaderValue(Digest(termsBytes)) + "\nTk: N\nVary: DNT, Sec-GPC, Sec-DNT-D\n"),
		"testdata/protocol/request-headers.txt":        []byte("DNT: 1\nSec-GPC: 1\n" + RequestHeader + ": " + RequestHeaderValue("") + "\n"),
		"testdata/protocol/agreement-signed.txt":       signed,
		"testdata/protocol/proposal.json":              marshalIndent(t, Proposal{V: 1, Type: "proposal", Agreement: a, UserSignature: userSig}),
		"testdata/protocol/accepted.json":              marshalIndent(t, Answer{V: 1, Status: StatusAccepted, Record: &rec}),
		"testdata/protocol/record.json":                marshalIndent(t, rec),
		"testdata/protocol/event-hashed.txt":           hashed,
		"testdata/protocol/event.json":                 marshalIndent(t, chain[0]),
		"testdata/protocol/agreed-headers.txt":         []byte("DNT: 1\nSec-GPC: 1\n" + RequestHeader + ": " + RequestHeaderValue(AgreedDigest(a.Terms, a.Obligations)) + "\n"),
		"testdata/protocol/agreed-response.txt":        []byte(ResponseHeader + ": " + ResponseHeaderValue(Digest(termsBytes)) + "\nTk: C\nVary: DNT, Sec-GPC, Sec-DNT-D\n"),
		"testdata/protocol/data-request.json":          marshalIndent(t, req),
		"testdata/protocol/data-request-signed.txt":    reqSigned,
		"testdata/protocol/data-return.json":           marshalIndent(t, dataReturn),
	}
}

type sigTamper struct {
	Name   string `json:"name"`
	Record Record `json:"record"`
	Error  string `json:"error"`
	Kind   string `json:"kind"`
}

type reqVector struct {
	Name        string        `json:"name"`
	Request     SignedRequest `json:"request"`
	Key         string        `json:"key"`
	SignedBytes string        `json:"signedBytes,omitempty"`
	Error       string        `json:"error,omitempty"`
	Kind        string        `json:"kind,omitempty"`
}

type signatureFile struct {
	Comment        string      `json:"_comment"`
	SiteSeedHex    string      `json:"siteSeedHex"`
	UserSeedHex    string      `json:"userSeedHex"`
	SiteKey        string      `json:"siteKey"`
	UserKey        string      `json:"userKey"`
	Agreement      Agreement   `json:"agreement"`
	SignedBytes    string      `json:"signedBytes"`
	SignedBytesHex string      `json:"signedBytesHex"`
	RecordID       string      `json:"recordId"`
	AgreedDigest   string      `json:"agreedDigest"`
	UserSignature  string      `json:"userSignature"`
	SiteSignature  string      `json:"siteSignature"`
	Tampered       []sigTamper `json:"tampered"`
	Requests       []reqVector `json:"requests"`
}

func signatureVectors(t testing.TB) []byte {
	sitePriv := ed25519.NewKeyFromSeed(exampleSiteSeed)
	userPriv := ed25519.NewKeyFromSeed(exampleUserSeed)
	var rec Record
	if err := json.Unmarshal(exampleFiles(t)["testdata/protocol/record.json"], &rec); err != nil {
		t.Fatal(err)
	}
	a := rec.Agreement
	signed, _ := SignedBytes(a)
	f := signatureFile{
		Comment:     "Ed25519 over signedBytes = \"dnt-d/1 agreement\\n\" + JCS(agreement); recordId = base64(SHA-256(signedBytes)). Keys from the seeds (RFC 8032). Each tampered record must fail VerifyRecord at error.",
		SiteSeedHex: hex.EncodeToString(exampleSiteSeed), UserSeedHex: hex.EncodeToString(exampleUserSeed),
		SiteKey: a.SiteKey, UserKey: a.UserKey, Agreement: a, SignedBytes: string(signed), SignedBytesHex: hex.EncodeToString(signed),
		RecordID: rec.ID, AgreedDigest: AgreedDigest(a.Terms, a.Obligations), UserSignature: rec.UserSignature, SiteSignature: rec.SiteSignature,
	}
	tamper := func(name, errPath, kind string, fn func(r *Record)) {
		r := rec
		r.Agreement.Terms.Purposes = append([]Purpose(nil), rec.Agreement.Terms.Purposes...)
		fn(&r)
		f.Tampered = append(f.Tampered, sigTamper{name, r, errPath, kind})
	}
	reID := func(r *Record) { r.ID, _ = RecordID(r.Agreement) }
	tamper("retention changed, id kept", "id", "record_id", func(r *Record) { r.Agreement.Terms.Retention = "P1Y" })
	tamper("retention changed, id recomputed", "userSignature", "bad_signature", func(r *Record) { r.Agreement.Terms.Retention = "P1Y"; reID(r) })
	tamper("purpose added, id recomputed", "userSignature", "bad_signature", func(r *Record) {
		r.Agreement.Terms.Purposes = append(r.Agreement.Terms.Purposes, PurposePersonalisedAds)
		reID(r)
	})
	tamper("site signature is the user's", "siteSignature", "bad_signature", func(r *Record) { r.SiteSignature = r.UserSignature })
	tamper("user key swapped for the site key", "userSignature", "bad_signature", func(r *Record) { r.Agreement.UserKey = r.Agreement.SiteKey; reID(r) })
	tamper("created moved by a second", "userSignature", "bad_signature", func(r *Record) { r.Agreement.Created = r.Agreement.Created.Add(time.Second); reID(r) })
	tamper("user re-signs the changed agreement, site does not", "siteSignature", "bad_signature", func(r *Record) {
		r.Agreement.Obligations.DataReturn = LevelNone
		reID(r)
		r.UserSignature, _ = SignAgreement(r.Agreement, userPriv)
	})
	tamper("signature truncated", "userSignature", "invalid_value", func(r *Record) { r.UserSignature = r.UserSignature[:84] })

	for _, typ := range []string{RequestDataReturn, RequestEnd} {
		req := SignedRequest{V: 1, Type: typ, Record: rec.ID, Nonce: exampleReqNonce, Created: exampleCreated.Add(10 * time.Minute)}
		if err := SignRequest(&req, userPriv); err != nil {
			t.Fatal(err)
		}
		sb, _ := RequestSignedBytes(req)
		f.Requests = append(f.Requests, reqVector{Name: typ + " request", Request: req, Key: a.UserKey, SignedBytes: string(sb)})
	}
	good := f.Requests[0].Request
	bad := good
	bad.Type = RequestEnd
	f.Requests = append(f.Requests, reqVector{Name: "type changed after signing", Request: bad, Key: a.UserKey, Error: "signature", Kind: "bad_signature"})
	bad = good
	if err := SignRequest(&bad, sitePriv); err != nil {
		t.Fatal(err)
	}
	f.Requests = append(f.Requests, reqVector{Name: "signed by the site key, checked with the user key", Request: bad, Key: a.UserKey, Error: "signature", Kind: "bad_signature"})
	bad = good
	bad.Nonce = exampleNonce
	f.Requests = append(f.Requests, reqVector{Name: "nonce changed after signing", Request: bad, Key: a.UserKey, Error: "signature", Kind: "bad_signature"})
	return marshalIndent(t, f)
}

type chainCase struct {
	Name   string  `json:"name"`
	Events []Event `json:"events"`
	Error  string  `json:"error,omitempty"`
	Kind   string  `json:"kind,omitempty"`
}

type chainFile struct {
	Comment      string      `json:"_comment"`
	HashedBytes0 string      `json:"hashedBytes0"`
	Cases        []chainCase `json:"cases"`
}

func chainVectors(t testing.TB) []byte {
	var rec Record
	if err := json.Unmarshal(exampleFiles(t)["testdata/protocol/record.json"], &rec); err != nil {
		t.Fatal(err)
	}
	var chain []Event
	add := func(typ string, after time.Duration, agreement, detail string) {
		var err error
		chain, err = AppendEvent(chain, Event{Type: typ, Time: exampleCreated.Add(after), Agreement: agreement, Detail: detail})
		if err != nil {
			t.Fatal(err)
		}
	}
	add(EventNegotiated, time.Second, rec.ID, "accepted offer basic")
	add(EventDataReturned, 10*time.Minute, rec.ID, "1 item")
	add(EventTermsChanged, time.Hour, "", "terms digest changed")
	add(EventRenegotiated, time.Hour+time.Second, rec.ID, "accepted offer basic again")
	add(EventEnded, 2*time.Hour, rec.ID, "ended by the user")
	hashed, _ := chain[0].HashedBytes()
	f := chainFile{Comment: "hash = base64(SHA-256(JCS(event without \"hash\"))); prev = previous hash, \"\" first; seq counts from 0; times never go backwards.",
		HashedBytes0: string(hashed)}
	cp := func() []Event { return append([]Event(nil), chain...) }
	f.Cases = append(f.Cases, chainCase{Name: "valid chain of five", Events: cp()})
	f.Cases = append(f.Cases, chainCase{Name: "empty chain", Events: []Event{}})
	c := cp()
	c[1].Detail = "0 items"
	f.Cases = append(f.Cases, chainCase{"detail edited", c, "[1].hash", "chain_broken"})
	c = cp()
	c[1], c[2] = c[2], c[1]
	f.Cases = append(f.Cases, chainCase{"two events reordered", c, "[1].seq", "chain_broken"})
	c = cp()
	c = append(c[:1], c[2:]...)
	f.Cases = append(f.Cases, chainCase{"middle event removed", c, "[1].seq", "chain_broken"})
	c = cp()
	c = append(c[:1], c[2:]...)
	for i := range c {
		c[i].Seq = i
		c[i].Hash, _ = c[i].ComputeHash()
	}
	f.Cases = append(f.Cases, chainCase{"middle event removed, renumbered and rehashed", c, "[1].prev", "chain_broken"})
	c = cp()
	c[2].Time = exampleCreated
	c[2].Hash, _ = c[2].ComputeHash()
	f.Cases = append(f.Cases, chainCase{"time goes backwards", c, "[2].time", "chain_broken"})
	c = cp()
	c[4].Hash = c[3].Hash
	f.Cases = append(f.Cases, chainCase{"last hash replaced", c, "[4].hash", "chain_broken"})
	c = cp()
	c[0].Type = "deleted"
	f.Cases = append(f.Cases, chainCase{"unknown event type", c, "[0].type", "invalid_value"})
	return marshalIndent(t, f)
}

func generatedFiles(t testing.TB) map[string][]byte {
	files := exampleFiles(t)
	files["testdata/policy/signatures.json"] = signatureVectors(t)
	files["testdata/policy/chains.json"] = chainVectors(t)
	files["testdata/policy/presets.json"] = presetVectors(t)
	return files
}

// rewriteProtocolBlocks replaces the content of every fenced block marked
// "<!-- vector: path -->" in PROTOCOL.md with the named file's bytes.
func rewriteProtocolBlocks(t *testing.T, files map[string][]byte) {
	full := filepath.Join("..", "PROTOCOL.md")
	b, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	var out strings.Builder
	for i := 0; i < len(lines); i++ {
		out.WriteString(lines[i])
		l := strings.TrimSuffix(lines[i], "\n")
		path, ok := strings.CutPrefix(l, "<!-- vector: ")
		if !ok || i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "```") {
			continue
		}
		content, ok := files[strings.TrimSuffix(path, " -->")]
		if !ok {
			continue
		}
		out.WriteString(lines[i+1])
		i += 2
		for i < len(lines) && lines[i] != "```\n" && lines[i] != "```" {
			i++
		}
		c := string(content)
		if !strings.HasSuffix(c, "\n") {
			c += "\n"
		}
		out.WriteString(c)
		if i < len(lines) {
			out.WriteString(lines[i])
		}
	}
	if err := os.WriteFile(full, []byte(out.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestGeneratedVectors(t *testing.T) {
	files := generatedFiles(t)
	if *update {
		rewriteProtocolBlocks(t, files)
	}
	for path, want := range files {
		full := filepath.Join("..", filepath.FromSlash(path))
		if *update {
			if err := os.WriteFile(full, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(full)
		if err != nil {
			t.Fatalf("%v (run go test ./policy -run TestGeneratedVectors -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the fixed seeds generate", path)
		}
	}
}
