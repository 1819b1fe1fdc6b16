// Command echohost is the baseline for `make bench`: the least a
// native-messaging host can do with the r-button envelope. It reads frames
// (host/framing) from stdin, decodes each request {"id","type","params"},
// and writes {"id","ok":true,"result":…} back: hello gets a hello-shaped
// result, every other type gets its params echoed. It keeps no state and
// touches no files, so the real host's cost over it is the host's own work.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/rbutton/rbutton/host/framing"
)

type request struct {
	ID     string          `json:"id"`
	Type   string          `json:"type"`
	Params json.RawMessage `json:"params"`
}

type reply struct {
	ID     string `json:"id"`
	OK     bool   `json:"ok"`
	Result any    `json:"result"`
}

type hello struct {
	Version      string   `json:"version"`
	Protocol     int      `json:"protocol"`
	Capabilities []string `json:"capabilities"`
}

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "echohost:", err)
		os.Exit(1)
	}
}

func run(r io.Reader, w io.Writer) error {
	in := bufio.NewReaderSize(r, 64<<10)
	out := framing.NewWriter(w)
	for {
		body, err := framing.ReadFrame(in)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var req request
		if err := json.Unmarshal(body, &req); err != nil {
			return fmt.Errorf("decoding request: %w", err)
		}
		rep := reply{ID: req.ID, OK: true, Result: req.Params}
		if req.Type == "hello" {
			rep.Result = hello{Version: "0.1.0", Protocol: 1, Capabilities: []string{"hello"}}
		}
		b, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		if err := out.WriteFrame(b); err != nil {
			return err
		}
	}
}
