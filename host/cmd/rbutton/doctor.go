package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/rbutton/rbutton/host/framing"
	"github.com/rbutton/rbutton/host/install"
	"github.com/rbutton/rbutton/host/proto"
	"github.com/rbutton/rbutton/host/store"
)

// Diagnosis is doctor's report.
type Diagnosis struct {
	Binary    string          `json:"binary"`
	Version   string          `json:"version"`
	Browsers  []install.Check `json:"browsers"`
	Database  DBDiagnosis     `json:"database"`
	Log       string          `json:"log"`
	RoundTrip string          `json:"roundTrip"` // "ok" or the problem
	OK        bool            `json:"ok"`
}

// DBDiagnosis describes the database file.
type DBDiagnosis struct {
	Path    string `json:"path"`
	Exists  bool   `json:"exists"`
	Schema  uint64 `json:"schema"`
	Sites   int    `json:"sites"`
	Size    int64  `json:"size"`
	Problem string `json:"problem,omitempty"`
	Fix     string `json:"fix,omitempty"` // what the user can do about Problem
}

func cmdDoctor(args []string) int {
	fs := newFlags("doctor")
	asJSON := fs.Bool("json", false, "")
	extID := fs.String("extension-id", install.DefaultExtensionID, "")
	ffID := fs.String("firefox-id", install.DefaultFirefoxID, "")
	udd := fs.String("user-data-dir", "", "")
	if !parseFlags(fs, args) {
		return 2
	}
	exe, err := selfPath()
	if err != nil {
		return exitErr(err)
	}
	d := Diagnosis{Binary: exe, Version: proto.Version, Log: logPath(), OK: true}
	d.Browsers = install.CheckAll(install.Options{Exe: exe, ExtensionID: *extID, FirefoxID: *ffID, UserDataDir: *udd})
	anyInstalled := false
	for _, c := range d.Browsers {
		if c.Present {
			anyInstalled = true
		}
		if c.Problem != "" {
			d.OK = false
		}
	}
	if !anyInstalled {
		d.OK = false
	}
	d.Database = diagnoseDB()
	if d.Database.Problem != "" {
		d.OK = false
	}
	d.RoundTrip = roundTrip(exe, *extID)
	if d.RoundTrip != "ok" {
		d.OK = false
	}
	if *asJSON {
		printJSON(d)
	} else {
		fmt.Printf("binary:    %s (rbutton %s)\n", d.Binary, d.Version)
		for _, c := range d.Browsers {
			status := "not installed"
			switch {
			case c.Problem != "":
				status = "PROBLEM: " + c.Problem
			case c.Present:
				status = "ok"
			}
			fmt.Printf("%-9s  %s: %s\n", c.Browser, status, c.Manifest)
		}
		if !anyInstalled {
			fmt.Println("           no browser has the host installed; run 'rbutton install'")
		}
		db := d.Database
		switch {
		case db.Problem != "":
			fmt.Printf("database:  PROBLEM: %s\n", db.Problem)
			if db.Fix != "" {
				fmt.Printf("           to fix: %s\n", db.Fix)
			}
		case !db.Exists:
			fmt.Printf("database:  not created yet: %s\n", db.Path)
		default:
			fmt.Printf("database:  ok: %s (schema %d, %d site(s), %d bytes)\n", db.Path, db.Schema, db.Sites, db.Size)
		}
		fmt.Printf("log:       %s\n", d.Log)
		fmt.Printf("host mode: %s\n", d.RoundTrip)
	}
	if !d.OK {
		return 1
	}
	return 0
}

func diagnoseDB() DBDiagnosis {
	db, err := openDB()
	if err != nil {
		return DBDiagnosis{Problem: err.Error()}
	}
	out := DBDiagnosis{Path: db.Path}
	if _, err := os.Stat(db.Path); errors.Is(err, os.ErrNotExist) {
		return out
	}
	out.Exists = true
	info, err := db.Check()
	out.Schema, out.Sites, out.Size = info.Schema, info.Sites, info.Size
	if err != nil {
		out.Problem = err.Error()
		out.Fix = dbFix(db.Path, err)
	}
	return out
}

// dbFix says what to do about a database problem.
func dbFix(_ string, err error) string { return store.Advice(err) }

// roundTrip starts this binary in host mode, as a browser would, and sends
// hello.
func roundTrip(exe, extID string) string {
	cmd := exec.Command(exe, "chrome-extension://"+extID+"/")
	req, _ := framing.Encode([]byte(`{"id":"doctor","type":"hello","params":{}}`))
	cmd.Stdin = bytes.NewReader(req)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return "cannot start host: " + err.Error()
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return "host exited with " + err.Error()
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		return "host did not answer within 10s"
	}
	body, err := framing.ReadFrame(&out)
	if err != nil {
		return "bad reply frame: " + err.Error()
	}
	var reply struct {
		ID     string `json:"id"`
		OK     bool   `json:"ok"`
		Result struct {
			Protocol int `json:"protocol"`
		} `json:"result"`
		Error *proto.Error `json:"error"`
	}
	if err := json.Unmarshal(body, &reply); err != nil {
		return "reply is not JSON: " + err.Error()
	}
	if !reply.OK || reply.ID != "doctor" || reply.Result.Protocol != proto.Protocol {
		return fmt.Sprintf("unexpected reply %s", body)
	}
	if out.Len() != 0 {
		return fmt.Sprintf("%d stray bytes after the reply on stdout", out.Len())
	}
	return "ok"
}
