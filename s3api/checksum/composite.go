package checksum

import (
	"encoding/base64"
	"fmt"
	"strconv"
)

// Composite computes an S3 COMPOSITE multipart checksum:
// base64(hash(concat(decoded part checksums))) + "-" + number of parts.
// S3 allows COMPOSITE for CRC32, CRC32C, SHA1 and SHA256 (CRC64NVME is
// FULL_OBJECT only); enforcing that is the caller's business.
func Composite(a Algorithm, partValues []string) (string, error) {
	if a.Size() == 0 {
		return "", fmt.Errorf("checksum: %q: %w", a, ErrUnknownAlgorithm)
	}
	if len(partValues) == 0 {
		return "", fmt.Errorf("checksum: composite of no parts: %w", ErrInvalidChecksum)
	}
	h := a.New()
	for _, v := range partValues {
		b, err := decode(a, v)
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(partValues)), nil
}
