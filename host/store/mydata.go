package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/rbutton/rbutton/policy"
)

// What the user keeps of their own (issue "my data and my details"). These
// buckets are created by the first write that needs them, so files written
// before they existed read as empty without a schema change:
//
//	records/
//	  <site origin>/              bucket per site
//	    <record id>               KeptRecord: every record the relationship ever had
//	returns/
//	  <site origin>/              bucket per site
//	    <seq uint64 big-endian>   KeptReturn: every data return, in order
//	profile/
//	  me                          Profile: the user's own details
//	shares/
//	  <site origin>               Share: which details the site holds, and updates owed to it
var (
	bucketRecords = []byte("records")
	bucketReturns = []byte("returns")
	bucketProfile = []byte("profile")
	bucketShares  = []byte("shares")
	keyProfile    = []byte("me")
)

// KeptRecord is one dual-signed record, kept even after a renegotiation
// replaced it, so every record the history names can be shown and checked.
type KeptRecord struct {
	V int `json:"v"`
	// Seq orders a site's records as they were kept.
	Seq    uint64        `json:"seq"`
	Stored time.Time     `json:"stored"`
	Record policy.Record `json:"record"`
}

// KeptReturn is one data return as the site sent it, with the record it was
// made under and how it was fetched ("host": by rbutton without cookies;
// "browser": by the extension with the site's own cookies).
type KeptReturn struct {
	V        int               `json:"v"`
	Seq      int               `json:"seq"`
	Received time.Time         `json:"received"`
	Record   string            `json:"record"`
	Via      string            `json:"via"`
	Return   policy.DataReturn `json:"return"`
}

// Profile is the user's own details, once for all sites.
type Profile struct {
	V       int            `json:"v"`
	Details policy.Details `json:"details"`
	Updated time.Time      `json:"updated"`
	// OnAgree is what to give a site when an agreement with it is made:
	// "ask" (or empty: nothing until the user gives it), "email", or
	// "allowed" (every detail the agreement allows). See agent.OnAgreeWords.
	OnAgree string `json:"onAgree,omitempty"`
}

// Share is what one site holds of the user's details and what it is owed.
type Share struct {
	V int `json:"v"`
	// Since says when each detail was first given to the site.
	Since map[string]time.Time `json:"since"`
	// Delivered is what the site last confirmed it holds, and when.
	Delivered   policy.Details `json:"delivered"`
	DeliveredAt time.Time      `json:"deliveredAt"`
	// Pending is an update the site has not taken yet, nil when none.
	Pending *Pending `json:"pending"`
	// LastRefusal is the site's last refusal of an update, kept for display.
	LastRefusal string `json:"lastRefusal,omitempty"`
}

// Fields returns the names of the details the site holds, in display order.
func (s Share) Fields() []string {
	var out []string
	for _, f := range policy.DetailFields {
		if _, ok := s.Since[f]; ok {
			out = append(out, f)
		}
	}
	return out
}

// Pending is an update owed to a site: retried with backoff until the site
// takes it, refuses it, or the agreement ends.
type Pending struct {
	Details   policy.Details `json:"details"`
	Since     time.Time      `json:"since"`
	Attempts  int            `json:"attempts"`
	Next      time.Time      `json:"next"`
	LastError string         `json:"lastError,omitempty"`
}

func (t *Tx) writable(name []byte) (*bolt.Bucket, error) {
	return t.tx.CreateBucketIfNotExists(name)
}

// PutRecord keeps r among site's records (idempotent by record id).
func (t *Tx) PutRecord(site string, r policy.Record, now time.Time) error {
	top, err := t.writable(bucketRecords)
	if err != nil {
		return err
	}
	b, err := top.CreateBucketIfNotExists([]byte(site))
	if err != nil {
		return err
	}
	if b.Get([]byte(r.ID)) != nil {
		return nil
	}
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	v, err := marshal(KeptRecord{V: 1, Seq: seq, Stored: now.UTC().Truncate(time.Second), Record: r})
	if err != nil {
		return err
	}
	return b.Put([]byte(r.ID), v)
}

// Records returns every record kept for site, in the order they were kept.
func (t *Tx) Records(site string) ([]KeptRecord, error) {
	out := []KeptRecord{}
	top := t.tx.Bucket(bucketRecords)
	if top == nil || top.Bucket([]byte(site)) == nil {
		return out, nil
	}
	err := top.Bucket([]byte(site)).ForEach(func(k, v []byte) error {
		var r KeptRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%w: records/%s/%s: %v", ErrCorrupt, site, k, err)
		}
		out = append(out, r)
		return nil
	})
	sortRecords(out)
	return out, err
}

func sortRecords(rs []KeptRecord) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].Seq < rs[j-1].Seq; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// RecordSites returns every site with kept records.
func (t *Tx) RecordSites() ([]string, error) { return subBuckets(t, bucketRecords) }

// ReturnSites returns every site with kept data returns.
func (t *Tx) ReturnSites() ([]string, error) { return subBuckets(t, bucketReturns) }

func subBuckets(t *Tx, name []byte) ([]string, error) {
	out := []string{}
	top := t.tx.Bucket(name)
	if top == nil {
		return out, nil
	}
	err := top.ForEachBucket(func(k []byte) error { out = append(out, string(k)); return nil })
	return out, err
}

