// Package boltstore keeps a DNT-D vendor's side (site.Store) in one bbolt
// file: for a site served by one process. Values are JSON, so the file can
// be inspected with the bbolt command-line tool. Exchanges run one at a
// time, each in one bbolt write transaction (one fsync).
package boltstore

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rbutton/rbutton/policy"
	"github.com/rbutton/rbutton/site"
	bolt "go.etcd.io/bbolt"
)

// Store is a site.Store in one bbolt file.
type Store struct {
	db *bolt.DB
}

var (
	bucketRecords  = []byte("records")
	bucketAgreed   = []byte("agreed-terms")
	bucketHistory  = []byte("history")
	bucketItems    = []byte("items")    // subject -> bucket of seq -> item
	bucketSessions = []byte("sessions") // relationship -> bucket of session -> ""
	bucketNonces   = []byte("nonces")
)

// Open opens (creating if needed) the bbolt file at path.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRecords, bucketAgreed, bucketHistory, bucketItems, bucketSessions, bucketNonces} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("boltstore: init %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Exchange runs fn in one bbolt write transaction.
func (s *Store) Exchange(rel string, fn func(site.Tx) error) error {
	return s.db.Update(func(tx *bolt.Tx) error { return fn(boltTx{tx}) })
}

func put(tx *bolt.Tx, bucket []byte, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put([]byte(key), b)
}

// get decodes the value at key into v; found is false if there is none.
func get(tx *bolt.Tx, bucket []byte, key string, v any) (found bool, err error) {
	b := tx.Bucket(bucket).Get([]byte(key))
	if b == nil {
		return false, nil
	}
	return true, json.Unmarshal(b, v)
}

func (s *Store) view(fn func(boltTx) error) error {
	return s.db.View(func(tx *bolt.Tx) error { return fn(boltTx{tx}) })
}

func (s *Store) GetRecord(id string) (r site.StoredRecord, err error) {
	err = s.view(func(tx boltTx) error { r, err = tx.GetRecord(id); return err })
	return r, err
}

func (s *Store) AgreedTerms(digest string) (t site.AgreedTerms, found bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		found, err = get(tx, bucketAgreed, digest, &t)
		if err != nil {
			return fmt.Errorf("agreed terms %s: %w", digest, err)
		}
		return nil
	})
	return t, found, err
}

func (s *Store) AllAgreedTerms() (map[string]site.AgreedTerms, error) {
	out := map[string]site.AgreedTerms{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAgreed).ForEach(func(k, v []byte) error {
			var t site.AgreedTerms
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("agreed terms %s: %w", k, err)
			}
			out[string(k)] = t
			return nil
		})
	})
	return out, err
}

func (s *Store) History(rel string) (chain []policy.Event, err error) {
	err = s.view(func(tx boltTx) error { chain, err = tx.History(rel); return err })
	return chain, err
}

func (s *Store) AddItem(subject string, item policy.DataItem) error {
	return s.db.Update(func(tx *bolt.Tx) error { return boltTx{tx}.AddItem(subject, item) })
}

func (s *Store) Items(subject string) ([]policy.DataItem, error) {
	var out []policy.DataItem
	err := s.db.View(func(tx *bolt.Tx) error {
		sub := tx.Bucket(bucketItems).Bucket([]byte(subject))
		if sub == nil {
			return nil
		}
		return sub.ForEach(func(_, v []byte) error {
			var it policy.DataItem
			if err := json.Unmarshal(v, &it); err != nil {
				return err
			}
			out = append(out, it)
			return nil
		})
	})
	return out, err
}

func (s *Store) Sessions(rel string) (out []string, err error) {
	err = s.view(func(tx boltTx) error { out, err = tx.Sessions(rel); return err })
	return out, err
}

func (s *Store) GetNonce(nonce string) (n site.Nonce, found bool, err error) {
	err = s.view(func(tx boltTx) error { n, found, err = tx.GetNonce(nonce); return err })
	return n, found, err
}

func (s *Store) ForgetNonces(t time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNonces)
		var drop [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var n site.Nonce
			if json.Unmarshal(v, &n) != nil || n.Expires.Before(t) {
				drop = append(drop, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range drop {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// boltTx is a site.Tx over one bbolt transaction.
type boltTx struct{ tx *bolt.Tx }

func (t boltTx) GetNonce(nonce string) (n site.Nonce, found bool, err error) {
	found, err = get(t.tx, bucketNonces, nonce, &n)
	return n, found, err
}

func (t boltTx) AddNonce(n site.Nonce) error {
	if t.tx.Bucket(bucketNonces).Get([]byte(n.Nonce)) != nil {
		return site.ErrNonceUsed
	}
	return put(t.tx, bucketNonces, n.Nonce, n)
}

func (t boltTx) GetRecord(id string) (site.StoredRecord, error) {
	var r site.StoredRecord
	found, err := get(t.tx, bucketRecords, id, &r)
	if err == nil && !found {
		err = site.ErrNotFound
	}
	return r, err
}

func (t boltTx) AddRecord(r site.StoredRecord) error {
	if t.tx.Bucket(bucketRecords).Get([]byte(r.Record.ID)) != nil {
		return fmt.Errorf("boltstore: record %s is already stored", r.Record.ID)
	}
	r.Ended, r.EndedBy = time.Time{}, ""
	return put(t.tx, bucketRecords, r.Record.ID, r)
}

func (t boltTx) EndRecord(id string, at time.Time, by string) error {
	r, err := t.GetRecord(id)
	if err != nil {
		return err
	}
	r.Ended, r.EndedBy = at, by
	return put(t.tx, bucketRecords, id, r)
}

func (t boltTx) PutAgreedTerms(digest string, a site.AgreedTerms) error {
	return put(t.tx, bucketAgreed, digest, a)
}

func (t boltTx) History(rel string) ([]policy.Event, error) {
	var chain []policy.Event
	_, err := get(t.tx, bucketHistory, rel, &chain)
	return chain, err
}

func (t boltTx) AppendHistory(rel string, events ...policy.Event) error {
	chain, err := t.History(rel)
	if err != nil {
		return err
	}
	return put(t.tx, bucketHistory, rel, append(chain, events...))
}

func (t boltTx) AddItem(subject string, item policy.DataItem) error {
	b, err := json.Marshal(item)
	if err != nil {
		return err
	}
	sub, err := t.tx.Bucket(bucketItems).CreateBucketIfNotExists([]byte(subject))
	if err != nil {
		return err
	}
	seq, err := sub.NextSequence()
	if err != nil {
		return err
	}
	return sub.Put(binary.BigEndian.AppendUint64(nil, seq), b)
}

func (t boltTx) Sessions(rel string) ([]string, error) {
	var out []string
	b := t.tx.Bucket(bucketSessions).Bucket([]byte(rel))
	if b == nil {
		return nil, nil
	}
	err := b.ForEach(func(k, _ []byte) error { out = append(out, string(k)); return nil })
	return out, err
}

func (t boltTx) Link(session, rel string) error {
	b, err := t.tx.Bucket(bucketSessions).CreateBucketIfNotExists([]byte(rel))
	if err != nil {
		return err
	}
	return b.Put([]byte(session), nil)
}
