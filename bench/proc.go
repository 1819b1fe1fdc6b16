package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rbutton/rbutton/host/framing"
)

// Host is a native-messaging host process driven over its stdin/stdout,
// as a browser would drive it.
type Host struct {
	Name string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	w    *framing.Writer

	stderr lockedBuffer
	nextID int
}

// lockedBuffer collects stderr for error messages.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() < 64<<10 {
		b.buf.Write(p)
	}
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Start launches path with args and extra environment (on top of the
// current one) and returns once the process exists; it sends nothing.
func Start(name, path string, args, env []string) (*Host, error) {
	h := &Host{Name: name}
	h.cmd = exec.Command(path, args...)
	h.cmd.Env = append(os.Environ(), env...)
	h.cmd.Stderr = &h.stderr
	in, err := h.cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := h.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := h.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	h.in, h.out, h.w = in, bufio.NewReaderSize(out, 64<<10), framing.NewWriter(in)
	return h, nil
}

// Attach drives a host already running behind a pair of pipes (for
// example agent.Serve in this process): requests go to in, replies come
// from out.
func Attach(name string, out io.Reader, in io.WriteCloser) *Host {
	return &Host{Name: name, in: in, out: bufio.NewReaderSize(out, 64<<10), w: framing.NewWriter(in)}
}

// Pid is the process id.
func (h *Host) Pid() int { return h.cmd.Process.Pid }

// Reply is a decoded reply envelope.
type Reply struct {
	ID     string          `json:"id"`
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// ReplyError is an ok:false reply.
type ReplyError struct {
	Host, Type, Code, Message string
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("%s: %s: %s: %s", e.Host, e.Type, e.Code, e.Message)
}

// Request builds one request frame body with a fresh id.
func (h *Host) Request(typ string, params any) (id string, body []byte, err error) {
	h.nextID++
	id = strconv.Itoa(h.nextID)
	req := struct {
		ID     string `json:"id"`
		Type   string `json:"type"`
		Params any    `json:"params"`
	}{id, typ, params}
	if req.Params == nil {
		req.Params = struct{}{}
	}
	body, err = json.Marshal(req)
	return id, body, err
}

// Call sends one request and waits for its reply, returning the reply,
// the time from the write to the complete reply frame, and the reply's
// size in bytes.
func (h *Host) Call(typ string, params any) (Reply, time.Duration, int, error) {
	id, body, err := h.Request(typ, params)
	if err != nil {
		return Reply{}, 0, 0, err
	}
	return h.RoundTrip(typ, id, body)
}

// RoundTrip writes a prepared request body and reads its reply.
func (h *Host) RoundTrip(typ, id string, body []byte) (Reply, time.Duration, int, error) {
	start := time.Now()
	if err := h.w.WriteFrame(body); err != nil {
		return Reply{}, 0, 0, h.fail(fmt.Errorf("writing %s: %w", typ, err))
	}
	frame, err := framing.ReadFrame(h.out)
	elapsed := time.Since(start)
	if err != nil {
		return Reply{}, elapsed, 0, h.fail(fmt.Errorf("reading reply to %s: %w", typ, err))
	}
	var r Reply
	if err := json.Unmarshal(frame, &r); err != nil {
		return r, elapsed, len(frame), fmt.Errorf("%s: reply to %s is not JSON: %w", h.Name, typ, err)
	}
	if r.ID != id {
		return r, elapsed, len(frame), fmt.Errorf("%s: reply id %q to %s, want %q", h.Name, r.ID, typ, id)
	}
	if !r.OK {
		e := &ReplyError{Host: h.Name, Type: typ}
		if r.Error != nil {
			e.Code, e.Message = r.Error.Code, r.Error.Message
		}
		return r, elapsed, len(frame), e
	}
	return r, elapsed, len(frame), nil
}

func (h *Host) fail(err error) error {
	if s := strings.TrimSpace(h.stderr.String()); s != "" {
		return fmt.Errorf("%s: %w (stderr: %s)", h.Name, err, lastLines(s, 5))
	}
	return fmt.Errorf("%s: %w", h.Name, err)
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// Close closes stdin (the browser's shutdown signal) and waits for the
// process to exit, killing it after two seconds as Chromium does.
func (h *Host) Close() error {
	h.in.Close()
	if h.cmd == nil {
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- h.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return h.fail(fmt.Errorf("exit: %w", err))
		}
		return nil
	case <-time.After(2 * time.Second):
		h.cmd.Process.Kill()
		<-done
		return h.fail(errors.New("did not exit within 2s of stdin closing; killed"))
	}
}

// Stderr is what the process wrote to stderr so far (first 64 KiB).
func (h *Host) Stderr() string { return h.stderr.String() }
