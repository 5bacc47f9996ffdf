// Package listing implements S3 delimiter listing (ListObjects semantics)
// over any source of entries sorted by key, so an index can page a bucket,
// or a virtual bucket such as samples by sha256 or job trees by path,
// straight from its database without loading it.
//
// Keys compare bytewise, as Go strings and as S3 do. Keys are expected to be
// valid UTF-8 (S3 requires it); the seek past a common prefix relies on it.
package listing

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Source returns up to limit entries whose keys start with prefix and are
// greater than after, in ascending bytewise key order. Keys are unique.
// Fewer than limit entries means no more exist.
type Source[T any] func(ctx context.Context, prefix, after string, limit int) ([]T, error)

// Page is one page of a listing, in key order.
type Page[T any] struct {
	// Items are the entries whose key, past the prefix, holds no delimiter.
	Items []T
	// CommonPrefixes are the rolled-up prefixes (each ends with the
	// delimiter), listed once each.
	CommonPrefixes []string
	// Truncated reports that more items or common prefixes follow.
	Truncated bool
	// Next is the last key or common prefix on the page when Truncated;
	// pass it as after to continue. Empty otherwise.
	Next string
}

// MaxRune is appended to a common prefix to seek past every key under it:
// it is the greatest code point, so among valid UTF-8 keys only those that
// continue with it again sort after the seek point (and they roll up into
// the same, already listed, prefix).
const MaxRune = "\U0010FFFF"

// maxBatch caps how many entries one Source call is asked for.
const maxBatch = 1000

// CommonPrefix returns the prefix key rolls up into: prefix plus the
// remainder of key up to and including the first delimiter after prefix.
// ok is false when key does not roll up (no delimiter, or delimiter == "",
// or key does not start with prefix).
func CommonPrefix(key, prefix, delimiter string) (cp string, ok bool) {
	if delimiter == "" || !strings.HasPrefix(key, prefix) {
		return "", false
	}
	i := strings.Index(key[len(prefix):], delimiter)
	if i < 0 {
		return "", false
	}
	return key[:len(prefix)+i+len(delimiter)], true
}

// List returns the page of src that S3 ListObjects returns for prefix,
// delimiter, marker after and max-keys limit:
//
//   - limit counts items and common prefixes together; limit <= 0 gives an
//     empty, untruncated page without calling src;
//   - a key whose remainder after prefix contains the delimiter is listed
//     as its common prefix, once; delimiter "" lists recursively;
//   - entries start after after; when after is itself a common prefix
//     (after starts with prefix and rolls up to itself) everything under it
//     is skipped too;
//   - Truncated is exact: it is set only when another entry exists.
//
// Entries are fetched in batches; skipping a common prefix re-seeks the
// source past every key under it, so a page costs few calls however many
// keys the prefixes hold.
func List[T any](ctx context.Context, src Source[T], key func(T) string, prefix, delimiter, after string, limit int) (Page[T], error) {
	var p Page[T]
	if limit <= 0 {
		return p, nil
	}
	var (
		lastCP string // last common prefix emitted or skipped over
		count  int    // items + common prefixes on the page
		last   string // last entry on the page (key or common prefix)
	)
	if cp, ok := CommonPrefix(after, prefix, delimiter); ok && cp == after {
		lastCP = after
		after += MaxRune
	}
	for {
		// Ask for one more than fits, to know exactly whether more follow.
		want := min(limit-count+1, maxBatch)
		batch, err := src(ctx, prefix, after, want)
		if err != nil {
			return Page[T]{}, fmt.Errorf("listing: %w", err)
		}
		for _, e := range batch {
			k := key(e)
			if k <= after || !strings.HasPrefix(k, prefix) {
				return Page[T]{}, fmt.Errorf("listing: source returned key %q outside (%q, prefix %q)", k, after, prefix)
			}
			after = k
			if lastCP != "" && strings.HasPrefix(k, lastCP) {
				continue // under the prefix just listed
			}
			if count == limit {
				p.Truncated, p.Next = true, last
				return p, nil
			}
			if cp, ok := CommonPrefix(k, prefix, delimiter); ok {
				p.CommonPrefixes = append(p.CommonPrefixes, cp)
				lastCP, last = cp, cp
				count++
				continue
			}
			p.Items = append(p.Items, e)
			last = k
			count++
		}
		if len(batch) < want {
			return p, nil // source exhausted
		}
		// Keys under a short prefix were skipped in memory above; when the
		// batch ended inside one, seek past the rest of it.
		if lastCP != "" && strings.HasPrefix(after, lastCP) {
			after = max(after, lastCP+MaxRune)
		}
	}
}

// PrefixEnd returns the least string greater than every string that starts
// with prefix, and false when there is none (prefix empty or made only of
// U+10FFFF / 0xff). For valid UTF-8 the result is valid UTF-8 too (the last
// code point is incremented, skipping surrogates), so it can be sent to a
// database that checks encodings; otherwise the last byte is incremented.
// Use it as an exclusive upper bound: key >= prefix AND key < end.
func PrefixEnd(prefix string) (string, bool) {
	if utf8.ValidString(prefix) {
		s := prefix
		for s != "" {
			r, n := utf8.DecodeLastRuneInString(s)
			s = s[:len(s)-n]
			if r == utf8.MaxRune {
				continue
			}
			r++
			if r == 0xD800 {
				r = 0xE000
			}
			return s + string(r), true
		}
		return "", false
	}
	b := []byte(prefix)
	for len(b) > 0 {
		i := len(b) - 1
		if b[i] < 0xff {
			b[i]++
			return string(b), true
		}
		b = b[:i]
	}
	return "", false
}
