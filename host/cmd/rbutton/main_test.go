package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/rbutton/rbutton/host/framing"
	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
	"github.com/rbutton/rbutton/site/demo"
	"github.com/rbutton/rbutton/site/sitetest"
)

var update = flag.Bool("update", false, "rewrite testscript golden sections")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"rbutton": func() { os.Exit(run(os.Args[1:])) },
		// rbutton-noisy is rbutton with stray writes to stdout once the
		// host has reserved it for frames, as a library or a panic might make.
		"rbutton-noisy": func() {
			args := os.Args[1:]
			if !isHostMode(args) {
				os.Exit(run(args))
			}
			frames, err := reserveStdout()
			if err != nil {
				errorf("cannot reserve stdout for frames: %v", err)
				os.Exit(1)
			}
			fmt.Println("noise from fmt.Println")
			os.NewFile(1, "fd1").Write([]byte("noise written to fd 1\n"))
			os.Exit(serveHost(args, frames))
		},
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
			"frame":       cmdFrame,
			"rawframe":    cmdRawFrame,
			"unframe":     cmdUnframe,
			"damage":      cmdDamage,
			"vendor":      cmdVendor,
			"mytermssite": cmdMyTermsSite,
			"crmvendor":   cmdCRMVendor,
			"tamper":      cmdTamper,
			"truncate":    cmdTruncate,
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

// scriptVendors are the DNT-D sites cmdVendor started, by script and name.
var (
	scriptVendorsMu sync.Mutex
	scriptVendors   = map[*testscript.TestScript]map[string]*scriptVendor{}
)

// scriptVendor is a real vendor (the site library) on a loopback port,
// noting the records it accepts.
type scriptVendor struct {
	*sitetest.Recording
	srv    *http.Server
	vendor *site.Vendor
	origin string
}

// writeNegotiate writes NAME-negotiate.bin: a negotiate frame for the
// vendor's current terms.
func (sv *scriptVendor) writeNegotiate(ts *testscript.TestScript, name string) {
	_, _, digest := sv.vendor.Terms()
	frame, err := framing.Encode([]byte(fmt.Sprintf(`{"id":"n","type":"negotiate","params":{"site":%q,"advertisement":%q}}`,
		sv.origin, policy.ResponseHeaderValue(digest))))
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(name+"-negotiate.bin"), frame, 0o644))
}

// vendor start NAME: serves a real vendor (the site library, with the demo
// shop's basic offer) on a loopback port for the rest of the script; sets
// $NAME to its origin and writes NAME-negotiate.bin, a negotiate frame for it.
// vendor records NAME: prints one line per agreement the vendor accepted:
// "<record id> in-force" or "<record id> ended-by-<user|site>".
// vendor change NAME: the vendor publishes new terms (the basic offer kept
// 14 days instead of 30) and NAME-negotiate.bin advertises them.
// vendor stop NAME: closes its port: the site becomes unreachable.
func cmdVendor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: vendor start|records|change|stop NAME")
	}
	name := args[1]
	scriptVendorsMu.Lock()
	byName := scriptVendors[ts]
	if byName == nil {
		byName = map[string]*scriptVendor{}
		scriptVendors[ts] = byName
		ts.Defer(func() {
			scriptVendorsMu.Lock()
			defer scriptVendorsMu.Unlock()
			for _, sv := range scriptVendors[ts] {
				sv.srv.Close()
			}
			delete(scriptVendors, ts)
		})
	}
	sv := byName[name]
	scriptVendorsMu.Unlock()
	if args[0] != "start" && sv == nil {
		ts.Fatalf("vendor: no vendor %s started", name)
	}
	switch args[0] {
	case "start":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		ts.Check(err)
		origin := "http://" + ln.Addr().String()
		_, priv, _ := ed25519.GenerateKey(nil)
		sv = &scriptVendor{Recording: sitetest.NewRecording(nil)}
		v, err := site.New(site.Config{Origin: origin, Controller: policy.Controller{Name: name, Contact: "privacy@" + name + ".test"},
			PolicyURL: "https://" + name + ".test/privacy", Offers: []policy.Offer{demo.ShopBasic}, PrivateKey: priv, Store: sv.Recording,
			Processors: demo.ShopProcessors})
		ts.Check(err)
		sv.srv, sv.vendor, sv.origin = &http.Server{Handler: v.Handler()}, v, origin
		go sv.srv.Serve(ln)
		scriptVendorsMu.Lock()
		byName[name] = sv
		scriptVendorsMu.Unlock()
		ts.Setenv(name, origin)
		sv.writeNegotiate(ts, name)
	case "change":
		shorter := demo.ShopBasic
		shorter.Terms.Retention = "P14D"
		ts.Check(sv.vendor.SetOffers([]policy.Offer{shorter}))
		sv.writeNegotiate(ts, name)
	case "records":
		for _, id := range sv.IDs() {
			sr, err := sv.Store.GetRecord(id)
			ts.Check(err)
			state := "in-force"
			if !sr.Ended.IsZero() {
				state = "ended-by-" + sr.EndedBy
			}
			fmt.Fprintf(ts.Stdout(), "%s %s\n", id, state)
		}
	case "stop":
		sv.srv.Close()
	default:
		ts.Fatalf("vendor: unknown subcommand %q", args[0])
	}
}

// mytermssite NAME: serves, on a loopback port for the rest of the script,
// a site that speaks no DNT-D and publishes a MyTerms file (tinyMyTerms
// format) listing SD-BASE and PDC-AI at /.well-known/myterms.json; sets
// $NAME to its origin.
func cmdMyTermsSite(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: mytermssite NAME")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != policy.MyTermsPath {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"effective_date":"Tue, 13 Jan 2026 10:00:00 +0000","agreements":[`+
			`{"id":"SD-BASE","url":"https://myterms.info/agreements/SD-BASE"},{"id":"PDC-AI","url":"https://myterms.info/agreements/PDC-AI"}],`+
			`"tos_url":"/terms","tos":"<p>Our terms.</p>"}`)
	})}
	go srv.Serve(ln)
	ts.Defer(func() { srv.Close() })
	ts.Setenv(args[0], "http://"+ln.Addr().String())
}
