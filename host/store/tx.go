package store

import (
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/rbutton/rbutton/policy"
)

// Tx is one transaction. Values it returns are copies, valid after the
// transaction ends.
type Tx struct {
	tx     *bolt.Tx
	bumped bool // the generation was already incremented in this transaction
}

// Generation returns the change counter: how many committed transactions
// have changed something a browser must signal or show (the user's terms,
// an exception, a relationship's state or agreed digest, a forgotten site).
// Browsers compare it with the one they last saw (the changes message of
// PROTOCOL.md section 20) to learn, cheaply, that they must reload.
func (t *Tx) Generation() uint64 {
	b := t.tx.Bucket(bucketMeta)
	if b == nil {
		return 0
	}
	v := b.Get(keyGeneration)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// Bump increments the generation, once per transaction however often it is
// called. The write methods below call it themselves where the change is
// visible to browsers.
func (t *Tx) Bump() error {
	if t.bumped {
		return nil
	}
	meta, err := t.tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], t.Generation()+1)
	if err := meta.Put(keyGeneration, v[:]); err != nil {
		return err
	}
	t.bumped = true
	return nil
}

// Relationship states.
const (
	StateAgreed   = "agreed"
	StateConflict = "conflict"
	StateError    = "error"
	StateEnded    = "ended"
)

// Relationship is what the host knows about its dealings with one site.
// Its JSON is the Relationship of the native-messaging protocol.
type Relationship struct {
	Site         string                `json:"site"`
	State        string                `json:"state"`
	Since        time.Time             `json:"since"`
	Updated      time.Time             `json:"updated"`
	TermsDigest  string                `json:"termsDigest"`
	AgreedDigest string                `json:"agreedDigest"`
	SiteTerms    *policy.TermsDocument `json:"siteTerms"`
	MyTerms      *policy.UserTerms     `json:"myTerms"`
	Exception    bool                  `json:"exception"`
	Record       *policy.Record        `json:"record"`
	Verified     bool                  `json:"verified"`
	Offer        *policy.Offer         `json:"offer"`
	Conflicts    []policy.Conflict     `json:"conflicts"`
	Error        *RelationshipError    `json:"error"`
	// EndedBy says, for state ended, who ended it: EndedByUser,
	// EndedByWithdrawal or EndedBySite.
	EndedBy string `json:"endedBy,omitempty"`
}

// Who ended a relationship (Relationship.EndedBy).
const (
	// EndedByUser: the user ended it (relationship.end). It stays ended
	// until the user's terms change or they ask to renegotiate.
	EndedByUser = "user"
	// EndedByWithdrawal: the user's terms changed so that it no longer fit,
	// or they forgot the site. The next visit negotiates again.
	EndedByWithdrawal = "withdrawn"
	// EndedBySite: the site answered 404 not_found or 410 ended.
	EndedBySite = "site"
)

// RelationshipError is the last site-side failure worth showing the user
// (for example the site's answer to an end request).
type RelationshipError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type storedRelationship struct {
	valueHead
	Relationship
}

// storedEvent adds the value version to a history event. The event's hash
// covers the event alone (policy.Event.ComputeHash), not this wrapper.
type storedEvent struct {
	V int `json:"v"`
	policy.Event
}

// Key is the pairwise key pair the host uses with one site. The private
// key never leaves the host.
type Key struct {
	V       int                `json:"v"`
	Public  ed25519.PublicKey  `json:"public"`
	Private ed25519.PrivateKey `json:"private"`
	Created time.Time          `json:"created"`
}

// Backoff records consecutive failures reaching a site so that the many
// short-lived host processes agree on when to try again.
type Backoff struct {
	V         int       `json:"v"`
	Failures  int       `json:"failures"`
	Next      time.Time `json:"next"`
	LastError string    `json:"lastError,omitempty"`
}

func (t *Tx) get(bucket []byte, key string, dst any) (bool, error) {
	b := t.tx.Bucket(bucket)
	if b == nil {
		return false, nil
	}
	v := b.Get([]byte(key))
	if v == nil {
		return false, nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return false, fmt.Errorf("%w: %s/%s: %v", ErrCorrupt, bucket, key, err)
	}
	return true, nil
}

func (t *Tx) put(bucket []byte, key string, v any) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	return t.tx.Bucket(bucket).Put([]byte(key), b)
}

func (t *Tx) del(bucket []byte, key string) error {
	return t.tx.Bucket(bucket).Delete([]byte(key))
}

// Defaults returns the user's default terms, or nil if never set.
func (t *Tx) Defaults() (*policy.UserTerms, error) {
	var u policy.UserTerms
	ok, err := t.get(bucketTerms, string(keyDefaults), &u)
	if !ok || err != nil {
		return nil, err
	}
	return &u, nil
}

