package store

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
)

// A relationship is stored as the protocol's Relationship JSON behind a
// value version and a CRC-32C of the bytes after it:
//
//	{"v":2,"crc32c":"89abcdef","site":"https://shop.example",…}
//
// relationship.get sends the stored bytes as they are (RelationshipJSON),
// and the checksum is what lets it trust them without scanning them as
// JSON: json.Valid took 10 µs of a 3 KB relationship, an eighth of the
// request, where the checksum takes 0.15 µs. It also catches what
// json.Valid could not: damage inside a string, which is still JSON.
// Version 1 values (no checksum) are still read, checked with json.Valid;
// a relationship is written as version 2 the next time it changes.
var (
	relationshipV2Prefix = []byte(`{"v":2,"crc32c":"`)
	relationshipV1Prefix = []byte(`{"v":1,`)
	castagnoli           = crc32.MakeTable(crc32.Castagnoli)
)

// errChecksum: a version 2 relationship whose bytes are not those written.
var errChecksum = errors.New("checksum mismatch: the stored relationship was changed or damaged")

// encodeRelationship is the stored value of r.
func encodeRelationship(r Relationship) ([]byte, error) {
	b, err := marshal(r)
	if err != nil {
		return nil, err
	}
	members := b[1:] // `"site":…}`
	out := make([]byte, 0, len(relationshipV2Prefix)+8+2+len(members))
	out = append(out, relationshipV2Prefix...)
	out = hex.AppendEncode(out, binary.BigEndian.AppendUint32(nil, crc32.Checksum(members, castagnoli)))
	out = append(out, '"', ',')
	return append(out, members...), nil
}

// relationshipMembers returns the members of a stored relationship, the
// bytes after its opening brace and version (and checksum): `{` and them
// are the protocol's Relationship JSON. ok is false for a value that is
// neither a version 2 value nor a plain version 1 one, which only
// decoding (decodeRelationship) can read or refuse; err is set for a
// version 2 value that fails its check.
func relationshipMembers(v []byte) (members []byte, ok bool, err error) {
	if rest, found := bytes.CutPrefix(v, relationshipV2Prefix); found {
		var sum [4]byte
		if len(rest) < 10 || rest[8] != '"' || rest[9] != ',' {
			return nil, true, errChecksum
		}
		if _, err := hex.Decode(sum[:], rest[:8]); err != nil {
			return nil, true, errChecksum
		}
		members = rest[10:]
		if crc32.Checksum(members, castagnoli) != binary.BigEndian.Uint32(sum[:]) {
			return nil, true, errChecksum
		}
		return members, true, nil
	}
	// Version 1 values were written with the relationship's site first; a
	// checksum there means a version 2 value whose header was damaged.
	if rest, found := bytes.CutPrefix(v, relationshipV1Prefix); found && bytes.HasPrefix(rest, []byte(`"site":`)) && json.Valid(v) {
		return rest, true, nil
	}
	return nil, false, nil
}

// valueHead is what decoding reads of a stored relationship's header,
// beside the members the reader wants.
type valueHead struct {
	V   int              `json:"v"`
	Sum *json.RawMessage `json:"crc32c"`
}

// decodeRelationshipValue decodes the relationship stored under key into
// dst (a struct embedding valueHead), checking it: the checksum of a
// version 2 value, then its header. A value without the exact version 2
// header but with a checksum member or version 2 is a damaged header (its
// checksum cannot be trusted); a later version is one this rbutton cannot
// read. Every failure is a *ValueError naming the relationship.
func decodeRelationshipValue(key, v []byte, dst interface{ head() valueHead }) error {
	v2 := bytes.HasPrefix(v, relationshipV2Prefix)
	if v2 {
		if _, _, err := relationshipMembers(v); err != nil {
			return relationshipError(key, err)
		}
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return relationshipError(key, err)
	}
	switch h := dst.head(); {
	case h.V > 2:
		return relationshipError(key, fmt.Errorf("%w (value version %d)", ErrNewerSchema, h.V))
	case !v2 && (h.V == 2 || h.Sum != nil):
		return relationshipError(key, errChecksum)
	}
	return nil
}

func (h valueHead) head() valueHead { return h }

// relationshipError is the error for the relationship stored under key.
func relationshipError[K string | []byte](key K, err error) error {
	return &ValueError{Bucket: string(bucketRelationships), Key: string(key), Err: err}
}

// ValueError is one stored value that cannot be read: the rest of the file
// may be sound. It wraps ErrCorrupt (or ErrNewerSchema).
type ValueError struct {
	Bucket, Key string
	Err         error
}

func (e *ValueError) Error() string { return e.Bucket + "/" + e.Key + ": " + e.Err.Error() }

func (e *ValueError) Unwrap() []error {
	if errors.Is(e.Err, ErrNewerSchema) {
		return []error{e.Err}
	}
	return []error{ErrCorrupt, e.Err}
}
