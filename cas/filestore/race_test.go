//go:build race

package filestore

// Under the race detector, which slows compression tenfold, the memory
// test stores a smaller blob and the flip test flips every fifth byte.
const (
	bigBlob    = 32 << 20
	flipStride = 5
)
