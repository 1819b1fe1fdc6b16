package policy

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
	"time"
)

func wantPathErr(t *testing.T, err error, path, kind string) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("got %v (%T), want *ParseError at %q", err, err, path)
	}
	if pe.Path != path || ErrorKind(err) != kind {
		t.Errorf("got %q %s (%v), want %q %s", pe.Path, ErrorKind(err), err, path, kind)
	}
}

func TestSignatureVectors(t *testing.T) {
	t.Parallel()
	var f signatureFile
	readVectors(t, "signatures.json", &f)
	seed := func(h string) ed25519.PrivateKey {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		return ed25519.NewKeyFromSeed(b)
	}
	sitePriv, userPriv := seed(f.SiteSeedHex), seed(f.UserSeedHex)
	if EncodeKey(sitePriv.Public().(ed25519.PublicKey)) != f.SiteKey || EncodeKey(userPriv.Public().(ed25519.PublicKey)) != f.UserKey {
		t.Fatal("keys do not follow from the seeds")
	}
	signed, err := SignedBytes(f.Agreement)
	if err != nil {
		t.Fatal(err)
	}
	if string(signed) != f.SignedBytes || hex.EncodeToString(signed) != f.SignedBytesHex {
		t.Fatalf("signed bytes:\n got %s\nwant %s", signed, f.SignedBytes)
	}
	if id, _ := RecordID(f.Agreement); id != f.RecordID || Digest(signed) != f.RecordID {
		t.Errorf("record id %s, want %s", id, f.RecordID)
	}
	if d := AgreedDigest(f.Agreement.Terms, f.Agreement.Obligations); d != f.AgreedDigest {
		t.Errorf("agreed digest %s, want %s", d, f.AgreedDigest)
	}
	// Ed25519 is deterministic: signing again gives the stored signatures.
	for _, c := range []struct {
		priv ed25519.PrivateKey
		want string
	}{{userPriv, f.UserSignature}, {sitePriv, f.SiteSignature}} {
		if sig, _ := SignAgreement(f.Agreement, c.priv); sig != c.want {
			t.Errorf("signature %s, want %s", sig, c.want)
		}
		raw, _ := b64.DecodeString(c.want)
		if !ed25519.Verify(c.priv.Public().(ed25519.PublicKey), []byte(f.SignedBytes), raw) {
			t.Error("stored signature does not verify over the stored signed bytes")
		}
	}
	rec := Record{ID: f.RecordID, Agreement: f.Agreement, UserSignature: f.UserSignature, SiteSignature: f.SiteSignature}
	if err := VerifyRecord(rec); err != nil {
		t.Fatalf("VerifyRecord: %v", err)
	}
	if err := VerifyProposal(Proposal{V: 1, Type: "proposal", Agreement: f.Agreement, UserSignature: f.UserSignature}); err != nil {
		t.Errorf("VerifyProposal: %v", err)
	}
	if len(f.Tampered) < 5 {
		t.Fatalf("only %d tampered vectors", len(f.Tampered))
	}
	for _, c := range f.Tampered {
		t.Run(c.Name, func(t *testing.T) {
			err := VerifyRecord(c.Record)
			wantPathErr(t, err, c.Error, c.Kind)
			if c.Kind == "bad_signature" && WireErrorCode(err) != CodeBadSignature {
				t.Errorf("wire code %q", WireErrorCode(err))
			}
		})
	}
	for _, c := range f.Requests {
		t.Run(c.Name, func(t *testing.T) {
			pub, err := DecodeKey(c.Key)
			if err != nil {
				t.Fatal(err)
			}
			err = VerifyRequest(c.Request, pub)
			if c.Error != "" {
				wantPathErr(t, err, c.Error, c.Kind)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sb, _ := RequestSignedBytes(c.Request)
			if string(sb) != c.SignedBytes {
				t.Errorf("signed bytes %s, want %s", sb, c.SignedBytes)
			}
		})
	}
}

func TestChainVectors(t *testing.T) {
	t.Parallel()
	var f chainFile
	readVectors(t, "chains.json", &f)
	if len(f.Cases) == 0 || len(f.Cases[0].Events) == 0 {
		t.Fatal("no valid chain")
	}
	first := f.Cases[0].Events[0]
	if b, _ := first.HashedBytes(); string(b) != f.HashedBytes0 || Digest(b) != first.Hash {
		t.Errorf("hashed bytes of the first event:\n got %s\nwant %s", b, f.HashedBytes0)
	}
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			err := VerifyChain(c.Events)
			if c.Error == "" {
				if err != nil {
					t.Fatal(err)
				}
				// Rebuilding the chain with AppendEvent gives the same events.
				var again []Event
				for _, e := range c.Events {
					if again, err = AppendEvent(again, Event{Type: e.Type, Time: e.Time, Agreement: e.Agreement, Detail: e.Detail, Changes: e.Changes}); err != nil {
						t.Fatal(err)
					}
				}
				for i := range again {
					if !reflect.DeepEqual(again[i], c.Events[i]) {
						t.Errorf("event %d rebuilt as %+v, stored %+v", i, again[i], c.Events[i])
					}
				}
				return
			}
			wantPathErr(t, err, c.Error, c.Kind)
		})
	}
}

