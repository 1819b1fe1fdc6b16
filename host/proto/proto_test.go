package proto

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestDecodeRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		code   string // "" = ok
		hasID  bool
		params string
	}{
		{`{"id":"1","type":"hello"}`, "", true, `{}`},
		{`{"id":"1","type":"hello","params":null}`, "", true, `{}`},
		{`{"id":"1","type":"hello","params":{"a":1}}`, "", true, `{"a":1}`},
		{`nope`, CodeInvalidJSON, false, ""},
		{"\xff\xfe", CodeInvalidJSON, false, ""},
		{`[]`, CodeInvalidRequest, false, ""},
		{`{"type":"hello"}`, CodeInvalidRequest, false, ""},
		{`{"id":1,"type":"hello"}`, CodeInvalidRequest, false, ""},
		{`{"id":"","type":"hello"}`, CodeInvalidRequest, false, ""},
		{`{"id":"1"}`, CodeInvalidRequest, true, ""},
		{`{"id":"1","type":""}`, CodeInvalidRequest, true, ""},
		{`{"id":"1","type":7}`, CodeInvalidRequest, true, ""},
		{`{"id":"1","type":"hello","params":"x"}`, CodeInvalidRequest, true, ""},
		{`{"id":"1","type":"hello","x":1}`, CodeInvalidRequest, true, ""},
	}
	for _, tt := range tests {
		req, id, err := DecodeRequest([]byte(tt.in))
		if tt.code == "" {
			if err != nil || string(req.Params) != tt.params {
				t.Errorf("%s: %v %s", tt.in, err, req.Params)
			}
			continue
		}
		if err == nil || err.Code != tt.code {
			t.Errorf("%s: err %v, want %s", tt.in, err, tt.code)
		}
		if (id != nil) != tt.hasID {
			t.Errorf("%s: id %v, want present=%v", tt.in, id, tt.hasID)
		}
	}
}

func TestDecodeParams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		code string
	}{
		{`{"site":"https://a.example","advertisement":"v=1"}`, ""},
		{`{"site":"https://a.example"}`, CodeInvalidAdvertisement},
		{`{"advertisement":"v=1"}`, CodeInvalidSite},
		{`{"site":1,"advertisement":"v=1"}`, CodeInvalidSite},
		{`{"site":"x","advertisement":2}`, CodeInvalidAdvertisement},
		{`{"site":"x","advertisement":"v","more":1}`, CodeInvalidParams},
		{`{"site":"` + string(make([]byte, 301)) + `","advertisement":"v"}`, CodeInvalidParams},
	}
	for _, tt := range tests {
		var p NegotiateParams
		err := DecodeParams(json.RawMessage(tt.in), &p)
		got := ""
		if err != nil {
			got = err.Code
		}
		if got != tt.code && !(tt.code == CodeInvalidParams && got != "") {
			t.Errorf("%.60s: got %v, want %s", tt.in, err, tt.code)
		}
	}
}

func TestReplies(t *testing.T) {
	t.Parallel()
	id := "x"
	b, err := OKReply(&id, nil)
	if err != nil || string(b) != `{"id":"x","ok":true,"result":null}` {
		t.Errorf("%s %v", b, err)
	}
	b = ErrorReply(nil, Errorf(CodeBusy, "try again"))
	if string(b) != `{"id":null,"ok":false,"error":{"code":"busy","message":"try again"}}` {
		t.Errorf("%s", b)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"id":"1","type":"hello","params":{}}`))
	f.Add([]byte(`{"id":"1","type":"negotiate","params":{"site":"https://a","advertisement":"v=1"}}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, id, err := DecodeRequest(b)
		if err != nil {
			if err.Code == "" || err.Message == "" {
				t.Fatal("error without code or message")
			}
			_ = ErrorReply(id, err)
			return
		}
		if req.ID == "" || req.Type == "" || len(req.Params) == 0 || req.Params[0] != '{' {
			t.Fatalf("accepted bad request %+v", req)
		}
		var p NegotiateParams
		DecodeParams(req.Params, &p)
	})
}

// PROTOCOL.md is the extension's contract: every error code the host can
// send and every message type must be documented there, and every code its
// table names must exist. The codes are read from proto.go's const block,
// so a code added there and forgotten in Codes or the table fails too.
func TestProtocolDocumentsEveryCodeAndType(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "PROTOCOL.md"))
	if err != nil {
		t.Fatal(err)
	}
	declared := declaredCodes(t)
	documented := hostCodeTable(t, string(doc))
	listed := map[string]bool{}
	for _, code := range Codes {
		if listed[code] {
			t.Errorf("Codes lists %q twice", code)
		}
		listed[code] = true
	}
	for code := range declared {
		if !listed[code] {
			t.Errorf("Codes lacks %q, declared in proto.go", code)
		}
		if !documented[code] {
			t.Errorf("PROTOCOL.md's host error table lacks %q", code)
		}
	}
	for code := range listed {
		if !declared[code] {
			t.Errorf("Codes has %q, not declared as a Code constant", code)
		}
	}
	for code := range documented {
		if !declared[code] {
			t.Errorf("PROTOCOL.md's host error table documents %q, which proto.go does not declare", code)
		}
	}
	for _, typ := range Types {
		if !bytes.Contains(doc, []byte("`"+typ+"`")) {
			t.Errorf("PROTOCOL.md does not document message type %q", typ)
		}
	}
}

// declaredCodes returns the values of proto.go's Code* constants.
func declaredCodes(t *testing.T) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "proto.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]bool{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Code") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s is not a string literal", name.Name)
				}
				v, _ := strconv.Unquote(lit.Value)
				codes[v] = true
			}
		}
	}
	if len(codes) < 10 {
		t.Fatalf("found only %d Code constants in proto.go", len(codes))
	}
	return codes
}

// hostCodeTable returns the codes in PROTOCOL.md's table of host error
// codes (the one headed "| code | meaning | retry? |").
func hostCodeTable(t *testing.T, doc string) map[string]bool {
	t.Helper()
	_, table, ok := strings.Cut(doc, "| code | meaning | retry? |\n")
	if !ok {
		t.Fatal("PROTOCOL.md has no host error table")
	}
	codes := map[string]bool{}
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cell, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " |")
		if code, ok := strings.CutPrefix(cell, "`"); ok {
			codes[strings.TrimSuffix(code, "`")] = true
		}
	}
	if len(codes) < 10 {
		t.Fatalf("read only %d codes from PROTOCOL.md's host error table", len(codes))
	}
	return codes
}

// OKReply builds the envelope by hand: it must be what encoding/json writes.
func TestOKReplyIsTheEnvelope(t *testing.T) {
	t.Parallel()
	odd := "id \"with\" <html> & \u2028"
	for _, tt := range []struct {
		id     *string
		result any
	}{
		{nil, nil},
		{&odd, map[string]any{"a": []int{1, 2}, "b": "<&>"}},
		{&odd, json.RawMessage(`{"site":"https://a"}`)},
		{&odd, json.RawMessage(nil)},
		{nil, []string{}},
	} {
		got, err := OKReply(tt.id, tt.result)
		if err != nil {
			t.Fatal(err)
		}
		res, _ := json.Marshal(tt.result)
		want, _ := json.Marshal(Reply{ID: tt.id, OK: true, Result: res})
		if !bytes.Equal(got, want) {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
	}
	if _, err := OKReply(nil, func() {}); err == nil {
		t.Error("an unencodable result encoded")
	}
}
