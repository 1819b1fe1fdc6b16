package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/rbutton/rbutton/host/framing"
)

func frames(t *testing.T, bodies ...string) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	for _, s := range bodies {
		f, err := framing.Encode([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		b.Write(f)
	}
	return &b
}

func TestEchoesEnvelope(t *testing.T) {
	in := frames(t, `{"id":"1","type":"hello","params":{}}`, `{"id":"2","type":"relationship.get","params":{"site":"http://127.0.0.1:8441"}}`)
	var out bytes.Buffer
	if err := run(in, &out); err != nil {
		t.Fatal(err)
	}
	var replies []map[string]any
	for out.Len() > 0 {
		body, err := framing.ReadFrame(&out)
		if err != nil {
			t.Fatal(err)
		}
		var r map[string]any
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		replies = append(replies, r)
	}
	if len(replies) != 2 || replies[0]["id"] != "1" || replies[1]["id"] != "2" || replies[0]["ok"] != true {
		t.Fatalf("replies %v", replies)
	}
	if replies[0]["result"].(map[string]any)["protocol"] != float64(1) {
		t.Errorf("hello result %v", replies[0]["result"])
	}
	if replies[1]["result"].(map[string]any)["site"] != "http://127.0.0.1:8441" {
		t.Errorf("echo result %v", replies[1]["result"])
	}
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   *bytes.Buffer
	}{
		{"not json", frames(t, `{"id":`)},
		{"truncated header", bytes.NewBufferString("\x05\x00")},
		{"truncated body", bytes.NewBufferString("\x09\x00\x00\x00{}")},
	} {
		var out bytes.Buffer
		err := run(tc.in, &out)
		if err == nil {
			t.Errorf("%s: run succeeded", tc.name)
		}
		var fe *framing.FrameError
		if tc.name != "not json" && !errors.As(err, &fe) {
			t.Errorf("%s: error %v is not a *framing.FrameError", tc.name, err)
		}
	}
}

func TestCleanEOF(t *testing.T) {
	if err := run(&bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Errorf("empty input: %v", err)
	}
}
