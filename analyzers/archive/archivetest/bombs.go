package archivetest

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
)

// deflateZeros returns the raw deflate stream of n zero bytes and its CRC.
func deflateZeros(n int64) ([]byte, uint32) {
	var c bytes.Buffer
	fw, _ := flate.NewWriter(&c, flate.BestCompression)
	crc := crc32.NewIEEE()
	io.CopyN(io.MultiWriter(fw, crc), zeroReader{}, n)
	fw.Close()
	return c.Bytes(), crc.Sum32()
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// rawDeflateZip writes entries that all share one precomputed deflate stream.
func rawDeflateZip(names []string, packed []byte, crc uint32, size int64) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		h := &zip.FileHeader{Name: n, Method: zip.Deflate, Modified: Epoch, CRC32: crc,
			CompressedSize64: uint64(len(packed)), UncompressedSize64: uint64(size)}
		w, err := zw.CreateRaw(h)
		if err != nil {
			panic(err)
		}
		w.Write(packed)
	}
	zw.Close()
	return buf.Bytes()
}

// FlatZipBomb is a single-level zip of entries × entrySize zero bytes, each
// entry deflated (about 1000:1).
func FlatZipBomb(entries int, entrySize int64) []byte {
	packed, crc := deflateZeros(entrySize)
	names := make([]string, entries)
	for i := range names {
		names[i] = fmt.Sprintf("zeros-%03d.bin", i)
	}
	return rawDeflateZip(names, packed, crc, entrySize)
}

// NestedZipBomb is a 42.zip-style bomb: levels of zips, each holding fanout
// copies of the level below; the innermost holds fanout files of leafSize
// zeros. It expands to fanout^(levels) × leafSize bytes of leaves.
func NestedZipBomb(levels, fanout int, leafSize int64) []byte {
	packed, crc := deflateZeros(leafSize)
	names := make([]string, fanout)
	for i := range names {
		names[i] = fmt.Sprintf("%x.bin", i)
	}
	cur := rawDeflateZip(names, packed, crc, leafSize)
	for l := 1; l < levels; l++ {
		var c bytes.Buffer
		fw, _ := flate.NewWriter(&c, flate.BestCompression)
		fw.Write(cur)
		fw.Close()
		for i := range names {
			names[i] = fmt.Sprintf("lib-%d-%x.zip", l, i)
		}
		cur = rawDeflateZip(names, c.Bytes(), crc32.ChecksumIEEE(cur), int64(len(cur)))
	}
	return cur
}

// OverlapZipBomb is David Fifield's non-recursive bomb: every entry's
// compressed data starts with a stored deflate block quoting the next
// entry's local header and runs on into it, so all entries share one kernel
// of kernelSize zeros at the end and their data ranges overlap.
func OverlapZipBomb(files int, kernelSize int64) []byte {
	kernel, _ := deflateZeros(kernelSize)
	names := make([]string, files)
	for i := range names {
		names[i] = fmt.Sprintf("%c%d", 'A'+i%26, i)
	}
	// Build back to front: content_i = LFH_{i+1} ++ ... ++ LFH_{n-1} ++ zeros.
	lfh := make([][]byte, files)
	crcs := make([]uint32, files)
	usize := make([]uint64, files)
	csize := make([]uint64, files)
	kernelCRC := crcZeros(0, kernelSize)
	for i := files - 1; i >= 0; i-- {
		if i == files-1 {
			crcs[i], usize[i], csize[i] = kernelCRC, uint64(kernelSize), uint64(len(kernel))
		} else {
			var prefix []byte
			for j := i + 1; j < files; j++ {
				prefix = append(prefix, lfh[j]...)
			}
			crcs[i] = crcZeros(crc32.ChecksumIEEE(prefix), kernelSize)
			usize[i] = uint64(len(prefix)) + uint64(kernelSize)
			csize[i] = uint64(len(lfh[i+1])) + 5 + csize[i+1]
		}
		lfh[i] = localHeader(names[i], crcs[i], uint32(csize[i]), uint32(usize[i]))
	}
	var buf bytes.Buffer
	offsets := make([]int, files)
	for i := range files {
		offsets[i] = buf.Len()
		buf.Write(lfh[i])
		if i < files-1 {
			n := len(lfh[i+1])
			buf.Write([]byte{0, byte(n), byte(n >> 8), ^byte(n), ^byte(n >> 8)}) // stored, not final
		}
	}
	buf.Write(kernel)
	cdStart := buf.Len()
	for i := range files {
		buf.Write(centralHeader(names[i], crcs[i], uint32(csize[i]), uint32(usize[i]), uint32(offsets[i])))
	}
	cdEnd := buf.Len()
	eocd := make([]byte, 22)
	copy(eocd, "PK\x05\x06")
	binary.LittleEndian.PutUint16(eocd[8:], uint16(files))
	binary.LittleEndian.PutUint16(eocd[10:], uint16(files))
	binary.LittleEndian.PutUint32(eocd[12:], uint32(cdEnd-cdStart))
	binary.LittleEndian.PutUint32(eocd[16:], uint32(cdStart))
	buf.Write(eocd)
	return buf.Bytes()
}

