// Package framing implements the native messaging wire format shared by
// Chromium and Firefox: each message is a 4-byte length in native byte order
// followed by that many bytes of UTF-8 JSON.
//
// See https://developer.chrome.com/docs/extensions/develop/concepts/native-messaging
// and https://developer.mozilla.org/docs/Mozilla/Add-ons/WebExtensions/Native_messaging.
//
// Both browsers refuse host→browser messages over 1 MiB; we apply the same cap
// inbound, checked before allocating, so a hostile or garbled length (often
// stdout pollution read as a header) can never make the host allocate more.
package framing

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// MaxMessage is the largest body, in bytes, accepted or written.
const MaxMessage = 1 << 20

// Sentinel errors wrapped by *FrameError.
var (
	ErrTooLarge    = errors.New("frame larger than 1 MiB")
	ErrEmpty       = errors.New("frame of length 0")
	ErrShortHead   = errors.New("truncated frame header")
	ErrTruncated   = errors.New("truncated frame body")
	ErrOutTooLarge = errors.New("reply larger than 1 MiB")
)

// FrameError describes a malformed frame. Length is the declared length
// when the header was complete.
type FrameError struct {
	Length uint32
	Err    error
}

func (e *FrameError) Error() string {
	if errors.Is(e.Err, ErrShortHead) {
		return "reading frame: " + e.Err.Error()
	}
	return fmt.Sprintf("reading frame of %d bytes: %v", e.Length, e.Err)
}

func (e *FrameError) Unwrap() error { return e.Err }

// ReadFrame reads one frame. It returns io.EOF, unwrapped, only when the
// stream ends cleanly before a header; any other failure is a *FrameError
// (or the underlying read error).
func ReadFrame(r io.Reader) ([]byte, error) {
	var head [4]byte
	n, err := io.ReadFull(r, head[:])
	switch {
	case err == io.EOF:
		return nil, io.EOF
	case err == io.ErrUnexpectedEOF:
		return nil, &FrameError{Err: ErrShortHead}
	case err != nil:
		return nil, err
	case n != 4:
		return nil, &FrameError{Err: ErrShortHead}
	}
	length := binary.NativeEndian.Uint32(head[:])
	if length == 0 {
		return nil, &FrameError{Length: 0, Err: ErrEmpty}
	}
	if length > MaxMessage {
		return nil, &FrameError{Length: length, Err: ErrTooLarge}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, &FrameError{Length: length, Err: ErrTruncated}
		}
		return nil, err
	}
	return body, nil
}

// Encode returns body with its header, or an error wrapping ErrOutTooLarge.
func Encode(body []byte) ([]byte, error) {
	if len(body) == 0 {
		return nil, &FrameError{Err: ErrEmpty}
	}
	if len(body) > MaxMessage {
		return nil, &FrameError{Length: uint32(min(len(body), 1<<32-1)), Err: ErrOutTooLarge}
	}
	out := make([]byte, 4+len(body))
	binary.NativeEndian.PutUint32(out, uint32(len(body)))
	copy(out[4:], body)
	return out, nil
}

// Writer writes whole frames, one Write call per frame, safe for
// concurrent use so replies never interleave.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// WriteFrame writes body as one frame. Bodies over MaxMessage are refused
// with an error wrapping ErrOutTooLarge and nothing is written.
func (w *Writer) WriteFrame(body []byte) error {
	frame, err := Encode(body)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err = w.w.Write(frame)
	return err
}