// PutDefaults stores the user's default terms.
func (t *Tx) PutDefaults(u policy.UserTerms) error {
	if err := t.Bump(); err != nil {
		return err
	}
	return t.put(bucketTerms, string(keyDefaults), u)
}

// Exception returns the user's terms for site, or nil.
func (t *Tx) Exception(site string) (*policy.UserTerms, error) {
	var u policy.UserTerms
	ok, err := t.get(bucketExceptions, site, &u)
	if !ok || err != nil {
		return nil, err
	}
	return &u, nil
}

// PutException stores the user's terms for one site.
func (t *Tx) PutException(site string, u policy.UserTerms) error {
	if err := t.Bump(); err != nil {
		return err
	}
	return t.put(bucketExceptions, site, u)
}

// DeleteException removes the user's terms for site; it reports whether
// there were any.
func (t *Tx) DeleteException(site string) (bool, error) {
	had := t.tx.Bucket(bucketExceptions).Get([]byte(site)) != nil
	if !had {
		return false, nil
	}
	if err := t.Bump(); err != nil {
		return had, err
	}
	return had, t.del(bucketExceptions, site)
}

// Exceptions returns every site exception.
func (t *Tx) Exceptions() (map[string]policy.UserTerms, error) {
	return all[policy.UserTerms](t, bucketExceptions)
}

// Keys returns every site's pairwise key. Callers showing them to anyone
// must drop the private halves.
func (t *Tx) Keys() (map[string]Key, error) { return all[Key](t, bucketKeys) }

// Backoffs returns every site's failure record.
func (t *Tx) Backoffs() (map[string]Backoff, error) { return all[Backoff](t, bucketBackoff) }

// all decodes every value of a bucket keyed by site.
func all[T any](t *Tx, bucket []byte) (map[string]T, error) {
	out := map[string]T{}
	b := t.tx.Bucket(bucket)
	if b == nil { // a bucket created when first written
		return out, nil
	}
	err := b.ForEach(func(k, v []byte) error {
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("%w: %s/%s: %v", ErrCorrupt, bucket, k, err)
		}
		out[string(k)] = x
		return nil
	})
	return out, err
}

// Relationship returns the relationship with site, or nil.
func (t *Tx) Relationship(site string) (*Relationship, error) {
	v := t.tx.Bucket(bucketRelationships).Get([]byte(site))
	if v == nil {
		return nil, nil
	}
	return decodeRelationship([]byte(site), v)
}

// decodeRelationship decodes the relationship stored under key (relvalue.go).
func decodeRelationship(key, v []byte) (*Relationship, error) {
	var r storedRelationship
	if err := decodeRelationshipValue(key, v, &r); err != nil {
		return nil, err
	}
	return &r.Relationship, nil
}

// RelationshipJSON returns the relationship with site as the JSON of the
// protocol's Relationship, or nil if there is none. A current value is copied
// out as stored, without the decode and re-encode that dominate
// relationship.get (BENCHMARKS.md, section 1); a value of another version, or
// a damaged one, takes the decoding path, which migrates or reports it.
func (t *Tx) RelationshipJSON(site string) (json.RawMessage, error) {
	v := t.tx.Bucket(bucketRelationships).Get([]byte(site))
	if v == nil {
		return nil, nil
	}
	members, ok, err := relationshipMembers(v)
	if err != nil {
		return nil, relationshipError(site, err)
	}
	if ok {
		out := make([]byte, 0, 1+len(members))
		return append(append(out, '{'), members...), nil
	}
	r, err := t.Relationship(site)
	if r == nil || err != nil {
		return nil, err
	}
	return json.Marshal(r)
}

// PutRelationship stores r under r.Site.
func (t *Tx) PutRelationship(r Relationship) error {
	if r.Conflicts == nil {
		r.Conflicts = []policy.Conflict{}
	}
	old, err := t.Relationship(r.Site)
	if err != nil || old == nil || old.State != r.State || old.AgreedDigest != r.AgreedDigest {
		// What browsers signal to the site may change: a new generation.
		if err := t.Bump(); err != nil {
			return err
		}
	}
	b, err := encodeRelationship(r)
	if err != nil {
		return err
	}
	return t.tx.Bucket(bucketRelationships).Put([]byte(r.Site), b)
}

// Relationships returns every relationship, ordered by site.
func (t *Tx) Relationships() ([]Relationship, error) {
	out := []Relationship{}
	err := t.tx.Bucket(bucketRelationships).ForEach(func(k, v []byte) error {
		r, err := decodeRelationship(k, v)
		if err != nil {
			return err
		}
		out = append(out, *r)
		return nil
	})
	return out, err
}

