package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"sync"
)

// maxCachedKeys bounds the signing-key cache. Keys change daily, so when
// the cache is full it is simply emptied.
const maxCachedKeys = 1024

type keyID struct{ accessKey, date, region string }

type cachedKey struct {
	secret string // the secret the key was derived from; a rotated secret misses
	key    []byte
}

// keyCache holds derived signing keys so that a request costs one HMAC
// chain of four only once per access key, day and region.
type keyCache struct {
	mu sync.Mutex
	m  map[keyID]cachedKey
}

func (c *keyCache) get(accessKey, secret, date, region string) []byte {
	id := keyID{accessKey, date, region}
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if ok && subtle.ConstantTimeCompare([]byte(e.secret), []byte(secret)) == 1 {
		return e.key
	}
	key := deriveKey(secret, date, region)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedKeys {
		c.m = make(map[keyID]cachedKey)
	}
	c.m[id] = cachedKey{secret: secret, key: key}
	c.mu.Unlock()
	return key
}

// deriveKey computes the SigV4 signing key for service s3.
func deriveKey(secret, date, region string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, terminator)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
