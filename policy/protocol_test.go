package policy

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// protocolBlocks returns the fenced blocks of PROTOCOL.md that follow a
// "<!-- vector: path -->" line: path → block content (lines joined by "\n",
// with a final "\n").
func protocolBlocks(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "PROTOCOL.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	var path string
	var inBlock bool
	var buf strings.Builder
	line := 0
	for sc.Scan() {
		line++
		l := sc.Text()
		switch {
		case inBlock && l == "```":
			if _, dup := blocks[path]; dup {
				t.Errorf("PROTOCOL.md: %s shown twice", path)
			}
			blocks[path] = buf.String()
			inBlock, path = false, ""
			buf.Reset()
		case inBlock:
			buf.WriteString(l + "\n")
		case path != "":
			if !strings.HasPrefix(l, "```") {
				t.Fatalf("PROTOCOL.md:%d: vector marker for %s not followed by a fence", line, path)
			}
			inBlock = true
		case strings.HasPrefix(l, "<!-- vector: ") && strings.HasSuffix(l, " -->"):
			path = strings.TrimSuffix(strings.TrimPrefix(l, "<!-- vector: "), " -->")
		}
	}
	if inBlock || path != "" {
		t.Fatal("PROTOCOL.md: unterminated vector block")
	}
	return blocks
}

