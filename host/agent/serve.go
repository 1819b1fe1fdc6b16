package agent

import (
	"bufio"
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/rbutton/rbutton/host/framing"
	"github.com/rbutton/rbutton/host/proto"
)

// MaxInFlight bounds the requests one host process handles at once.
const MaxInFlight = 8

// ShutdownGrace is how long, after stdin closes, requests already being
// handled may still finish (browsers kill the host 2–3 s after closing stdin).
const ShutdownGrace = 1500 * time.Millisecond

// networked lists the requests that contact a site. They run concurrently
// (up to MaxInFlight) so a slow site does not hold up the popup's other
// requests; their replies may therefore come after later requests' replies.
// Changing my terms or an exception contacts sites too: it ends the
// agreements that no longer fit (withdraw.go), which may take seconds, and
// the extension keeps one port open for all its requests (PROTOCOL.md 20).
var networked = map[string]bool{
	proto.TypeNegotiate: true, proto.TypeDataFetch: true, proto.TypeRelationshipEnd: true, proto.TypeSiteCheck: true,
	proto.TypeTermsSet: true, proto.TypeExceptionSet: true, proto.TypeExceptionClear: true,
}

// Serve reads framed requests from in and writes framed replies to out
// until in ends. Local requests are answered in order; requests that
// contact a site run concurrently. Each reply carries its request's id.
//
// It returns nil on a clean end of input, and a *framing.FrameError (after
// sending one framed error reply) when the input is not a valid frame
// stream: there is no way to find the next frame after a bad header.
func (a *Agent) Serve(ctx context.Context, in io.Reader, out *framing.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// One read per frame, not one for the length and one for the body.
	in = bufio.NewReader(in)
	var wg sync.WaitGroup
	slots := make(chan struct{}, MaxInFlight)
	finish := func() {
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(ShutdownGrace):
			cancel()
			<-done
		}
	}
	for {
		body, err := framing.ReadFrame(in)
		if err == io.EOF {
			finish()
			return nil
		}
		if err != nil {
			code := proto.CodeInvalidFrame
			if errors.Is(err, framing.ErrTooLarge) {
				code = proto.CodeFrameTooLarge
			}
			a.Log.Error().Err(err).Msg("bad frame; stopping")
			a.write(out, nil, nil, proto.Errorf(code, "%v", err))
			cancel()
			wg.Wait()
			return err
		}
		req, id, perr := proto.DecodeRequest(body)
		if perr != nil {
			a.Log.Warn().Str("code", perr.Code).Msg(perr.Message)
			a.write(out, id, nil, perr)
			continue
		}
		if !networked[req.Type] {
			// Local requests are quick and handled in order, so a request
			// sees the effect of every local request sent before it.
			res, herr := a.Handle(ctx, req)
			a.write(out, id, res, herr)
			continue
		}
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			start := time.Now()
			res, herr := a.Handle(ctx, req)
			a.Log.Debug().Str("type", req.Type).Dur("took", time.Since(start)).Bool("ok", herr == nil).Msg("handled")
			a.write(out, id, res, herr)
		}()
	}
}

// write sends one reply. A reply too large for the browser becomes a
// response_too_large error instead.
func (a *Agent) write(out *framing.Writer, id *string, res any, e *proto.Error) {
	var b []byte
	if e != nil {
		b = proto.ErrorReply(id, e)
	} else {
		var err error
		if b, err = proto.OKReply(id, res); err != nil {
			b = proto.ErrorReply(id, proto.Errorf(proto.CodeInternal, "encoding reply: %v", err))
		}
	}
	if len(b) > framing.MaxMessage {
		b = proto.ErrorReply(id, proto.Errorf(proto.CodeResponseTooLarge, "reply of %d bytes exceeds the 1 MiB native-messaging limit", len(b)))
	}
	if err := out.WriteFrame(b); err != nil {
		a.Log.Error().Err(err).Msg("writing reply")
	}
}
