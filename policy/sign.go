package policy

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gowebpki/jcs"
)

// Domain-separation prefixes of the signed byte strings (PROTOCOL.md).
const (
	AgreementSigPrefix = "dnt-d/1 agreement\n"
	RequestSigPrefix   = "dnt-d/1 request\n"
)

// NonceSize is the length of a nonce in bytes (24 base64 characters).
const NonceSize = 16

// MaxClockSkew is how far a signed message's created time may be from the
// receiver's clock, either way.
const MaxClockSkew = 5 * time.Minute

var b64 = base64.StdEncoding

// Digest returns standard base64 (with padding) of SHA-256(b).
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return b64.EncodeToString(sum[:])
}

// Canonical returns the RFC 8785 (JCS) canonical JSON of v as encoding/json marshals it.
func Canonical(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jcs.Transform(raw)
}

// agreedTerms is what AgreedDigest hashes.
type agreedTerms struct {
	Terms       Terms       `json:"terms"`
	Obligations Obligations `json:"obligations"`
}

// AgreedDigest is the value of the agreed parameter of the Sec-DNT-D header:
// Digest(JCS({"terms":t,"obligations":o})). Everyone who agreed to the same
// terms sends the same value, so it identifies terms, never a person.
func AgreedDigest(t Terms, o Obligations) string {
	c, err := Canonical(agreedTerms{t, o})
	if err != nil {
		// Terms and Obligations hold only strings; Marshal cannot fail.
		panic("policy: AgreedDigest: " + err.Error())
	}
	return Digest(c)
}

// SignedBytes returns the bytes both parties sign:
// "dnt-d/1 agreement\n" followed by JCS(agreement).
func SignedBytes(a Agreement) ([]byte, error) {
	c, err := Canonical(a)
	if err != nil {
		return nil, fmt.Errorf("policy: canonical agreement: %w", err)
	}
	return append([]byte(AgreementSigPrefix), c...), nil
}

// RecordID returns Digest(SignedBytes(a)), the identifier of the record that
// holds a. Both sides compute it; it is not chosen by either.
func RecordID(a Agreement) (string, error) {
	b, err := SignedBytes(a)
	if err != nil {
		return "", err
	}
	return Digest(b), nil
}

// SignAgreement signs SignedBytes(a) with priv and returns the base64 signature.
func SignAgreement(a Agreement, priv ed25519.PrivateKey) (string, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("policy: private key is %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	b, err := SignedBytes(a)
	if err != nil {
		return "", err
	}
	return b64.EncodeToString(ed25519.Sign(priv, b)), nil
}

// VerifyAgreement checks sig over SignedBytes(a) with the base64 public key
// key. Sites call it with a.UserKey on a proposal; agents with a.SiteKey.
func VerifyAgreement(a Agreement, sig, key string) error {
	pub, err := DecodeKey(key)
	if err != nil {
		return err
	}
	b, err := SignedBytes(a)
	if err != nil {
		return err
	}
	return verify(pub, b, sig)
}

func verify(pub ed25519.PublicKey, msg []byte, sig string) error {
	raw, err := b64.Strict().DecodeString(sig)
	if err != nil || len(raw) != ed25519.SignatureSize || b64.EncodeToString(raw) != sig {
		return &detailError{kind: ErrBadSignature, msg: "signature is not standard base64 of 64 bytes"}
	}
	if !ed25519.Verify(pub, msg, raw) {
		return &detailError{kind: ErrBadSignature, msg: "signature does not verify"}
	}
	return nil
}

// VerifyProposal validates p and checks the user's signature with p.Agreement.UserKey.
func VerifyProposal(p Proposal) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if err := VerifyAgreement(p.Agreement, p.UserSignature, p.Agreement.UserKey); err != nil {
		return &ParseError{Path: "userSignature", Err: err}
	}
	return nil
}

