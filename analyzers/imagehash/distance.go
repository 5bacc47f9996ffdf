package imagehash

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
)

// ErrMalformed reports a string that is not a hash of the expected kind.
var ErrMalformed = errors.New("imagehash: malformed hash")

// PDQ distances: the reference's advice is that 31 or less (of 256) is a
// match; unrelated images average about 128.
const PDQMatch = 31

// PDQDistance returns the number of differing bits (0..256) between two
// PDQ hashes as Result writes them.
func PDQDistance(a, b string) (int, error) { return hamming(a, b, 64) }

// PHashDistance returns the number of differing bits (0..64) between two
// pHashes as Result writes them; 10 or less is usually taken as similar.
func PHashDistance(a, b string) (int, error) { return hamming(a, b, 16) }

func hamming(a, b string, digits int) (int, error) {
	if len(a) != digits || len(b) != digits {
		return 0, fmt.Errorf("%w: want %d hex digits, got %d and %d", ErrMalformed, digits, len(a), len(b))
	}
	x, err := hex.DecodeString(a)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", ErrMalformed, a)
	}
	y, err := hex.DecodeString(b)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", ErrMalformed, b)
	}
	d := 0
	for i := range x {
		d += bits.OnesCount8(x[i] ^ y[i])
	}
	return d, nil
}
