package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/rbutton/rbutton/host/framing"
	"github.com/rbutton/rbutton/host/proto"
)

func frames(t *testing.T, msgs ...string) *bytes.Buffer {
	var buf bytes.Buffer
	for _, m := range msgs {
		f, err := framing.Encode([]byte(m))
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(f)
	}
	return &buf
}

func replies(t *testing.T, out *bytes.Buffer) map[string]proto.Reply {
	t.Helper()
	got := map[string]proto.Reply{}
	for out.Len() > 0 {
		body, err := framing.ReadFrame(out)
		if err != nil {
			t.Fatal(err)
		}
		var r proto.Reply
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		id := "<null>"
		if r.ID != nil {
			id = *r.ID
		}
		got[id] = r
	}
	return got
}

func TestHandlerPanicBecomesInternal(t *testing.T) {
	handlers["test.panic"] = func(*Agent, context.Context, json.RawMessage) (any, error) { panic("boom") }
	defer delete(handlers, "test.panic")
	a := newAgent(t)
	var out bytes.Buffer
	in := frames(t, `{"id":"p","type":"test.panic"}`, `{"id":"h","type":"hello"}`)
	if err := a.Serve(context.Background(), in, framing.NewWriter(&out)); err != nil {
		t.Fatal(err)
	}
	got := replies(t, &out)
	if r := got["p"]; r.OK || r.Error == nil || r.Error.Code != proto.CodeInternal {
		t.Errorf("panic reply: %+v", r)
	}
	if !got["h"].OK {
		t.Errorf("host stopped serving after a panic")
	}
}

func TestOversizeReplyBecomesError(t *testing.T) {
	handlers["test.big"] = func(*Agent, context.Context, json.RawMessage) (any, error) {
		return strings.Repeat("x", framing.MaxMessage), nil
	}
	defer delete(handlers, "test.big")
	a := newAgent(t)
	var out bytes.Buffer
	if err := a.Serve(context.Background(), frames(t, `{"id":"b","type":"test.big"}`), framing.NewWriter(&out)); err != nil {
		t.Fatal(err)
	}
	if r := replies(t, &out)["b"]; r.OK || r.Error.Code != proto.CodeResponseTooLarge {
		t.Errorf("reply: %+v", r)
	}
}

// TestEOFWaitsForSiteRequests: stdin closing while a negotiation is in
// flight still delivers its reply (within the grace period).
func TestEOFWaitsForSiteRequests(t *testing.T) {
	t.Parallel()
	s := newTestSite(t, basicOffer)
	a := newAgent(t)
	p, _ := json.Marshal(map[string]any{"id": "n", "type": "negotiate", "params": negotiateParams(s)})
	var out bytes.Buffer
	if err := a.Serve(context.Background(), frames(t, string(p)), framing.NewWriter(&out)); err != nil {
		t.Fatal(err)
	}
	if r := replies(t, &out)["n"]; !r.OK {
		t.Errorf("negotiate reply: %+v", r)
	}
}

func TestBadFrameStops(t *testing.T) {
	t.Parallel()
	a := newAgent(t)
	in := frames(t, `{"id":"1","type":"hello"}`)
	in.Write([]byte{0xff, 0xff, 0xff, 0x7f})
	in.Write([]byte(`{"id":"2","type":"hello"}`))
	var out bytes.Buffer
	err := a.Serve(context.Background(), io.MultiReader(in), framing.NewWriter(&out))
	if !errors.Is(err, framing.ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
	got := replies(t, &out)
	if !got["1"].OK || got["<null>"].Error == nil || got["<null>"].Error.Code != proto.CodeFrameTooLarge || len(got) != 2 {
		t.Errorf("replies %+v", got)
	}
}
