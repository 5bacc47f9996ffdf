package index

import "fmt"

// ErrBlobNotFound is returned by GetBlob for a blob the index has no row
// for, and by the mutating methods when called with a nil CommitFunc for a
// blob no other row pins (the caller vouched for a blob that may be gone,
// e.g. the source of a copy was deleted meanwhile). It wraps ErrNotFound.
var ErrBlobNotFound = fmt.Errorf("%w: no such blob", ErrNotFound)
