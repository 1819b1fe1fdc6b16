package site

import (
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/rbutton/rbutton/policy"
)

// ErrNotFound is returned by a Store for a record it does not hold.
var ErrNotFound = errors.New("not found")

// ErrNonceUsed is returned by Tx.AddNonce for a nonce the store already
// holds.
var ErrNonceUsed = errors.New("nonce already used")

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
// over your own database, or use NewMemoryStore (examples, tests), the
// boltstore package (one file) or the pgstore package (PostgreSQL, shared
// by many vendor processes). Methods must be safe for concurrent use.
//
// A relationship is named by the user's pairwise key (Agreement.UserKey):
// it outlives renegotiations, which make new records with the same key.
// A subject is what data items are filed under: "rel:<user key>" for items
// the vendor files against a relationship, "session:<id>" for items recorded
// from a browser session.
//
// Every decision the vendor takes (a proposal answered, a data return, an
// end) runs inside one Exchange: the store makes it atomic and serialises
// exchanges on the same relationship, so that a nonce gets one answer, a
// relationship's history is appended in order and a replay is refused.
// Exchanges on different relationships may run in parallel: the vendor
// itself holds no lock.
type Store interface {
	// Exchange runs fn in one transaction holding the relationship rel
	// exclusively against other exchanges on it, in this process and any
	// other sharing the store. Either all of fn's writes are kept or none:
	// when fn returns an error, nothing it wrote is, and Exchange returns
	// that error. A store that finds fn's writes in conflict with a
	// concurrent exchange on another relationship (both adding one nonce)
	// discards them and calls fn again, so fn must do nothing but read and
	// write through its Tx.
	Exchange(rel string, fn func(Tx) error) error

	// GetRecord returns ErrNotFound if there is no record with that id.
	GetRecord(id string) (StoredRecord, error)
	// AgreedTerms returns the user terms accepted under an agreed digest
	// (found=false if none).
	AgreedTerms(digest string) (t AgreedTerms, found bool, err error)
	// AllAgreedTerms returns every set of accepted user terms, by digest.
	AllAgreedTerms() (map[string]AgreedTerms, error)
	// History returns the relationship's hash-chained events (nil if none).
	History(relationship string) ([]policy.Event, error)
	// AddItem files an item under a subject; Items lists a subject's
	// items in the order they were added.
	AddItem(subject string, item policy.DataItem) error
	Items(subject string) ([]policy.DataItem, error)
	// Sessions lists the browser sessions linked to a relationship.
	Sessions(relationship string) ([]string, error)
	// GetNonce returns the stored nonce (found=false if none).
	GetNonce(nonce string) (n Nonce, found bool, err error)
	// ForgetNonces drops nonces that expired before t.
	ForgetNonces(t time.Time) error
}

// Tx is what an Exchange reads and writes. Records and history are only
// ever added to: a record's end is the one change it may see.
type Tx interface {
	// GetNonce returns the stored nonce (found=false if none); AddNonce
	// stores a new one, or returns an error wrapping ErrNonceUsed.
	GetNonce(nonce string) (n Nonce, found bool, err error)
	AddNonce(n Nonce) error

	// GetRecord returns ErrNotFound if there is no record with that id.
	GetRecord(id string) (StoredRecord, error)
	// AddRecord stores a new record (its Ended is ignored).
	AddRecord(r StoredRecord) error
	// EndRecord marks a stored record ended at t by "user" or "site".
	EndRecord(id string, t time.Time, by string) error

	PutAgreedTerms(digest string, t AgreedTerms) error

	// History returns the relationship's chain; AppendHistory adds events
	// that continue it (the first one's Prev is the last one's Hash).
	History(relationship string) ([]policy.Event, error)
	AppendHistory(relationship string, events ...policy.Event) error

	AddItem(subject string, item policy.DataItem) error
	// Link files a browser session under a relationship; Sessions lists
	// the sessions linked to it.
	Link(session, relationship string) error
	Sessions(relationship string) ([]string, error)
}

// MemoryStore is a Store in memory: for examples and tests. Everything is
// lost when the process exits. Exchanges run one at a time under one lock.
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

