package framing

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

func header(n uint32) []byte {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint32(b, n)
	return b
}

func TestReadFrame(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input []byte
		want  string
		err   error
	}{
		{"ok", append(header(2), "{}"...), "{}", nil},
		{"clean eof", nil, "", io.EOF},
		{"short header", []byte{1, 0}, "", ErrShortHead},
		{"zero length", header(0), "", ErrEmpty},
		{"over cap", header(MaxMessage + 1), "", ErrTooLarge},
		{"huge length", header(0xffffffff), "", ErrTooLarge},
		{"stdout pollution", []byte("/usr"), "", ErrTooLarge},
		{"truncated body", append(header(10), "{}"...), "", ErrTruncated},
		{"header only", header(5), "", ErrTruncated},
		{"exactly cap", append(header(MaxMessage), bytes.Repeat([]byte{' '}, MaxMessage)...), strings.Repeat(" ", MaxMessage), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadFrame(bytes.NewReader(tt.input))
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.err == io.EOF && err != io.EOF {
				t.Fatalf("clean EOF must be io.EOF itself, got %#v", err)
			}
			if tt.err != nil && tt.err != io.EOF {
				var fe *FrameError
				if !errors.As(err, &fe) {
					t.Fatalf("err %v is not a *FrameError", err)
				}
			}
			if string(got) != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSequentialFrames(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, m := range []string{`{"a":1}`, `"x"`, `[1,2,3]`} {
		if err := w.WriteFrame([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{`{"a":1}`, `"x"`, `[1,2,3]`} {
		got, err := ReadFrame(&buf)
		if err != nil || string(got) != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	}
	if _, err := ReadFrame(&buf); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
}

// oneByteReader returns at most one byte per Read, like a slow pipe.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

func TestShortReads(t *testing.T) {
	t.Parallel()
	in := append(header(7), `"hello"`...)
	got, err := ReadFrame(oneByteReader{bytes.NewReader(in)})
	if err != nil || string(got) != `"hello"` {
		t.Fatalf("got %q, %v", got, err)
	}
}

type countingWriter struct{ writes int }

func (c *countingWriter) Write(p []byte) (int, error) { c.writes++; return len(p), nil }

func TestWriteFrame(t *testing.T) {
	t.Parallel()
	cw := &countingWriter{}
	w := NewWriter(cw)
	if err := w.WriteFrame([]byte(`{"ok":true}`)); err != nil {
		t.Fatal(err)
	}
	if cw.writes != 1 {
		t.Fatalf("frame written in %d Write calls, want 1", cw.writes)
	}
	err := w.WriteFrame(bytes.Repeat([]byte{'a'}, MaxMessage+1))
	if !errors.Is(err, ErrOutTooLarge) {
		t.Fatalf("oversize reply: err = %v", err)
	}
	if cw.writes != 1 {
		t.Fatal("oversize reply must write nothing")
	}
	if err := w.WriteFrame(nil); !errors.Is(err, ErrEmpty) {
		t.Fatalf("empty reply: err = %v", err)
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add(append(header(2), "{}"...))
	f.Add(header(0))
	f.Add(header(0xffffffff))
	f.Add([]byte{1})
	f.Add(append(header(3), "ab"...))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for {
			before := r.Len()
			body, err := ReadFrame(r)
			if err != nil {
				return
			}
			// Never returns more than was there or more than the cap.
			if len(body) > MaxMessage || len(body) > before-4 || len(body) == 0 {
				t.Fatalf("body of %d bytes from %d available", len(body), before)
			}
			// Round trip.
			enc, err := Encode(body)
			if err != nil {
				t.Fatal(err)
			}
			again, err := ReadFrame(bytes.NewReader(enc))
			if err != nil || !bytes.Equal(again, body) {
				t.Fatalf("round trip failed: %v", err)
			}
		}
	})
}
