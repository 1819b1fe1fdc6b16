package site

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rbutton/rbutton/policy"
	bolt "go.etcd.io/bbolt"
)

// BoltStore is a Store in one bbolt file. Values are JSON, so the file can
// be inspected with the bbolt command-line tool.
type BoltStore struct {
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

// OpenBoltStore opens (creating if needed) the bbolt file at path.
func OpenBoltStore(path string) (*BoltStore, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("site: open store %s: %w", path, err)
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
		return nil, fmt.Errorf("site: init store %s: %w", path, err)
	}
	return &BoltStore{db: db}, nil
}

// Close closes the file.
func (s *BoltStore) Close() error { return s.db.Close() }

func (s *BoltStore) put(bucket []byte, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put([]byte(key), b) })
}

// get decodes the value at key into v; found is false if there is none.
func (s *BoltStore) get(bucket []byte, key string, v any) (found bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket).Get([]byte(key))
		if b == nil {
			return nil
		}
		found = true
		return json.Unmarshal(b, v)
	})
	return found, err
}

func (s *BoltStore) PutRecord(r StoredRecord) error { return s.put(bucketRecords, r.Record.ID, r) }

func (s *BoltStore) GetRecord(id string) (StoredRecord, error) {
	var r StoredRecord
	found, err := s.get(bucketRecords, id, &r)
	if err == nil && !found {
		err = ErrNotFound
	}
	return r, err
}

func (s *BoltStore) PutAgreedTerms(digest string, t AgreedTerms) error {
	return s.put(bucketAgreed, digest, t)
}

func (s *BoltStore) AllAgreedTerms() (map[string]AgreedTerms, error) {
	out := map[string]AgreedTerms{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAgreed).ForEach(func(k, v []byte) error {
			var t AgreedTerms
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("agreed terms %s: %w", k, err)
			}
			out[string(k)] = t
			return nil
		})
	})
	return out, err
}

func (s *BoltStore) History(rel string) ([]policy.Event, error) {
	var chain []policy.Event
	_, err := s.get(bucketHistory, rel, &chain)
	return chain, err
}

func (s *BoltStore) PutHistory(rel string, chain []policy.Event) error {
	return s.put(bucketHistory, rel, chain)
}

func (s *BoltStore) AddItem(subject string, item policy.DataItem) error {
	b, err := json.Marshal(item)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		sub, err := tx.Bucket(bucketItems).CreateBucketIfNotExists([]byte(subject))
		if err != nil {
			return err
		}
		seq, err := sub.NextSequence()
		if err != nil {
			return err
		}
		return sub.Put(binary.BigEndian.AppendUint64(nil, seq), b)
	})
}

func (s *BoltStore) Items(subject string) ([]policy.DataItem, error) {
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

func (s *BoltStore) Link(session, rel string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bucketSessions).CreateBucketIfNotExists([]byte(rel))
		if err != nil {
			return err
		}
		return b.Put([]byte(session), nil)
	})
}

func (s *BoltStore) Sessions(rel string) ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSessions).Bucket([]byte(rel))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, _ []byte) error { out = append(out, string(k)); return nil })
	})
	return out, err
}

func (s *BoltStore) GetNonce(nonce string) (Nonce, bool, error) {
	var n Nonce
	found, err := s.get(bucketNonces, nonce, &n)
	return n, found, err
}

func (s *BoltStore) PutNonce(n Nonce) error { return s.put(bucketNonces, n.Nonce, n) }

func (s *BoltStore) ForgetNonces(t time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNonces)
		var drop [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var n Nonce
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
