package archivetest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
)

// RAR5 writes a minimal RAR 5 archive: a main header, one file header per
// member with its data stored (method 0, CRC-32 and Unix mtime recorded),
// symbolic links as redirection records, and an end header. Hard links are
// not supported and written as empty files. Enough for rardecode, bsdtar and
// unrar to list and extract; no compression, encryption or volumes.
func RAR5(files []File) []byte {
	var buf bytes.Buffer
	buf.WriteString("Rar!\x1a\x07\x01\x00")
	rarBlock(&buf, vints(1, 0, 0), nil) // main archive header: type 1, no flags, archive flags 0
	for _, f := range files {
		var fileFlags uint64 = 0x0002 // unix mtime present
		attr := uint64(0o100000 | f.perm())
		data := f.Body
		var extra []byte
		switch {
		case f.Dir:
			fileFlags |= 0x0001
			attr = uint64(0o040000 | f.perm())
			data = nil
		case f.Symlink != "":
			attr = uint64(0o120000 | f.perm())
			data = nil
			rec := vints(5, 1, 0, uint64(len(f.Symlink))) // redirection: unix symlink
			rec = append(rec, f.Symlink...)
			extra = append(vints(uint64(len(rec))), rec...)
		default:
			fileFlags |= 0x0004 // CRC32 present
		}
		var body []byte
		body = append(body, vints(fileFlags, uint64(len(data)), attr)...)
		body = binary.LittleEndian.AppendUint32(body, uint32(f.modTime().Unix()))
		if fileFlags&0x0004 != 0 {
			body = binary.LittleEndian.AppendUint32(body, crc32.ChecksumIEEE(data))
		}
		body = append(body, vints(0, 1, uint64(len(f.Name)))...) // stored, unix host
		body = append(body, f.Name...)
		var hflags uint64 = 0x0002 // has data area
		head := []uint64{2}
		if extra != nil {
			hflags |= 0x0001
			head = append(head, hflags, uint64(len(extra)), uint64(len(data)))
		} else {
			head = append(head, hflags, uint64(len(data)))
		}
		rarBlock(&buf, append(append(vints(head...), body...), extra...), data)
	}
	rarBlock(&buf, vints(5, 0, 0), nil) // end of archive
	return buf.Bytes()
}

// rarBlock writes CRC32 | size | header, then the data area.
func rarBlock(buf *bytes.Buffer, header, data []byte) {
	sized := append(vints(uint64(len(header))), header...)
	buf.Write(binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(sized)))
	buf.Write(sized)
	buf.Write(data)
}

func vints(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.AppendUvarint(b, v)
	}
	return b
}
