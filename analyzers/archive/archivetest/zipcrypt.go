package archivetest

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/aes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"encoding/binary"
	"hash/crc32"
	"io/fs"
	"math/rand/v2"
)

// Encryption selects how EncryptedZip protects file contents.
type Encryption int

// Encryption schemes. AES variants are written as AE-2 (no CRC) unless
// ZipOptions.AE1 is set.
const (
	ZipCrypto Encryption = iota + 1
	AES128
	AES192
	AES256
)

// ZipOptions configure EncryptedZip.
type ZipOptions struct {
	Encryption Encryption
	Password   string
	Method     Method // Store or Deflate (default Deflate)
	AE1        bool   // AES: write AE-1 (CRC kept) instead of AE-2
	Seed       uint64 // salts and ZipCrypto header bytes derive from it
}

// EncryptedZip writes a zip whose file contents (symlink targets included)
// are encrypted; directories are not. Same options, same bytes.
func EncryptedZip(files []File, o ZipOptions) []byte {
	if o.Method == 0 && o.Encryption != 0 {
		o.Method = Deflate
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.Name, Modified: f.modTime()}
		if f.Dir {
			if h.Name == "" || h.Name[len(h.Name)-1] != '/' {
				h.Name += "/"
			}
			h.SetMode(fs.ModeDir | f.perm())
			zw.CreateHeader(h)
			continue
		}
		plain := f.Body
		h.SetMode(f.perm())
		if f.Symlink != "" {
			plain = []byte(f.Symlink)
			h.SetMode(fs.ModeSymlink | f.perm())
		}
		crc := crc32.ChecksumIEEE(plain)
		packed := plain
		if o.Method == Deflate {
			var c bytes.Buffer
			fw, _ := flate.NewWriter(&c, flate.DefaultCompression)
			fw.Write(plain)
			fw.Close()
			packed = c.Bytes()
		}
		h.UncompressedSize64 = uint64(len(plain))
		h.Flags |= 1
		var data []byte
		switch o.Encryption {
		case ZipCrypto:
			h.Method, h.CRC32 = uint16(o.Method), crc
			data = zipCryptoEncrypt(packed, o.Password, crc, rng)
		default:
			strength := byte(o.Encryption - ZipCrypto) // 1, 2, 3
			version := uint16(2)
			if o.AE1 {
				version, h.CRC32 = 1, crc
			}
			h.Method = 99
			extra := make([]byte, 11)
			binary.LittleEndian.PutUint16(extra, 0x9901)
			binary.LittleEndian.PutUint16(extra[2:], 7)
			binary.LittleEndian.PutUint16(extra[4:], version)
			extra[6], extra[7], extra[8] = 'A', 'E', strength
			binary.LittleEndian.PutUint16(extra[9:], uint16(o.Method))
			h.Extra = append(h.Extra, extra...)
			data = aesEncrypt(packed, o.Password, int(strength), rng)
		}
		h.CompressedSize64 = uint64(len(data))
		w, err := zw.CreateRaw(h)
		if err != nil {
			panic(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

type zcKeys [3]uint32

func (k *zcKeys) update(b byte) {
	k[0] = crc32.IEEETable[byte(k[0])^b] ^ k[0]>>8
	k[1] = (k[1]+k[0]&0xff)*134775813 + 1
	k[2] = crc32.IEEETable[byte(k[2])^byte(k[1]>>24)] ^ k[2]>>8
}

func (k *zcKeys) stream() byte {
	t := k[2] | 2
	return byte((t * (t ^ 1)) >> 8)
}

// zipCryptoEncrypt prepends the 12-byte header (11 seeded bytes and the CRC's
// high byte) and encrypts everything with the traditional PKWARE cipher.
func zipCryptoEncrypt(packed []byte, pw string, crc uint32, rng *rand.Rand) []byte {
	k := zcKeys{0x12345678, 0x23456789, 0x34567890}
	for i := 0; i < len(pw); i++ {
		k.update(pw[i])
	}
	out := make([]byte, 12+len(packed))
	for i := range 11 {
		out[i] = byte(rng.Uint32())
	}
	out[11] = byte(crc >> 24)
	copy(out[12:], packed)
	for i, p := range out {
		out[i] = p ^ k.stream()
		k.update(p)
	}
	return out
}

// aesEncrypt lays out salt | verifier | AES-CTR ciphertext | HMAC-SHA1[:10].
func aesEncrypt(packed []byte, pw string, strength int, rng *rand.Rand) []byte {
	keyLen := 8 + 8*strength
	salt := make([]byte, keyLen/2)
	for i := range salt {
		salt[i] = byte(rng.Uint32())
	}
	d, err := pbkdf2.Key(sha1.New, pw, salt, 1000, 2*keyLen+2)
	if err != nil {
		panic(err)
	}
	block, _ := aes.NewCipher(d[:keyLen])
	ct := make([]byte, len(packed))
	var ctr, ks [16]byte
	for i := 0; i < len(packed); i += 16 {
		binary.LittleEndian.PutUint64(ctr[:], uint64(i/16+1))
		block.Encrypt(ks[:], ctr[:])
		for j := i; j < min(i+16, len(packed)); j++ {
			ct[j] = packed[j] ^ ks[j-i]
		}
	}
	m := hmac.New(sha1.New, d[keyLen:2*keyLen])
	m.Write(ct)
	out := append(append(append(salt, d[2*keyLen:]...), ct...), m.Sum(nil)[:10]...)
	return out
}
