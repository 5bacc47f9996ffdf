// Package analyzers holds Dewar's analyses of file contents. Each
// analysis is a small pure package (hashes, mime, ...): bytes stream in
// through io.Writer, a result comes out, and nothing touches storage. One
// read of a file feeds all of them at once.
package analyzers

import "io"

// Sink is one analysis of one file: write the file's bytes to it, in
// order, then ask for the result. Sinks never fail on Write.
type Sink interface {
	io.Writer
}