func TestAppendEventRefusesTimeTravel(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 13, 0, 0, 0, time.UTC)
	chain, err := AppendEvent(nil, Event{Type: EventNegotiated, Time: now})
	if err != nil {
		t.Fatal(err)
	}
	_, err = AppendEvent(chain, Event{Type: EventEnded, Time: now.Add(-time.Second)})
	wantPathErr(t, err, "[1].time", "chain_broken")
	_, err = AppendEvent(chain, Event{Type: "bogus", Time: now})
	wantPathErr(t, err, "type", "invalid_value")
	if len(chain) != 1 {
		t.Error("AppendEvent modified its input")
	}
}

func TestKeysAndNonces(t *testing.T) {
	t.Parallel()
	pub1, priv1, err := NewPairwiseKey()
	if err != nil {
		t.Fatal(err)
	}
	pub2, _, _ := NewPairwiseKey()
	if pub1.Equal(pub2) {
		t.Error("two pairwise keys are equal")
	}
	got, err := DecodeKey(EncodeKey(pub1))
	if err != nil || !got.Equal(pub1) {
		t.Errorf("DecodeKey(EncodeKey) = %v, %v", got, err)
	}
	for _, bad := range []string{"", "AAAA", EncodeKey(pub1)[:43], "_" + EncodeKey(pub1)[1:]} {
		if _, err := DecodeKey(bad); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("DecodeKey(%q) = %v", bad, err)
		}
	}
	n1, n2 := NewNonce(), NewNonce()
	if n1 == n2 || !isB64Len(n1, NonceSize) || len(n1) != 24 {
		t.Errorf("nonces %q %q", n1, n2)
	}
	if _, err := SignAgreement(Agreement{}, priv1[:10]); err == nil {
		t.Error("SignAgreement accepted a short key")
	}
	r := SignedRequest{V: 1, Type: RequestEnd, Record: Digest(nil), Nonce: n1, Created: time.Now().UTC().Truncate(time.Second)}
	if err := SignRequest(&r, priv1); err != nil {
		t.Fatal(err)
	}
	if err := VerifyRequest(r, pub1); err != nil {
		t.Errorf("VerifyRequest: %v", err)
	}
	if err := VerifyRequest(r, pub2); !errors.Is(err, ErrBadSignature) {
		t.Errorf("VerifyRequest with another key: %v", err)
	}
	if err := VerifyRequest(r, pub1[:5]); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("VerifyRequest with short key: %v", err)
	}
}

func TestCheckFresh(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 13, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		d  time.Duration
		ok bool
	}{{0, true}, {MaxClockSkew, true}, {-MaxClockSkew, true}, {MaxClockSkew + time.Second, false}, {-MaxClockSkew - time.Second, false}} {
		err := CheckFresh(now.Add(c.d), now)
		if c.ok != (err == nil) || (err != nil && (!errors.Is(err, ErrStale) || WireErrorCode(err) != CodeStale)) {
			t.Errorf("CheckFresh(now%+v) = %v", c.d, err)
		}
	}
}

func TestValidateRejectsNonCanonicalTimes(t *testing.T) {
	t.Parallel()
	_, _, p := exampleProposal(t)
	a := p.Agreement
	a.Created = a.Created.Add(time.Millisecond)
	wantPathErr(t, a.Validate(), "created", "invalid_value")
	a.Created = p.Agreement.Created.In(time.FixedZone("CET", 3600))
	wantPathErr(t, a.Validate(), "created", "invalid_value")
	// AppendEvent normalises instead, since the chain is ours to build.
	chain, err := AppendEvent(nil, Event{Type: EventNegotiated, Time: exampleCreated.Add(1500 * time.Millisecond).In(time.FixedZone("CET", 3600))})
	if err != nil || !chain[0].Time.Equal(exampleCreated.Add(time.Second)) || chain[0].Time.Location() != time.UTC {
		t.Errorf("AppendEvent: %+v, %v", chain, err)
	}
}
