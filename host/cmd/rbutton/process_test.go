package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/rbutton/rbutton/host/framing"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
)

const testOrigin = "chrome-extension://dhmbjedachdddjmenlajomonjiflkflk/"

// hostEnv is the environment of a real rbutton process on dbPath.
func hostEnv(t *testing.T, dbPath string) []string {
	dir := t.TempDir()
	return append(os.Environ(), "RBUTTON_DB="+dbPath, "RBUTTON_LOG="+filepath.Join(dir, "rbutton.log"),
		"HOME="+dir, "XDG_CONFIG_HOME="+dir, "RBUTTON_DB_TIMEOUT=20s")
}

type reply struct {
	ID    string `json:"id"`
	OK    bool   `json:"ok"`
	Error *struct {
		Code, Message string
	} `json:"error"`
}

func exceptionRequest(id, site string, terms policy.UserTerms) []byte {
	b, _ := json.Marshal(map[string]any{"id": id, "type": "exception.set", "params": map[string]any{"site": site, "terms": terms}})
	f, _ := framing.Encode(b)
	return f
}

func defaultTerms(t *testing.T) policy.UserTerms {
	u, ok := policy.Preset(policy.DefaultPreset)
	if !ok {
		t.Fatal("no default preset")
	}
	return u
}

// TestConcurrentProcesses: two host processes and the CLI write to one
// bbolt file at once; every acknowledged write is there afterwards.
func TestConcurrentProcesses(t *testing.T) {
	t.Parallel()
	dbPath := filepath.Join(t.TempDir(), "rbutton.db")
	env := hostEnv(t, dbPath)
	terms := defaultTerms(t)
	const perHost = 40
	var wg sync.WaitGroup
	for h := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("rbutton", testOrigin)
			cmd.Env = env
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Error(err)
				return
			}
			go func() {
				for i := range perHost {
					stdin.Write(exceptionRequest(fmt.Sprint(i), fmt.Sprintf("https://h%d-%d.example", h, i), terms))
				}
				stdin.Close()
			}()
			r := bufio.NewReader(stdout)
			acked := 0
			for {
				body, err := framing.ReadFrame(r)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Errorf("host %d: %v", h, err)
					break
				}
				var rep reply
				if json.Unmarshal(body, &rep) != nil || !rep.OK {
					t.Errorf("host %d: reply %s", h, body)
				}
				acked++
			}
			if err := cmd.Wait(); err != nil {
				t.Errorf("host %d exit: %v", h, err)
			}
			if acked != perHost {
				t.Errorf("host %d: %d replies, want %d", h, acked, perHost)
			}
		}()
	}
	termsFile := filepath.Join(t.TempDir(), "terms.json")
	tb, _ := json.Marshal(terms)
	os.WriteFile(termsFile, tb, 0o600)
	for i := range 10 {
		for _, args := range [][]string{{"terms", "set", termsFile}, {"list", "--json"}} {
			cmd := exec.Command("rbutton", args...)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("cli %d %v: %v: %s", i, args, err, out)
			}
		}
	}
	wg.Wait()
	db := store.New(dbPath)
	db.View(func(tx *store.Tx) error {
		ex, err := tx.Exceptions()
		if err != nil || len(ex) != 2*perHost {
			t.Errorf("%d exceptions stored, want %d (%v)", len(ex), 2*perHost, err)
		}
		if d, err := tx.Defaults(); err != nil || d == nil {
			t.Errorf("defaults lost: %v", err)
		}
		return nil
	})
}

// TestSIGKILLDuringWrites kills a host in the middle of a stream of
// writes. The file must still be a valid bbolt database, and every write
// the host acknowledged must be in it.
func TestSIGKILLDuringWrites(t *testing.T) {
	t.Parallel()
	dbPath := filepath.Join(t.TempDir(), "rbutton.db")
	env := hostEnv(t, dbPath)
	terms := defaultTerms(t)
	var acked []string
	for round := range 3 {
		cmd := exec.Command("rbutton", testOrigin)
		cmd.Env = env
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("%d-%d", round, i)
				site := fmt.Sprintf("https://r%d-%d.example", round, i)
				if _, err := stdin.Write(exceptionRequest(id, site, terms)); err != nil {
					return
				}
				if i > 10000 {
					return
				}
			}
		}()
		r := bufio.NewReader(stdout)
		for n := 0; n < 20+round*10; n++ {
			body, err := framing.ReadFrame(r)
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			var rep reply
			if json.Unmarshal(body, &rep) != nil || !rep.OK {
				t.Fatalf("reply %s", body)
			}
			acked = append(acked, rep.ID)
		}
		// Kill while it keeps writing.
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		stdin.Close()
		db := store.New(dbPath)
		if _, err := db.Check(); err != nil {
			t.Fatalf("round %d: database after SIGKILL: %v", round, err)
		}
		err := db.View(func(tx *store.Tx) error {
			ex, err := tx.Exceptions()
			if err != nil {
				return err
			}
			for _, id := range acked {
				var round, i int
				fmt.Sscanf(id, "%d-%d", &round, &i)
				site := fmt.Sprintf("https://r%d-%d.example", round, i)
				if _, ok := ex[site]; !ok {
					t.Errorf("acknowledged write %s (%s) lost", id, site)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