// Exchange runs fn under the store's lock. Its writes are applied when fn
// returns nil and dropped otherwise.
func (m *MemoryStore) Exchange(rel string, fn func(Tx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	tx := &memoryTx{m: m}
	if err := fn(tx); err != nil {
		return err
	}
	for _, w := range tx.writes {
		w()
	}
	return nil
}

// memoryTx buffers its writes; its reads see them through the overlays.
type memoryTx struct {
	m       *MemoryStore
	writes  []func()
	records map[string]StoredRecord
	history map[string][]policy.Event
	nonces  map[string]Nonce
	links   map[string][]string
}

func (t *memoryTx) GetNonce(nonce string) (Nonce, bool, error) {
	if n, ok := t.nonces[nonce]; ok {
		return n, true, nil
	}
	n, ok := t.m.nonces[nonce]
	return n, ok, nil
}

func (t *memoryTx) AddNonce(n Nonce) error {
	if _, found, _ := t.GetNonce(n.Nonce); found {
		return ErrNonceUsed
	}
	if t.nonces == nil {
		t.nonces = map[string]Nonce{}
	}
	t.nonces[n.Nonce] = n
	t.writes = append(t.writes, func() { t.m.nonces[n.Nonce] = n })
	return nil
}

func (t *memoryTx) GetRecord(id string) (StoredRecord, error) {
	if r, ok := t.records[id]; ok {
		return r, nil
	}
	r, ok := t.m.records[id]
	if !ok {
		return StoredRecord{}, ErrNotFound
	}
	return r, nil
}

func (t *memoryTx) setRecord(r StoredRecord) {
	if t.records == nil {
		t.records = map[string]StoredRecord{}
	}
	t.records[r.Record.ID] = r
	t.writes = append(t.writes, func() { t.m.records[r.Record.ID] = r })
}

func (t *memoryTx) AddRecord(r StoredRecord) error {
	if _, err := t.GetRecord(r.Record.ID); err == nil {
		return errors.New("site: record " + r.Record.ID + " is already stored")
	}
	r.Ended, r.EndedBy = time.Time{}, ""
	t.setRecord(r)
	return nil
}

func (t *memoryTx) EndRecord(id string, at time.Time, by string) error {
	r, err := t.GetRecord(id)
	if err != nil {
		return err
	}
	r.Ended, r.EndedBy = at, by
	t.setRecord(r)
	return nil
}

func (t *memoryTx) PutAgreedTerms(digest string, a AgreedTerms) error {
	t.writes = append(t.writes, func() { t.m.agreed[digest] = a })
	return nil
}

func (t *memoryTx) History(rel string) ([]policy.Event, error) {
	if h, ok := t.history[rel]; ok {
		return slices.Clone(h), nil
	}
	return slices.Clone(t.m.history[rel]), nil
}

func (t *memoryTx) AppendHistory(rel string, events ...policy.Event) error {
	h, _ := t.History(rel)
	h = append(h, events...)
	if t.history == nil {
		t.history = map[string][]policy.Event{}
	}
	t.history[rel] = h
	t.writes = append(t.writes, func() { t.m.history[rel] = h })
	return nil
}

func (t *memoryTx) AddItem(subject string, item policy.DataItem) error {
	t.writes = append(t.writes, func() { t.m.items[subject] = append(t.m.items[subject], item) })
	return nil
}

func (t *memoryTx) Link(session, rel string) error {
	if t.links == nil {
		t.links = map[string][]string{}
	}
	t.links[rel] = append(t.links[rel], session)
	t.writes = append(t.writes, func() {
		if !slices.Contains(t.m.sessions[rel], session) {
			t.m.sessions[rel] = append(t.m.sessions[rel], session)
		}
	})
	return nil
}

func (t *memoryTx) Sessions(rel string) ([]string, error) {
	out := slices.Clone(t.m.sessions[rel])
	for _, s := range t.links[rel] {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
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

func (m *MemoryStore) AgreedTerms(digest string) (AgreedTerms, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.agreed[digest]
	return a, ok, nil
}

func (m *MemoryStore) AllAgreedTerms() (map[string]AgreedTerms, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.agreed), nil
}

func (m *MemoryStore) History(rel string) ([]policy.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.history[rel]), nil
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
