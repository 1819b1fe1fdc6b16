package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rbutton/rbutton/host/framing"
	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
	"github.com/rbutton/rbutton/site/demo"
	"github.com/rbutton/rbutton/site/sitetest"
)

// TestHostKilledMidNegotiation: a real host process is killed after the
// vendor accepted its proposal but before the answer reached it. The
// browser's retry starts a new process, which proposes with the pairwise
// key the first one stored before proposing; the vendor (the site library)
// answers with the agreement it holds. The vendor ends with exactly one
// accepted agreement, and it is the one the user holds.
func TestHostKilledMidNegotiation(t *testing.T) {
	t.Parallel()
	vs := sitetest.NewRecording(nil)
	accepted := make(chan struct{})
	var once sync.Once
	v, _ := sitetest.Serve(t, site.Config{Controller: policy.Controller{Name: "Shop", Contact: "privacy@shop.test"},
		PolicyURL: "https://shop.test/privacy", Offers: []policy.Offer{demo.ShopBasic}, Store: vs}, func(vh http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			first := false
			if r.URL.Path == site.DefaultAgreementPath {
				once.Do(func() { first = true })
			}
			if !first {
				vh.ServeHTTP(w, r)
				return
			}
			// The vendor decides and stores its record; the answer never leaves.
			vh.ServeHTTP(httptest.NewRecorder(), r)
			close(accepted)
			<-r.Context().Done()
		})
	})
	origin := v.Origin()

	_, _, digest := v.Terms()
	req, _ := json.Marshal(map[string]any{"id": "n", "type": "negotiate",
		"params": map[string]string{"site": origin, "advertisement": policy.ResponseHeaderValue(digest)}})
	frame, _ := framing.Encode(req)
	env := hostEnv(t, filepath.Join(t.TempDir(), "rbutton.db"))

	first := exec.Command("rbutton", testOrigin)
	first.Env = env
	stdin, _ := first.StdinPipe()
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	stdin.Write(frame) // the pipe stays open: the browser still waits
	select {
	case <-accepted:
	case <-time.After(20 * time.Second):
		first.Process.Kill()
		t.Fatal("the vendor never received the first proposal")
	}
	first.Process.Kill()
	first.Wait()

	retry := exec.Command("rbutton", testOrigin)
	retry.Env = env
	retry.Stdin = bytesReader(frame)
	out, err := retry.Output()
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	body, err := framing.ReadFrame(bytesReader(out))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		OK     bool `json:"ok"`
		Result struct {
			State  string `json:"state"`
			Record struct {
				ID string `json:"id"`
			} `json:"record"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &rep); err != nil || !rep.OK || rep.Result.State != "agreed" {
		t.Fatalf("retry reply: %s", body)
	}
	ids := fmt.Sprint(vs.IDs())
	n := len(vs.IDs())
	if n != 1 {
		t.Fatalf("vendor holds %d accepted agreements %s, want 1", n, ids)
	}
	if ids != "["+rep.Result.Record.ID+"]" {
		t.Errorf("vendor's agreement %s is not the user's %s", ids, rep.Result.Record.ID)
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