// NewRecord builds the record of an agreement both parties signed.
func NewRecord(a Agreement, userSig, siteSig string) (Record, error) {
	id, err := RecordID(a)
	if err != nil {
		return Record{}, err
	}
	return Record{ID: id, Agreement: a, UserSignature: userSig, SiteSignature: siteSig}, nil
}

// VerifyRecord checks r's structure, that r.ID is RecordID(r.Agreement), and
// both signatures: the user's with agreement.userKey, the site's with
// agreement.siteKey. Errors wrap ErrRecordID or ErrBadSignature and name the
// failing member.
func VerifyRecord(r Record) error {
	if err := r.Validate(); err != nil {
		return err
	}
	id, err := RecordID(r.Agreement)
	if err != nil {
		return err
	}
	if id != r.ID {
		return pathErr("id", ErrRecordID, "is not the digest of the agreement's signed bytes")
	}
	if err := VerifyAgreement(r.Agreement, r.UserSignature, r.Agreement.UserKey); err != nil {
		return &ParseError{Path: "userSignature", Err: err}
	}
	if err := VerifyAgreement(r.Agreement, r.SiteSignature, r.Agreement.SiteKey); err != nil {
		return &ParseError{Path: "siteSignature", Err: err}
	}
	return nil
}

// NewPairwiseKey returns a fresh Ed25519 key pair. An agent MUST use a
// different key pair for every site, so that sites comparing records cannot
// link them to one person.
func NewPairwiseKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(rand.Reader)
}

// EncodeKey returns standard base64 of a 32-byte public key.
func EncodeKey(pub ed25519.PublicKey) string { return b64.EncodeToString(pub) }

// DecodeKey parses a key written by EncodeKey (canonical base64, 32 bytes).
func DecodeKey(s string) (ed25519.PublicKey, error) {
	raw, err := b64.Strict().DecodeString(s)
	if err != nil || len(raw) != ed25519.PublicKeySize || b64.EncodeToString(raw) != s {
		return nil, &detailError{kind: ErrInvalidValue, msg: "key must be standard base64 of a 32-byte Ed25519 public key"}
	}
	return ed25519.PublicKey(raw), nil
}

// NewNonce returns 16 random bytes in standard base64.
func NewNonce() string {
	var b [NonceSize]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("policy: crypto/rand failed: " + err.Error())
	}
	return b64.EncodeToString(b[:])
}

// RequestSignedBytes returns "dnt-d/1 request\n" followed by JCS of r
// without its signature member.
func RequestSignedBytes(r SignedRequest) ([]byte, error) {
	r.Signature = ""
	c, err := Canonical(r)
	if err != nil {
		return nil, err
	}
	return append([]byte(RequestSigPrefix), c...), nil
}

// SignRequest sets r.Signature to the signature of RequestSignedBytes(*r) by priv.
func SignRequest(r *SignedRequest, priv ed25519.PrivateKey) error {
	if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("policy: private key is %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	b, err := RequestSignedBytes(*r)
	if err != nil {
		return err
	}
	r.Signature = b64.EncodeToString(ed25519.Sign(priv, b))
	return nil
}

// VerifyRequest validates r and checks its signature with pub, the user key
// of the record r names. Freshness is the caller's (CheckFresh), as is the
// nonce cache.
func VerifyRequest(r SignedRequest, pub ed25519.PublicKey) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if len(pub) != ed25519.PublicKeySize {
		return &detailError{kind: ErrInvalidValue, msg: "public key must be 32 bytes"}
	}
	b, err := RequestSignedBytes(r)
	if err != nil {
		return err
	}
	if err := verify(pub, b, r.Signature); err != nil {
		return &ParseError{Path: "signature", Err: err}
	}
	return nil
}

// CheckFresh returns an error wrapping ErrStale unless created is within
// MaxClockSkew of now.
func CheckFresh(created, now time.Time) error {
	if d := now.Sub(created); d > MaxClockSkew || d < -MaxClockSkew {
		return pathErr("created", ErrStale, fmt.Sprintf("is %s from the receiver's clock; allowed ±%s", d.Round(time.Second), MaxClockSkew))
	}
	return nil
}
