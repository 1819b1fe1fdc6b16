package policy

import (
	"fmt"
	"time"
)

// eventBody is Event without its hash: what ComputeHash hashes.
type eventBody struct {
	Seq       int          `json:"seq"`
	Type      string       `json:"type"`
	Time      time.Time    `json:"time"`
	Agreement string       `json:"agreement,omitempty"`
	Detail    string       `json:"detail,omitempty"`
	Changes   []TermChange `json:"changes,omitempty"`
	Prev      string       `json:"prev"`
}

// HashedBytes returns the bytes an event's hash covers: JCS of the event
// with its "hash" member omitted.
func (e *Event) HashedBytes() ([]byte, error) {
	return Canonical(eventBody{e.Seq, e.Type, e.Time, e.Agreement, e.Detail, e.Changes, e.Prev})
}

// ComputeHash returns Digest(HashedBytes()).
func (e *Event) ComputeHash() (string, error) {
	b, err := e.HashedBytes()
	if err != nil {
		return "", err
	}
	return Digest(b), nil
}

// AppendEvent returns a new chain with e appended: it truncates e's time to
// whole seconds in UTC, sets e's seq to the chain length, prev to the last event's hash ("" for the first), computes
// its hash and validates it. Its time must not be before the last event's.
// chain itself is not modified.
func AppendEvent(chain []Event, e Event) ([]Event, error) {
	e.Seq = len(chain)
	e.Prev = ""
	e.Time = e.Time.UTC().Truncate(time.Second)
	if n := len(chain); n > 0 {
		e.Prev = chain[n-1].Hash
		if e.Time.Before(chain[n-1].Time) {
			return nil, pathErr(fmt.Sprintf("[%d].time", e.Seq), ErrChainBroken, "is before the previous event's time")
		}
	}
	h, err := e.ComputeHash()
	if err != nil {
		return nil, err
	}
	e.Hash = h
	if err := e.Validate(); err != nil {
		return nil, err
	}
	out := make([]Event, len(chain), len(chain)+1)
	copy(out, chain)
	return append(out, e), nil
}

// VerifyChain checks every event's structure, that seq counts from 0, that
// each prev is the previous event's hash, that each hash is the event's own
// ComputeHash, and that times never go backwards. Errors name the first bad
// member, like "[3].prev", and wrap ErrChainBroken (or a parse sentinel).
func VerifyChain(chain []Event) error {
	prev := ""
	for i := range chain {
		e := &chain[i]
		at := func(member string) string { return fmt.Sprintf("[%d].%s", i, member) }
		if err := e.Validate(); err != nil {
			if pe, ok := err.(*ParseError); ok {
				return &ParseError{Path: fmt.Sprintf("[%d].%s", i, pe.Path), Err: pe.Err}
			}
			return err
		}
		if e.Seq != i {
			return pathErr(at("seq"), ErrChainBroken, fmt.Sprintf("is %d, want %d", e.Seq, i))
		}
		if e.Prev != prev {
			return pathErr(at("prev"), ErrChainBroken, "is not the previous event's hash")
		}
		if i > 0 && e.Time.Before(chain[i-1].Time) {
			return pathErr(at("time"), ErrChainBroken, "is before the previous event's time")
		}
		h, err := e.ComputeHash()
		if err != nil {
			return err
		}
		if h != e.Hash {
			return pathErr(at("hash"), ErrChainBroken, "does not match the event's content")
		}
		prev = e.Hash
	}
	return nil
}
