package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzRelationshipValue: any stored bytes are read without a panic, and
// what PutRelationship stores reads back as exactly the relationship's JSON.
func FuzzRelationshipValue(f *testing.F) {
	f.Add([]byte(`{"v":2,"crc32c":"00000000","site":"x"}`), "https://shop.example", "agreed")
	f.Add([]byte(`{"v":1,"site":"https://a.example","state":"conflict"}`), "", "")
	f.Add([]byte(`{"v":2,"crc32c":"`), "\u2028\"\\", "ended")
	f.Fuzz(func(t *testing.T, stored []byte, site, state string) {
		members, ok, err := relationshipMembers(stored)
		if err != nil && (!ok || !errors.Is(err, errChecksum)) {
			t.Fatalf("error %v with ok %v", err, ok)
		}
		if ok && err == nil && !bytes.HasSuffix(stored, members) {
			t.Fatalf("members %q are not the end of %q", members, stored)
		}
		r := Relationship{Site: site, State: state}
		v, err := encodeRelationship(r)
		if err != nil {
			t.Fatal(err)
		}
		members, ok, err = relationshipMembers(v)
		if !ok || err != nil {
			t.Fatalf("stored %q reads back as ok %v, %v", v, ok, err)
		}
		want, _ := json.Marshal(r)
		if got := append([]byte{'{'}, members...); !bytes.Equal(got, want) {
			t.Fatalf("got %s, want %s", got, want)
		}
		var wantBack Relationship // as JSON carries it (invalid UTF-8 becomes U+FFFD)
		json.Unmarshal(want, &wantBack)
		if back, err := decodeRelationship([]byte(site), v); err != nil || back.Site != wantBack.Site || back.State != wantBack.State {
			t.Fatalf("decoded back as %+v, %v", back, err)
		}
		// Any stored bytes are decoded without a panic.
		decodeRelationship([]byte(site), stored)
	})
}
