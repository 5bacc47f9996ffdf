package s3mem

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
)

func sha256Of(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func md5Hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }
