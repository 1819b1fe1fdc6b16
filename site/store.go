package site

import (
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/rbutton/rbutton/policy"
)

// ErrNotFound is returned by a Store for a record it does not hold.
var ErrNotFound = errors.New("not found")

// StoredRecord is an accepted agreement as the vendor keeps it.
type StoredRecord struct {
	Record policy.Record `json:"record"`
	// Ended is when the relationship ended (zero while it is in force).
	Ended time.Time `json:"ended,omitzero"`
	// EndedBy is "user" or "site".
	EndedBy string `json:"endedBy,omitempty"`
}

// AgreedTerms are terms the vendor agreed to outside its offers (a user's
// counter-proposal it accepted), remembered so that Tk and Permits
// recognise their agreed digest.
type AgreedTerms struct {
	Terms       policy.Terms       `json:"terms"`
	Obligations policy.Obligations `json:"obligations"`
}

// Nonce is a nonce the vendor has seen, with the answer it gave, so that a
// retried proposal gets the same answer and a reused nonce is refused.
type Nonce struct {
	Nonce string `json:"nonce"`
	// BodyDigest is policy.Digest of the request body that carried it.
	BodyDigest string `json:"bodyDigest"`
	// Status and Answer are the HTTP status and body the vendor answered.
	Status int    `json:"status"`
	Answer []byte `json:"answer"`
	// Expires is when the nonce can be forgotten: after it, a message
	// carrying it is stale anyway.
	Expires time.Time `json:"expires"`
}

// Store is where a Vendor keeps its side of its relationships. Implement it
// over your own database, or use NewMemoryStore (examples, tests) or
// OpenBoltStore (a single file). Methods must be safe for concurrent use.
//
// A relationship is named by the user's pairwise key (Agreement.UserKey):
// it outlives renegotiations, which make new records with the same key.
// A subject is what data items are filed under: "rel:<user key>" for items
// the vendor files against a relationship, "session:<id>" for items recorded
// from a browser session.
type Store interface {
	PutRecord(StoredRecord) error
	// GetRecord returns ErrNotFound if there is no record with that id.
	GetRecord(id string) (StoredRecord, error)

	PutAgreedTerms(digest string, t AgreedTerms) error
	AllAgreedTerms() (map[string]AgreedTerms, error)

	// History returns the relationship's hash-chained events (nil if none).
	History(relationship string) ([]policy.Event, error)
	PutHistory(relationship string, chain []policy.Event) error

	AddItem(subject string, item policy.DataItem) error
	Items(subject string) ([]policy.DataItem, error)

	// Link files a browser session under a relationship; Sessions lists them.
	Link(session, relationship string) error
	Sessions(relationship string) ([]string, error)

	// GetNonce returns the stored nonce (found=false if none); PutNonce
	// stores or replaces one. The Vendor serialises its own calls.
	GetNonce(nonce string) (n Nonce, found bool, err error)
	PutNonce(n Nonce) error
	// ForgetNonces drops nonces that expired before t.
	ForgetNonces(t time.Time) error
}

// MemoryStore is a Store in memory: for examples and tests. Everything is
// lost when the process exits.
type MemoryStore struct {
	mu       sync.Mutex
	records  map[string]StoredRecord
	agreed   map[string]AgreedTerms
	history  map[string][]policy.Event
	items    map[string][]policy.DataItem
	sessions map[string][]string
	nonces   map[string]Nonce
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		records: map[string]StoredRecord{}, agreed: map[string]AgreedTerms{},
		history: map[string][]policy.Event{}, items: map[string][]policy.DataItem{},
		sessions: map[string][]string{}, nonces: map[string]Nonce{},
	}
}

func (m *MemoryStore) PutRecord(r StoredRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.records[r.Record.ID] = r
	return nil
}

func (m *MemoryStore) GetRecord(id string) (StoredRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[id]
	if !ok {
		return StoredRecord{}, ErrNotFound
	}
	return r, nil
}

func (m *MemoryStore) PutAgreedTerms(digest string, t AgreedTerms) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.agreed[digest] = t
	return nil
}

func (m *MemoryStore) AllAgreedTerms() (map[string]AgreedTerms, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]AgreedTerms, len(m.agreed))
	for k, v := range m.agreed {
		out[k] = v
	}
	return out, nil
}

func (m *MemoryStore) History(rel string) ([]policy.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.history[rel]), nil
}

func (m *MemoryStore) PutHistory(rel string, chain []policy.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.history[rel] = slices.Clone(chain)
	return nil
}

func (m *MemoryStore) AddItem(subject string, item policy.DataItem) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[subject] = append(m.items[subject], item)
	return nil
}

func (m *MemoryStore) Items(subject string) ([]policy.DataItem, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.items[subject]), nil
}

func (m *MemoryStore) Link(session, rel string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !slices.Contains(m.sessions[rel], session) {
		m.sessions[rel] = append(m.sessions[rel], session)
	}
	return nil
}

func (m *MemoryStore) Sessions(rel string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.sessions[rel]), nil
}

func (m *MemoryStore) GetNonce(nonce string) (Nonce, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nonces[nonce]
	return n, ok, nil
}

func (m *MemoryStore) PutNonce(n Nonce) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nonces[n.Nonce] = n
	return nil
}

func (m *MemoryStore) ForgetNonces(t time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, n := range m.nonces {
		if n.Expires.Before(t) {
			delete(m.nonces, k)
		}
	}
	return nil
}
