package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rbutton/rbutton/host/framing"
	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/host/store"
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

// readReply reads one framed reply.
func readReply(t *testing.T, in io.Reader) proto.Reply {
	t.Helper()
	body, err := framing.ReadFrame(in)
	if err != nil {
		t.Fatal(err)
	}
	var r proto.Reply
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// replyID is a reply's id, "<null>" for none.
func replyID(r proto.Reply) string {
	if r.ID == nil {
		return "<null>"
	}
	return *r.ID
}

func replies(t *testing.T, out *bytes.Buffer) map[string]proto.Reply {
	t.Helper()
	got := map[string]proto.Reply{}
	for out.Len() > 0 {
		r := readReply(t, out)
		got[replyID(r)] = r
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

// TestWithdrawalDoesNotHoldUpLocalRequests: terms.set ends agreements with
// sites, which can take seconds; on the extension's one port, a local
// request sent after it (the change check at a navigation) is answered
// while the site is still being waited for, not after.
func TestWithdrawalDoesNotHoldUpLocalRequests(t *testing.T) {
	t.Parallel()
	v := newVendor(t, basicOffer)
	a := newAgent(t)
	mustCall[store.Relationship](t, a, proto.TypeNegotiate, v.negotiateParams())
	// Handled in order, terms.set would answer first, once the withdrawal
	// gives the site up.
	a.WithdrawTimeout = 2 * time.Second
	release := make(chan struct{})
	v.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-release:
		case <-r.Context().Done():
		}
		http.Error(w, "gone", http.StatusServiceUnavailable)
	})
	inR, inW := io.Pipe()
	defer inW.Close()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- a.Serve(context.Background(), inR, framing.NewWriter(outW)); outW.Close() }()
	set, _ := json.Marshal(map[string]any{"id": "t", "type": proto.TypeTermsSet, "params": map[string]any{"terms": mustPreset(t, "service-only")}})
	go func() { // a pipe write waits for Serve to read it
		for _, m := range []string{string(set), `{"id":"c","type":"changes","params":{"since":0}}`} {
			f, _ := framing.Encode([]byte(m))
			if _, err := inW.Write(f); err != nil {
				return
			}
		}
	}()
	if r := readReply(t, outR); replyID(r) != "c" || !r.OK {
		t.Fatalf("first reply to %q (ok %v); want the change check, answered while the site is waited for", replyID(r), r.OK)
	}
	close(release)
	if r := readReply(t, outR); replyID(r) != "t" || !r.OK {
		t.Fatalf("second reply to %q (ok %v); want terms.set", replyID(r), r.OK)
	}
	inW.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
