package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rbutton/rbutton/host/agent"
	"github.com/rbutton/rbutton/host/store"
	"github.com/rbutton/rbutton/policy"
)

func TestParseExport(t *testing.T) {
	t.Parallel()
	db := store.New(filepath.Join(t.TempDir(), "rbutton.db"))
	site := "https://news.example"
	u := defaultTerms(t)
	err := db.Update(func(tx *store.Tx) error {
		tx.PutException(site, u)
		tx.PutRelationship(store.Relationship{Site: site, State: store.StateConflict, MyTerms: &u})
		for _, typ := range []string{policy.EventConflict, policy.EventTermsChanged, policy.EventConflict} {
			if _, err := tx.AppendEvent(site, policy.Event{Type: typ, Time: time.Now(), Detail: "x"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := agent.ExportAll(db, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	good, _ := json.Marshal(ex)
	parsed, err := parseExport(good)
	if err != nil || len(parsed.Relationships) != 1 || len(parsed.Histories[site]) != 3 {
		t.Fatalf("round trip: %v", err)
	}
	bad := map[string]string{
		"tampered history": strings.Replace(string(good), `"detail":"x"`, `"detail":"y"`, 1),
		"bad site":         strings.Replace(string(good), `"site":"https://news.example"`, `"site":"ftp://x"`, 1),
		"bad state":        strings.Replace(string(good), `"state":"conflict"`, `"state":"happy"`, 1),
		"unknown field":    strings.Replace(string(good), `{"v":1,`, `{"v":1,"x":1,`, 1),
		"newer version":    strings.Replace(string(good), `{"v":1,`, `{"v":2,`, 1),
	}
	for name, b := range bad {
		if b == string(good) {
			t.Fatalf("%s: replacement did not apply", name)
		}
		if _, err := parseExport([]byte(b)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