func TestProtocolWorkedExample(t *testing.T) {
	t.Parallel()
	blocks := protocolBlocks(t)
	files := exampleFiles(t)
	for path, want := range files {
		got, ok := blocks[path]
		if !ok {
			t.Errorf("PROTOCOL.md does not show %s", path)
			continue
		}
		// A fence always ends its content with a line feed; the signed-bytes
		// files do not, so compare with it removed from both.
		if strings.TrimSuffix(got, "\n") != strings.TrimSuffix(string(want), "\n") {
			t.Errorf("PROTOCOL.md block for %s differs from the file:\n%s", path, got)
		}
	}
	for path := range blocks {
		if _, ok := files[path]; !ok {
			t.Errorf("PROTOCOL.md shows %s, which the example does not generate", path)
		}
	}

	// Check the example's internal consistency from the stored files alone.
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "protocol", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	termsBytes := read("terms.json")
	doc, err := ParseTermsDocument(termsBytes)
	if err != nil {
		t.Fatal(err)
	}
	headerValue := func(file, name string) string {
		for _, l := range strings.Split(string(read(file)), "\n") {
			if v, ok := strings.CutPrefix(l, name+": "); ok {
				return v
			}
		}
		t.Fatalf("%s has no %s", file, name)
		return ""
	}
	advertised, err := ParseResponseHeader(headerValue("response-headers.txt", ResponseHeader))
	if err != nil || advertised != Digest(termsBytes) {
		t.Fatalf("advertised digest %q, %v; terms digest %s", advertised, err, Digest(termsBytes))
	}
	if headerValue("request-headers.txt", "DNT") != "1" || headerValue("request-headers.txt", "Sec-GPC") != "1" ||
		headerValue("request-headers.txt", RequestHeader) != "v=1" {
		t.Error("request headers are not the fixed signals")
	}
	prop, err := ParseProposal(read("proposal.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyProposal(*prop); err != nil {
		t.Fatal(err)
	}
	user, _ := Preset(DefaultPreset)
	m := Match(user, doc)
	if m.Offer == nil || prop.Agreement.Offer != m.Offer.ID || AgreedDigest(prop.Agreement.Terms, prop.Agreement.Obligations) != AgreedDigest(m.Offer.Terms, m.Offer.Obligations) {
		t.Error("the proposal is not the matched offer")
	}
	// Section 16 step 4 says which dimensions of "ads" conflict.
	var dims []string
	for _, c := range CheckOffer(user, *doc.Offer("ads")) {
		dims = append(dims, c.Dimension)
	}
	if strings.Join(dims, " ") != "tracking purposes retention identity contact" {
		t.Errorf("ads conflicts on %v", dims)
	}
	if prop.Agreement.TermsDigest != advertised || prop.Agreement.SiteKey != doc.PublicKey {
		t.Error("the proposal does not bind the advertised terms and the site key")
	}
	signed, _ := SignedBytes(prop.Agreement)
	if !bytes.Equal(signed, read("agreement-signed.txt")) {
		t.Error("agreement-signed.txt is not SignedBytes(proposal.agreement)")
	}
	ans, err := ParseAnswer(read("accepted.json"))
	if err != nil || ans.Status != StatusAccepted {
		t.Fatalf("answer %+v, %v", ans, err)
	}
	rec, err := ParseRecord(read("record.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckAccepted(prop.Agreement, *ans.Record); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rec, ans.Record) || rec.ID != Digest(signed) {
		t.Error("record.json is not the answer's record")
	}
	if err := VerifyChain([]Event{mustEvent(t, read("event.json"))}); err != nil {
		t.Fatal(err)
	}
	ev := mustEvent(t, read("event.json"))
	if hb, _ := ev.HashedBytes(); !bytes.Equal(hb, read("event-hashed.txt")) || ev.Agreement != rec.ID {
		t.Error("event does not hash its shown bytes or does not name the record")
	}
	agreed, err := ParseRequestHeader(headerValue("agreed-headers.txt", RequestHeader))
	if err != nil || agreed != AgreedDigest(rec.Agreement.Terms, rec.Agreement.Obligations) {
		t.Errorf("agreed header %q, %v", agreed, err)
	}
	if headerValue("agreed-response.txt", "Tk") != "C" || headerValue("response-headers.txt", "Tk") != "N" {
		t.Error("Tk values wrong")
	}
	req, err := ParseSignedRequest(read("data-request.json"))
	if err != nil {
		t.Fatal(err)
	}
	userKey, _ := DecodeKey(rec.Agreement.UserKey)
	if err := VerifyRequest(*req, userKey); err != nil || req.Record != rec.ID {
		t.Errorf("data request: %v", err)
	}
	if sb, _ := RequestSignedBytes(*req); !bytes.Equal(sb, read("data-request-signed.txt")) {
		t.Error("data-request-signed.txt is not the request's signed bytes")
	}
	siteKey, _ := DecodeKey(doc.PublicKey)
	if err := VerifyRequest(*req, siteKey); err == nil {
		t.Error("request verifies with the site key")
	}
	if dr, err := ParseDataReturn(read("data-return.json")); err != nil || dr.Record != rec.ID {
		t.Errorf("data return: %v", err)
	}
	if !ed25519.PublicKey(userKey).Equal(ed25519.NewKeyFromSeed(exampleUserSeed).Public()) {
		t.Error("user key is not from the documented seed")
	}
}

func mustEvent(t *testing.T, b []byte) Event {
	t.Helper()
	e, err := ParseEvent(b)
	if err != nil {
		t.Fatal(err)
	}
	return *e
}

// The normative tables of PROTOCOL.md say what the code does: each
// vocabulary table lists its ladder in order, and the presets table lists
// the presets' values.
func TestProtocolTablesMatchCode(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "PROTOCOL.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := ""
	got := map[string][]string{}
	presetRows := map[string][]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "### ") || strings.HasPrefix(l, "## ") {
			section = l
			continue
		}
		if !strings.HasPrefix(l, "| ") {
			continue
		}
		cells := strings.Split(strings.Trim(l, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if strings.HasPrefix(section, "### 6.") && len(cells) >= 3 && strings.HasPrefix(cells[1], "`") {
			got[section] = append(got[section], strings.Trim(cells[1], "`"))
		}
		if section == "## 9. Presets" && len(cells) == 9 && strings.HasPrefix(cells[1], "`") {
			presetRows[cells[0]] = cells
		}
	}
	want := map[string][]string{}
	add := func(prefix string, vals []string) { want[prefix] = vals }
	str := func(vs ...any) []string {
		var out []string
		for _, v := range vs {
			out = append(out, fmt.Sprint(v))
		}
		return out
	}
	var tr, pu, sh, id, co, le []any
	for _, v := range TrackingLadder {
		tr = append(tr, v)
	}
	for _, v := range PurposeLadder {
		pu = append(pu, v)
	}
	for _, v := range SharingLadder {
		sh = append(sh, v)
	}
	for _, v := range IdentityLadder {
		id = append(id, v)
	}
	for _, v := range ContactLadder {
		co = append(co, v)
	}
	for _, v := range LevelLadder {
		le = append(le, v)
	}
	add("### 6.1", str(tr...))
	add("### 6.2", str(pu...))
	add("### 6.3", str(sh...))
	add("### 6.4", []string{"none", "session", "indefinite"})
	add("### 6.5", str(id...))
	add("### 6.6", str(co...))
	add("### 6.7", str(le...))
	for prefix, w := range want {
		found := false
		for sec, g := range got {
			if strings.HasPrefix(sec, prefix) {
				found = true
				if strings.Join(g, " ") != strings.Join(w, " ") {
					t.Errorf("%s lists %v, code has %v", sec, g, w)
				}
			}
		}
		if !found {
			t.Errorf("PROTOCOL.md has no table %s", prefix)
		}
	}
	// DPV IRIs in the purposes table.
	for p, iri := range PurposeIRI {
		if !strings.Contains(string(b), "| `"+string(p)+"` |") || !strings.Contains(string(b), "`"+iri+"`") {
			t.Errorf("purpose %s or its IRI %s missing from PROTOCOL.md", p, iri)
		}
	}
	if len(presetRows) != len(Presets) {
		t.Fatalf("PROTOCOL.md lists %d presets, code has %d", len(presetRows), len(Presets))
	}
	for _, p := range Presets {
		row, ok := presetRows[p.Name]
		if !ok {
			t.Errorf("preset %s missing from PROTOCOL.md", p.Name)
			continue
		}
		u := p.Terms
		w := []string{p.Name, "`" + u.Preset + "`", string(u.Terms.Tracking), strings.Join(sortedPurposes(u.Terms.Purposes), ", "),
			string(u.Terms.Sharing), string(u.Terms.Retention), string(u.Terms.Identity), string(u.Terms.Contact),
			fmt.Sprintf("%s / %s / %s", u.Obligations.Access, u.Obligations.Deletion, u.Obligations.DataReturn)}
		if strings.Join(row, "|") != strings.Join(w, "|") {
			t.Errorf("preset row\n got %v\nwant %v", row, w)
		}
	}
}

// The error-code table of PROTOCOL.md 10.6 lists exactly ErrorCodes, in
// order, each with the status HTTPStatus gives it.
func TestProtocolErrorCodeTable(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "PROTOCOL.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := ""
	var codes []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "#") {
			section = l
			continue
		}
		if !strings.HasPrefix(section, "### 10.6 ") || !strings.HasPrefix(l, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(l, "|"), "|")
		code := strings.Trim(strings.TrimSpace(cells[0]), "`")
		codes = append(codes, code)
		status := strings.Fields(strings.TrimSpace(cells[1]))[0]
		if want := fmt.Sprint(HTTPStatus(code)); status != want {
			t.Errorf("PROTOCOL.md 10.6: %s has HTTP %s, HTTPStatus gives %s", code, status, want)
		}
	}
	if strings.Join(codes, " ") != strings.Join(ErrorCodes, " ") {
		t.Errorf("PROTOCOL.md 10.6 lists\n %v\nErrorCodes has\n %v", codes, ErrorCodes)
	}
}