func seqKey(seq int) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], uint64(seq))
	return k[:]
}

// History returns site's events in order.
func (t *Tx) History(site string) ([]policy.Event, error) {
	out := []policy.Event{}
	b := t.tx.Bucket(bucketHistory).Bucket([]byte(site))
	if b == nil {
		return out, nil
	}
	err := b.ForEach(func(k, v []byte) error {
		var e storedEvent
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("%w: history/%s/%x: %v", ErrCorrupt, site, k, err)
		}
		out = append(out, e.Event)
		return nil
	})
	return out, err
}

// AppendEvent links e to the end of site's history (setting Seq, Prev and
// Hash) and returns it as stored.
func (t *Tx) AppendEvent(site string, e policy.Event) (policy.Event, error) {
	b, err := t.tx.Bucket(bucketHistory).CreateBucketIfNotExists([]byte(site))
	if err != nil {
		return e, err
	}
	e.Seq, e.Prev, e.Hash = 0, "", ""
	if k, v := b.Cursor().Last(); k != nil {
		var last storedEvent
		if err := json.Unmarshal(v, &last); err != nil {
			return e, fmt.Errorf("%w: history/%s: %v", ErrCorrupt, site, err)
		}
		e.Seq, e.Prev = last.Seq+1, last.Hash
	}
	e.Time = e.Time.UTC().Truncate(time.Second)
	if e.Hash, err = e.ComputeHash(); err != nil {
		return e, err
	}
	v, err := marshal(storedEvent{V: 1, Event: e})
	if err != nil {
		return e, err
	}
	return e, b.Put(seqKey(e.Seq), v)
}

// ReplaceHistory stores events as site's whole history (used by import).
func (t *Tx) ReplaceHistory(site string, events []policy.Event) error {
	h := t.tx.Bucket(bucketHistory)
	if h.Bucket([]byte(site)) != nil {
		if err := h.DeleteBucket([]byte(site)); err != nil {
			return err
		}
	}
	if len(events) == 0 {
		return nil
	}
	b, err := h.CreateBucket([]byte(site))
	if err != nil {
		return err
	}
	for _, e := range events {
		v, err := marshal(storedEvent{V: 1, Event: e})
		if err != nil {
			return err
		}
		if err := b.Put(seqKey(e.Seq), v); err != nil {
			return err
		}
	}
	return nil
}

// Key returns the pairwise key for site, or nil.
func (t *Tx) Key(site string) (*Key, error) {
	var k Key
	ok, err := t.get(bucketKeys, site, &k)
	if !ok || err != nil {
		return nil, err
	}
	if len(k.Private) != ed25519.PrivateKeySize || len(k.Public) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: keys/%s: bad key length", ErrCorrupt, site)
	}
	return &k, nil
}

// PutKey stores the pairwise key for site.
func (t *Tx) PutKey(site string, k Key) error {
	k.V = 1
	return t.put(bucketKeys, site, k)
}

// Backoff returns site's failure record, or nil.
func (t *Tx) Backoff(site string) (*Backoff, error) {
	var b Backoff
	ok, err := t.get(bucketBackoff, site, &b)
	if !ok || err != nil {
		return nil, err
	}
	return &b, nil
}

// PutBackoff stores site's failure record.
func (t *Tx) PutBackoff(site string, b Backoff) error {
	b.V = 1
	return t.put(bucketBackoff, site, b)
}

// ClearBackoff forgets site's failures.
func (t *Tx) ClearBackoff(site string) error { return t.del(bucketBackoff, site) }

// Forget deletes everything stored about site: relationship, history,
// exception, key, backoff, site check, kept records and data returns, and
// what it holds of the user's details. It reports whether anything was there.
func (t *Tx) Forget(site string) (bool, error) {
	found := false
	for _, b := range [][]byte{bucketRelationships, bucketExceptions, bucketKeys, bucketBackoff, bucketSiteChecks, bucketProffers} {
		bk := t.tx.Bucket(b)
		if bk != nil && bk.Get([]byte(site)) != nil {
			found = true
			if err := bk.Delete([]byte(site)); err != nil {
				return found, err
			}
		}
	}
	h := t.tx.Bucket(bucketHistory)
	if h.Bucket([]byte(site)) != nil {
		found = true
		if err := h.DeleteBucket([]byte(site)); err != nil {
			return found, err
		}
	}
	mine, err := t.forgetMine(site)
	if err != nil {
		return found, err
	}
	pending, err := t.forgetPendingEnds(site)
	if err != nil {
		return found, err
	}
	found = found || mine || pending
	if found {
		return found, t.Bump()
	}
	return found, nil
}
