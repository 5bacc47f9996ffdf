// Package cas is Dewar's content-addressed blob store: every byte string is
// stored once, under the sha256 of its content.
//
// The package holds the value types (Ref, SizedRef, BlobInfo), one small
// interface per capability (Fetcher, Stater, Stager, Putter, Walker, Remover)
// and the sentinel errors. Implementations live in sub-packages
// (filestore, s3store) and all pass the conformance suite in cas/castest.
package cas

import (
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
)

// Size is the length in bytes of a Ref's digest.
const Size = sha256.Size

// Ref names a blob by the sha256 of its content. It is a comparable value,
// usable as a map key. The zero Ref names nothing.
type Ref struct {
	digest [Size]byte
}

// SizedRef is a Ref with the length of the blob it names.
type SizedRef struct {
	Ref  Ref
	Size int64
}

// RefOf returns the digest array as a Ref.
func RefOf(digest [Size]byte) Ref { return Ref{digest: digest} }

// RefFromBytes returns the Ref of a digest given as a byte slice, e.g. the
// result of hash.Hash.Sum(nil). It fails unless len(b) == Size.
func RefFromBytes(b []byte) (Ref, error) {
	if len(b) != Size {
		return Ref{}, fmt.Errorf("cas: digest has %d bytes, want %d", len(b), Size)
	}
	var r Ref
	copy(r.digest[:], b)
	return r, nil
}

// Sum returns the Ref of b's content.
func Sum(b []byte) Ref { return Ref{digest: sha256.Sum256(b)} }

// ErrBadRef is returned (wrapped) by Parse for anything but 64 hex digits.
var ErrBadRef = errors.New("cas: not a sha256 reference")

// Parse reads a Ref from 64 hex digits in either case. Callers that need
// the canonical spelling (an S3 key, say) compare the input with String().
func Parse(s string) (Ref, error) {
	if len(s) != 2*Size {
		return Ref{}, fmt.Errorf("%w: %q has length %d", ErrBadRef, truncate(s), len(s))
	}
	var r Ref
	if _, err := hex.Decode(r.digest[:], []byte(s)); err != nil {
		return Ref{}, fmt.Errorf("%w: %q", ErrBadRef, truncate(s))
	}
	return r, nil
}

// MustParse is Parse for constants in tests; it panics on bad input.
func MustParse(s string) Ref {
	r, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return r
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// IsZero reports whether r names nothing.
func (r Ref) IsZero() bool { return r == Ref{} }

// String returns the lowercase hex digest, the canonical spelling.
func (r Ref) String() string { return hex.EncodeToString(r.digest[:]) }

// Digest returns the raw 32-byte digest.
func (r Ref) Digest() [Size]byte { return r.digest }

// Bytes returns a copy of the raw digest.
func (r Ref) Bytes() []byte { b := r.digest; return b[:] }

// Less orders Refs by digest, which is also the order of their hex strings.
func (r Ref) Less(o Ref) bool {
	for i := range r.digest {
		if r.digest[i] != o.digest[i] {
			return r.digest[i] < o.digest[i]
		}
	}
	return false
}

// MarshalText implements encoding.TextMarshaler (used by encoding/json).
func (r Ref) MarshalText() ([]byte, error) {
	if r.IsZero() {
		return []byte{}, nil
	}
	return []byte(r.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler. Empty text is the zero Ref.
func (r *Ref) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*r = Ref{}
		return nil
	}
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*r = p
	return nil
}

// Value implements driver.Valuer: a Ref is stored as its lowercase hex text
// (so SQL range scans on a hex prefix work), and the zero Ref as NULL.
func (r Ref) Value() (driver.Value, error) {
	if r.IsZero() {
		return nil, nil
	}
	return r.String(), nil
}

// Scan implements sql.Scanner for hex text (string or []byte) and NULL.
func (r *Ref) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*r = Ref{}
		return nil
	case string:
		return r.UnmarshalText([]byte(v))
	case []byte:
		return r.UnmarshalText(v)
	default:
		return fmt.Errorf("cas: cannot scan %T into Ref", src)
	}
}

// String returns "sha256:size" for logs.
func (s SizedRef) String() string { return fmt.Sprintf("%s:%d", s.Ref, s.Size) }