// AppendReturn keeps a data return for site and returns it as stored.
func (t *Tx) AppendReturn(site string, r KeptReturn) (KeptReturn, error) {
	top, err := t.writable(bucketReturns)
	if err != nil {
		return r, err
	}
	b, err := top.CreateBucketIfNotExists([]byte(site))
	if err != nil {
		return r, err
	}
	r.V, r.Seq = 1, 0
	if k, v := b.Cursor().Last(); k != nil {
		var last KeptReturn
		if err := json.Unmarshal(v, &last); err != nil {
			return r, fmt.Errorf("%w: returns/%s: %v", ErrCorrupt, site, err)
		}
		r.Seq = last.Seq + 1
	}
	r.Received = r.Received.UTC().Truncate(time.Second)
	v, err := marshal(r)
	if err != nil {
		return r, err
	}
	return r, b.Put(seqKey(r.Seq), v)
}

// Returns returns every data return kept for site, oldest first.
func (t *Tx) Returns(site string) ([]KeptReturn, error) {
	out := []KeptReturn{}
	top := t.tx.Bucket(bucketReturns)
	if top == nil || top.Bucket([]byte(site)) == nil {
		return out, nil
	}
	err := top.Bucket([]byte(site)).ForEach(func(k, v []byte) error {
		var r KeptReturn
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%w: returns/%s/%x: %v", ErrCorrupt, site, k, err)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// Profile returns the user's details, or nil if never set.
func (t *Tx) Profile() (*Profile, error) {
	b := t.tx.Bucket(bucketProfile)
	if b == nil {
		return nil, nil
	}
	v := b.Get(keyProfile)
	if v == nil {
		return nil, nil
	}
	var p Profile
	if err := json.Unmarshal(v, &p); err != nil {
		return nil, fmt.Errorf("%w: profile/me: %v", ErrCorrupt, err)
	}
	return &p, nil
}

// PutProfile stores the user's details.
func (t *Tx) PutProfile(p Profile) error {
	b, err := t.writable(bucketProfile)
	if err != nil {
		return err
	}
	p.V = 1
	v, err := marshal(p)
	if err != nil {
		return err
	}
	return b.Put(keyProfile, v)
}

// Share returns what site holds of the user's details, or nil.
func (t *Tx) Share(site string) (*Share, error) {
	b := t.tx.Bucket(bucketShares)
	if b == nil {
		return nil, nil
	}
	v := b.Get([]byte(site))
	if v == nil {
		return nil, nil
	}
	var s Share
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, fmt.Errorf("%w: shares/%s: %v", ErrCorrupt, site, err)
	}
	return &s, nil
}

// PutShare stores what site holds of the user's details.
func (t *Tx) PutShare(site string, s Share) error {
	b, err := t.writable(bucketShares)
	if err != nil {
		return err
	}
	s.V = 1
	v, err := marshal(s)
	if err != nil {
		return err
	}
	return b.Put([]byte(site), v)
}

// Shares returns every site's share.
func (t *Tx) Shares() (map[string]Share, error) {
	if t.tx.Bucket(bucketShares) == nil {
		return map[string]Share{}, nil
	}
	return all[Share](t, bucketShares)
}

// forgetMine deletes what forget must also remove: kept records, data
// returns and what the site holds of the user's details.
func (t *Tx) forgetMine(site string) (bool, error) {
	found := false
	for _, name := range [][]byte{bucketRecords, bucketReturns} {
		top := t.tx.Bucket(name)
		if top != nil && top.Bucket([]byte(site)) != nil {
			found = true
			if err := top.DeleteBucket([]byte(site)); err != nil {
				return found, err
			}
		}
	}
	if b := t.tx.Bucket(bucketShares); b != nil && b.Get([]byte(site)) != nil {
		found = true
		if err := b.Delete([]byte(site)); err != nil {
			return found, err
		}
	}
	return found, nil
}

// ReplaceReturns stores rs as site's kept data returns (used by import),
// numbered in order.
func (t *Tx) ReplaceReturns(site string, rs []KeptReturn) error {
	if top := t.tx.Bucket(bucketReturns); top != nil && top.Bucket([]byte(site)) != nil {
		if err := top.DeleteBucket([]byte(site)); err != nil {
			return err
		}
	}
	for _, r := range rs {
		if _, err := t.AppendReturn(site, r); err != nil {
			return err
		}
	}
	return nil
}

// Gist is the part of a relationship that the user's details need: whether
// an agreement is in force, its record, and where the site takes details.
// Decoding only this keeps a push to many sites from holding every site's
// terms document in memory.
type Gist struct {
	Site      string         `json:"site"`
	State     string         `json:"state"`
	Record    *policy.Record `json:"record"`
	SiteTerms *struct {
		Controller struct {
			Name string `json:"name"`
		} `json:"controller"`
		Endpoints struct {
			Details string `json:"details"`
		} `json:"endpoints"`
	} `json:"siteTerms"`
}

type storedGist struct {
	valueHead
	Gist
}

// Gist returns site's relationship gist, or nil.
func (t *Tx) Gist(site string) (*Gist, error) {
	v := t.tx.Bucket(bucketRelationships).Get([]byte(site))
	if v == nil {
		return nil, nil
	}
	var g storedGist
	if err := decodeRelationshipValue([]byte(site), v, &g); err != nil {
		return nil, err
	}
	return &g.Gist, nil
}

// EachGist calls fn with every relationship's gist, in site order.
func (t *Tx) EachGist(fn func(Gist) error) error {
	return t.tx.Bucket(bucketRelationships).ForEach(func(k, v []byte) error {
		var g storedGist
		if err := decodeRelationshipValue(k, v, &g); err != nil {
			return err
		}
		return fn(g.Gist)
	})
}
