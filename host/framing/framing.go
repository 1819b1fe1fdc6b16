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
	if err := checkOut(body); err != nil {
		return nil, err
	}
	out := make([]byte, 4+len(body))
	binary.NativeEndian.PutUint32(out, uint32(len(body)))
	copy(out[4:], body)
	return out, nil
}

// checkOut refuses a body that cannot be sent as one frame.
func checkOut(body []byte) error {
	if len(body) == 0 {
		return &FrameError{Err: ErrEmpty}
	}
	if len(body) > MaxMessage {
		return &FrameError{Length: uint32(min(len(body), 1<<32-1)), Err: ErrOutTooLarge}
	}
	return nil
}

// Writer writes whole frames, one Write call per frame, safe for
// concurrent use so replies never interleave.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte // the frame being written, reused for the next one
}

// keepBuf is the largest frame buffer a Writer keeps for the next frame:
// replies are mostly a few KiB, and one large reply should not hold its
// memory for the life of the process.
const keepBuf = 64 << 10

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// WriteFrame writes body as one frame. Bodies over MaxMessage are refused
// with an error wrapping ErrOutTooLarge and nothing is written.
func (w *Writer) WriteFrame(body []byte) error {
	if err := checkOut(body); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = binary.NativeEndian.AppendUint32(w.buf[:0], uint32(len(body)))
	w.buf = append(w.buf, body...)
	_, err := w.w.Write(w.buf)
	if cap(w.buf) > keepBuf {
		w.buf = nil
	}
	return err
}
