package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rbutton/rbutton/policy"
)

// bucketPendingEnds holds the agreements stopped here whose end the site
// has not yet heard of (PROTOCOL.md 14): written in the transaction that
// stops the agreement, deleted once the site answered the end request, so
// that a host killed in between still tells the site. Created when first
// written (no migration: a missing bucket reads as empty).
//
//	pendingends/
//	  <site origin> " " <record id>   PendingEnd
var bucketPendingEnds = []byte("pendingends")

// PendingEnd is an end request still owed to a site. Doc is the site's
// terms document as it was (the end endpoint); the key is the site's
// pairwise key, read when the end is sent.
type PendingEnd struct {
	V      int                   `json:"v"`
	Site   string                `json:"site"`
	Record string                `json:"record"`
	Doc    *policy.TermsDocument `json:"doc"`
	Since  time.Time             `json:"since"`
	Tries  int                   `json:"tries"`
}

func pendingKey(site, record string) []byte { return []byte(site + " " + record) }

// PutPendingEnd records (or updates) an end owed to p.Site.
func (t *Tx) PutPendingEnd(p PendingEnd) error {
	b, err := t.tx.CreateBucketIfNotExists(bucketPendingEnds)
	if err != nil {
		return err
	}
	p.V = 1
	v, err := marshal(p)
	if err != nil {
		return err
	}
	return b.Put(pendingKey(p.Site, p.Record), v)
}

// DeletePendingEnd forgets an end owed (sent, or no longer sendable).
func (t *Tx) DeletePendingEnd(site, record string) error {
	b := t.tx.Bucket(bucketPendingEnds)
	if b == nil {
		return nil
	}
	return b.Delete(pendingKey(site, record))
}

// PendingEnds returns every end still owed, by site then record.
func (t *Tx) PendingEnds() ([]PendingEnd, error) {
	b := t.tx.Bucket(bucketPendingEnds)
	if b == nil {
		return nil, nil
	}
	var out []PendingEnd
	err := b.ForEach(func(k, v []byte) error {
		var p PendingEnd
		if err := json.Unmarshal(v, &p); err != nil {
			return fmt.Errorf("%w: %s/%s: %v", ErrCorrupt, bucketPendingEnds, k, err)
		}
		out = append(out, p)
		return nil
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Site != out[j].Site {
			return out[i].Site < out[j].Site
		}
		return out[i].Record < out[j].Record
	})
	return out, err
}

// forgetPendingEnds deletes every end owed to site (forget: its key is
// gone, so none can be sent any more).
func (t *Tx) forgetPendingEnds(site string) (bool, error) {
	b := t.tx.Bucket(bucketPendingEnds)
	if b == nil {
		return false, nil
	}
	var keys [][]byte
	prefix := []byte(site + " ")
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && strings.HasPrefix(string(k), string(prefix)); k, _ = c.Next() {
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return true, err
		}
	}
	return len(keys) > 0, nil
}

// Writable reports whether the transaction may write.
func (t *Tx) Writable() bool { return t.tx.Writable() }
