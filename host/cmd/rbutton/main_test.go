package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/rbutton/rbutton/host/framing"
)

var update = flag.Bool("update", false, "rewrite testscript golden sections")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"rbutton": func() { os.Exit(run(os.Args[1:])) },
	})
}

func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *update,
		Setup: func(env *testscript.Env) error {
			home := filepath.Join(env.WorkDir, "home")
			env.Setenv("HOME", home)
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
			env.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
			env.Setenv("RBUTTON_DB", filepath.Join(env.WorkDir, "db", "rbutton.db"))
			env.Setenv("RBUTTON_LOG", filepath.Join(env.WorkDir, "log", "rbutton.log"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"frame":    cmdFrame,
			"rawframe": cmdRawFrame,
			"unframe":  cmdUnframe,
			"damage":   cmdDamage,
		},
	})
}

// frame FILE JSON... writes each JSON argument as one frame to FILE.
func cmdFrame(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: frame FILE JSON...")
	}
	var buf bytes.Buffer
	for _, m := range args[1:] {
		f, err := framing.Encode([]byte(m))
		ts.Check(err)
		buf.Write(f)
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), buf.Bytes(), 0o644))
}

// rawframe FILE LENGTH [BODY] appends a header declaring LENGTH bytes
// followed by BODY (which need not be LENGTH bytes long) to FILE.
// LENGTH "short" writes a 2-byte header only.
func cmdRawFrame(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: rawframe FILE LENGTH [BODY]")
	}
	var buf []byte
	if args[1] == "short" {
		buf = []byte{1, 0}
	} else {
		n, err := strconv.ParseUint(args[1], 10, 32)
		ts.Check(err)
		buf = binary.NativeEndian.AppendUint32(nil, uint32(n))
	}
	if len(args) == 3 {
		buf = append(buf, args[2]...)
	}
	f, err := os.OpenFile(ts.MkAbs(args[0]), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	ts.Check(err)
	_, err = f.Write(buf)
	ts.Check(err)
	ts.Check(f.Close())
}

// unframe FILE prints each frame in FILE on its own line, sorted (replies
// to concurrent requests may arrive in any order; ids sort them). Bytes
// that are not a whole frame fail the command.
func cmdUnframe(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: unframe FILE")
	}
	var data []byte
	if args[0] == "stdout" {
		data = []byte(ts.ReadFile("stdout"))
	} else {
		var err error
		data, err = os.ReadFile(ts.MkAbs(args[0]))
		ts.Check(err)
	}
	r := bytes.NewReader(data)
	var lines []string
	for r.Len() > 0 {
		body, err := framing.ReadFrame(r)
		if err != nil {
			if neg {
				return
			}
			ts.Fatalf("not a frame stream: %v", err)
		}
		lines = append(lines, string(body))
	}
	if neg {
		ts.Fatalf("unexpectedly a valid frame stream")
	}
	sort.Strings(lines)
	if len(lines) > 0 {
		ts.Stdout().Write([]byte(strings.Join(lines, "\n") + "\n"))
	}
}

// damage KIND SRC DST writes to DST a copy of the database SRC damaged one
// way: truncated (to half), empty, text, magic (both meta pages' magic
// overwritten), checksum (both meta pages' checksums flipped).
func cmdDamage(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: damage KIND SRC DST")
	}
	b, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	if len(b) < 4*4096 {
		ts.Fatalf("%s is too small to damage (%d bytes)", args[1], len(b))
	}
	// bbolt: page header 16 bytes, then the meta: magic at +0, page size
	// at +8, checksum at +56.
	pageSize := int(binary.LittleEndian.Uint32(b[16+8:]))
	switch args[0] {
	case "truncated":
		b = b[:len(b)/2]
	case "empty":
		b = nil
	case "text":
		b = []byte("These are my notes, not a database.\n")
	case "magic":
		for _, off := range []int{16, pageSize + 16} {
			binary.LittleEndian.PutUint32(b[off:], 0x12345678)
		}
	case "checksum":
		for _, off := range []int{16 + 56, pageSize + 16 + 56} {
			b[off] ^= 0xff
		}
	default:
		ts.Fatalf("damage: unknown kind %q", args[0])
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), b, 0o600))
}
