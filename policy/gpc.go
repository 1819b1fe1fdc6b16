package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Global Privacy Control's site statement: /.well-known/gpc.json (W3C GPC,
// "Site support"), {"gpc": true, "lastUpdate": "YYYY-MM-DD"}. It says the
// site supports GPC in general, not that any request was honoured.
const (
	GPCPath    = "/.well-known/gpc.json"
	MaxGPCFile = 16 << 10
)

// GPCStatement is a parsed gpc.json.
type GPCStatement struct {
	GPC        bool   `json:"gpc"`
	LastUpdate string `json:"lastUpdate,omitempty"`
}

// ErrGPCFile is wrapped by every ParseGPC error.
var ErrGPCFile = errors.New("invalid gpc.json")

// ParseGPC reads a gpc.json. `gpc` must be a boolean; `lastUpdate`, when
// present, an ISO 8601 date (an unreadable one is dropped, not fatal: the
// statement is what matters). Other members are ignored, as the
// specification allows additions.
func ParseGPC(b []byte) (*GPCStatement, error) {
	if len(b) > MaxGPCFile {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrGPCFile, MaxGPCFile)
	}
	var raw struct {
		GPC        json.RawMessage `json:"gpc"`
		LastUpdate json.RawMessage `json:"lastUpdate"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGPCFile, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrGPCFile)
	}
	var s GPCStatement
	if raw.GPC == nil || string(raw.GPC) == "null" || json.Unmarshal(raw.GPC, &s.GPC) != nil {
		return nil, fmt.Errorf("%w: \"gpc\" must be true or false", ErrGPCFile)
	}
	var d string
	if raw.LastUpdate != nil && json.Unmarshal(raw.LastUpdate, &d) == nil {
		if _, err := time.Parse(time.DateOnly, d); err == nil {
			s.LastUpdate = d
		}
	}
	return &s, nil
}
