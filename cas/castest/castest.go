// Package castest is the conformance suite for cas.Store. Every store
// (filestore, s3store) and every decorator (metrics, retry, cache) runs it
// from its own tests:
//
//	func TestConformance(t *testing.T) {
//		castest.Run(t, func(t *testing.T) cas.Store { return newStore(t) },
//			castest.WithCorrupt(corruptOnDisk))
//	}
//
// Run is an explicit list of independent subtests, each on a fresh store
// from newStore, so a failure names the contract it breaks and can be run
// alone with -run.
package castest

import (
	"testing"

	"dewar/cas"
)

// Option adjusts Run for what a store can and cannot do.
type Option func(*config)

type config struct {
	corrupt      func(s cas.Store, ref cas.Ref) error
	looseCreated bool
}

// WithCorrupt gives the suite a way to damage a stored blob behind the
// store's back (flip a byte on disk, overwrite the upstream object), so it
// can check that cas.Verify finds the damage. The damage may change the
// bytes, the length or both. Without it the Verify subtest only checks a
// healthy store.
func WithCorrupt(fn func(s cas.Store, ref cas.Ref) error) Option {
	return func(c *config) { c.corrupt = fn }
}

// WithLooseCreated is for stores that cannot tell which of several
// concurrent Puts of the same bytes created the blob (an upstream without
// conditional writes): the concurrency subtest then requires at least one
// created=true instead of exactly one.
func WithLooseCreated() Option {
	return func(c *config) { c.looseCreated = true }
}

// Run runs the conformance suite. newStore must return an empty store and
// arrange its cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) cas.Store, opts ...Option) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s cas.Store)
	}{
		{"PutFetch", testPutFetch},
		{"PutFetchLarge", testPutFetchLarge},
		{"PutCreated", testPutCreated},
		{"PutDedup", testPutDedup},
		{"PutWant", testPutWant},
		{"PutWantMismatch", testPutWantMismatch},
		{"StageWantMismatch", testStageWantMismatch},
		{"PutSourceError", testPutSourceError},
		{"PutCancelled", testPutCancelled},
		{"PutCancelledMidStream", testPutCancelledMidStream},
		{"PutMaxSize", testPutMaxSize},
		{"Stat", testStat},
		{"Missing", testMissing},
		{"FetchRange", testFetchRange},
		{"FetchRangeEmptyBlob", testFetchRangeEmptyBlob},
		{"Remove", testRemove},
		{"RemoveMissing", testRemoveMissing},
		{"StageNotVisible", testStageNotVisible},
		{"StageReadAt", testStageReadAt},
		{"CommitIdempotent", testCommitIdempotent},
		{"DiscardAfterCommit", testDiscardAfterCommit},
		{"CommitAfterRemove", testCommitAfterRemove},
		{"CommitAfterDiscard", testCommitAfterDiscard},
		{"StageSameBytesTwice", testStageSameBytesTwice},
		{"Batch", testBatch},
		{"BatchWantMismatch", testBatchWantMismatch},
		{"ConcurrentPutSame", func(t *testing.T, s cas.Store) { testConcurrentPutSame(t, s, c.looseCreated) }},
		{"ConcurrentPutDistinct", testConcurrentPutDistinct},
		{"Walk", testWalk},
		{"WalkStops", testWalkStops},
		{"WalkCancelled", testWalkCancelled},
		{"Verify", func(t *testing.T, s cas.Store) { testVerify(t, s, c.corrupt) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}