// crcZeros continues CRC-32 c over n zero bytes.
func crcZeros(c uint32, n int64) uint32 {
	var zeros [32 << 10]byte
	for n > 0 {
		k := min(n, int64(len(zeros)))
		c = crc32.Update(c, crc32.IEEETable, zeros[:k])
		n -= k
	}
	return c
}

func localHeader(name string, crc, csize, usize uint32) []byte {
	b := make([]byte, 30, 30+len(name))
	copy(b, "PK\x03\x04")
	binary.LittleEndian.PutUint16(b[4:], 20)
	binary.LittleEndian.PutUint16(b[8:], zip.Deflate)
	binary.LittleEndian.PutUint16(b[10:], 0x6000) // 12:00
	binary.LittleEndian.PutUint16(b[12:], 0x58a6) // 2024-05-06
	binary.LittleEndian.PutUint32(b[14:], crc)
	binary.LittleEndian.PutUint32(b[18:], csize)
	binary.LittleEndian.PutUint32(b[22:], usize)
	binary.LittleEndian.PutUint16(b[26:], uint16(len(name)))
	return append(b, name...)
}

func centralHeader(name string, crc, csize, usize, off uint32) []byte {
	b := make([]byte, 46, 46+len(name))
	copy(b, "PK\x01\x02")
	binary.LittleEndian.PutUint16(b[4:], 20)
	binary.LittleEndian.PutUint16(b[6:], 20)
	binary.LittleEndian.PutUint16(b[10:], zip.Deflate)
	binary.LittleEndian.PutUint16(b[12:], 0x6000)
	binary.LittleEndian.PutUint16(b[14:], 0x58a6)
	binary.LittleEndian.PutUint32(b[16:], crc)
	binary.LittleEndian.PutUint32(b[20:], csize)
	binary.LittleEndian.PutUint32(b[24:], usize)
	binary.LittleEndian.PutUint16(b[28:], uint16(len(name)))
	binary.LittleEndian.PutUint32(b[42:], off)
	return append(b, name...)
}

// bzip2Zeros32M is `head -c 33554432 /dev/zero | bzip2 -9`: one bzip2 stream
// of 32 MiB of zeros in 46 bytes.
var bzip2Zeros32M = []byte{
	0x42, 0x5a, 0x68, 0x39, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59, 0xa2, 0x20,
	0xa2, 0x9a, 0x01, 0x01, 0x01, 0xc0, 0x00, 0xc0, 0x00, 0x00, 0x08, 0x20,
	0x00, 0x30, 0x80, 0x29, 0x1b, 0x68, 0x02, 0x01, 0xa2, 0x01, 0x00, 0xe2,
	0xee, 0x48, 0xa7, 0x0a, 0x12, 0x14, 0x44, 0x14, 0x53, 0x40,
}

// Bzip2ZerosUnit is the number of zero bytes one stream of Bzip2Bomb holds.
const Bzip2ZerosUnit = 32 << 20

// Bzip2Bomb is size zero bytes (rounded up to 32 MiB) as concatenated bzip2
// streams: 2 GiB fit in under 3 KiB.
func Bzip2Bomb(size int64) []byte {
	n := int((size + Bzip2ZerosUnit - 1) / Bzip2ZerosUnit)
	return bytes.Repeat(bzip2Zeros32M, n)
}

// LargeTarGz is a tar.gz of one file "big.bin" of size zero bytes, built from
// concatenated gzip members so that a 1 GiB file takes about 1 MiB and no
// time to make.
func LargeTarGz(size int64) []byte {
	const chunk = 8 << 20
	hdr, _ := Tar([]File{{Name: "big.bin"}})
	// Patch the size into the single header (ustar octal, 11 digits).
	copy(hdr[124:136], fmt.Sprintf("%011o\x00", size))
	h := hdr[:512]
	for i := 148; i < 156; i++ {
		h[i] = ' '
	}
	var sum int64
	for _, c := range h {
		sum += int64(c)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
	unit := Gzip(make([]byte, chunk))
	var buf bytes.Buffer
	buf.Write(Gzip(h))
	left := size
	for left >= chunk {
		buf.Write(unit)
		left -= chunk
	}
	pad := (512 - size%512) % 512
	buf.Write(Gzip(make([]byte, left+pad+1024)))
	return buf.Bytes()
}
