//go:build !race

package filestore

const (
	// bigBlob is the size of the blob the memory test stores.
	bigBlob = 256 << 20
	// flipStride: the flip test flips every byte.
	flipStride = 1
)
