package tlsh

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrMalformed reports a string that is not a TLSH digest.
var ErrMalformed = errors.New("tlsh: malformed digest")

const (
	codeSize  = 32                 // body bytes: 128 buckets, 2 bits each
	hexLength = 2 * (3 + codeSize) // digest without the "T1" prefix
)

// Digest is a parsed TLSH digest. The header (checksum, length bucket
// and quartile ratios) describes the file as a whole; Body holds the
// 2-bit quartile code of each of the 128 buckets, in printed order.
type Digest struct {
	Checksum byte     // checksum of the byte stream
	LValue   byte     // logarithmic length bucket
	Q1Ratio  byte     // 4 bits: q1*100/q3 mod 16
	Q2Ratio  byte     // 4 bits: q2*100/q3 mod 16
	Body     [32]byte // as printed, two hex digits per byte
}

// Parse reads a digest as Result writes it ("T1" + 70 hex digits) or as
// tlsh-tools 3.4 prints it (70 hex digits, no prefix), in either case.
func Parse(s string) (Digest, error) {
	h := s
	if len(h) == len(Prefix)+hexLength && strings.EqualFold(h[:len(Prefix)], Prefix) {
		h = h[len(Prefix):]
	}
	if len(h) != hexLength {
		return Digest{}, fmt.Errorf("%w: %d characters", ErrMalformed, len(s))
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return Digest{}, fmt.Errorf("%w: %q is not hex", ErrMalformed, s)
	}
	d := Digest{Checksum: swap(b[0]), LValue: swap(b[1]), Q1Ratio: b[2] >> 4, Q2Ratio: b[2] & 0x0f}
	copy(d.Body[:], b[3:])
	return d, nil
}

// String formats d as Result does.
func (d Digest) String() string {
	b := append([]byte{swap(d.Checksum), swap(d.LValue), d.Q1Ratio<<4 | d.Q2Ratio&0x0f}, d.Body[:]...)
	return Prefix + strings.ToUpper(hex.EncodeToString(b))
}

// swap exchanges the nibbles of a byte, as TLSH prints header bytes.
func swap(b byte) byte { return b<<4 | b>>4 }

// Diff returns the TLSH distance between two digests, counting the
// difference in file length: 0 for identical, growing without a fixed
// bound; tlsh-tools print it for `tlsh -c A -d B`. Around 30 or less
// is usually taken as similar.
func Diff(a, b string) (int, error) { return diff(a, b, true) }

// DiffIgnoringLength is Diff without the length term (`tlsh -xlen`).
func DiffIgnoringLength(a, b string) (int, error) { return diff(a, b, false) }

func diff(a, b string, length bool) (int, error) {
	da, err := Parse(a)
	if err != nil {
		return 0, err
	}
	db, err := Parse(b)
	if err != nil {
		return 0, err
	}
	return da.HeaderDistance(db, length) + da.BodyDistance(db), nil
}

// HeaderDistance is the part of the distance that the header alone
// decides. It is a lower bound of the whole distance, so a search can
// drop candidates by header first: in particular a length-bucket
// difference of k > 1 alone costs 12k, so within a threshold T only
// LValues at most max(1, T/12) apart (mod 256) can match.
func (d Digest) HeaderDistance(o Digest, length bool) int {
	dist := 0
	if length {
		switch l := modDiff(d.LValue, o.LValue, 256); l {
		case 0, 1:
			dist += l
		default:
			dist += 12 * l
		}
	}
	for _, q := range [][2]byte{{d.Q1Ratio, o.Q1Ratio}, {d.Q2Ratio, o.Q2Ratio}} {
		if q := modDiff(q[0], q[1], 16); q <= 1 {
			dist += q
		} else {
			dist += (q - 1) * 12
		}
	}
	if d.Checksum != o.Checksum {
		dist++
	}
	return dist
}

// BodyDistance is the bucket part of the distance: per bucket, the
// difference of the 2-bit codes, with a difference of 3 counting 6.
func (d Digest) BodyDistance(o Digest) int {
	dist := 0
	for i := range d.Body {
		x, y := d.Body[i], o.Body[i]
		for range 4 {
			switch diff := absDiff(x&3, y&3); diff {
			case 3:
				dist += 6
			default:
				dist += diff
			}
			x >>= 2
			y >>= 2
		}
	}
	return dist
}

// modDiff is the distance from x to y on a circle of size r.
func modDiff(x, y byte, r int) int {
	d := absDiff(x, y)
	return min(d, r-d)
}

func absDiff(x, y byte) int {
	if x > y {
		return int(x - y)
	}
	return int(y - x)
}
