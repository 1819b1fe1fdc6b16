package main

import (
	"crypto/ed25519"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rbutton/rbutton/host/agent"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
)

// An export of a site the user only proffered a MyTerms agreement to (a
// history, no relationship) imports, proffer, history and check included;
// a tampered proffer is refused.
func TestExportImportProffers(t *testing.T) {
	t.Parallel()
	src := store.New(filepath.Join(t.TempDir(), "a.db"))
	site := "https://plain.example"
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	p := policy.Proffer{V: 1, Site: site, Agreement: policy.P7012Base + "SD-BASE", FileDigest: policy.Digest([]byte("{}")),
		Created: time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC), Status: policy.ProfferPending}
	if err := policy.SignProffer(&p, priv); err != nil {
		t.Fatal(err)
	}
	id, _ := policy.ProfferID(p)
	err := src.Update(func(tx *store.Tx) error {
		if err := tx.AddProffer(site, p); err != nil {
			return err
		}
		if err := tx.PutSiteCheck(store.SiteCheck{Site: site, Checked: p.Created, Next: p.Created.Add(24 * time.Hour),
			GPC: store.Statement{State: "absent", Path: policy.GPCPath}, MyTerms: store.Statement{State: "found", Path: policy.MyTermsPath},
			MyTermsFile: &policy.MyTermsFile{Agreements: []policy.MyTermsAgreement{{ID: "SD-BASE", Code: "SD-BASE"}}, Digest: p.FileDigest}}); err != nil {
			return err
		}
		_, err := tx.AppendEvent(site, policy.Event{Type: policy.EventProffered, Time: p.Created, Agreement: id, Detail: "proffered SD-BASE"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := agent.ExportAll(src, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(ex)
	parsed, err := parseExport(raw)
	if err != nil {
		t.Fatalf("an export with a proffer-only site does not import: %v", err)
	}
	dst := store.New(filepath.Join(t.TempDir(), "b.db"))
	if err := dst.Update(func(tx *store.Tx) error { return importProffers(tx, parsed) }); err != nil {
		t.Fatal(err)
	}
	back, err := agent.ExportAll(dst, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Proffers[site]) != 1 || back.Proffers[site][0].UserSignature != p.UserSignature ||
		len(back.Histories[site]) != 1 || back.SiteChecks[site].MyTermsFile == nil {
		t.Errorf("after import: %+v", back)
	}
	tampered := strings.Replace(string(raw), "p7012#SD-BASE", "p7012#SD-BASE-ATP", 1)
	if _, err := parseExport([]byte(tampered)); err == nil {
		t.Error("a tampered proffer was accepted")
	}
}
