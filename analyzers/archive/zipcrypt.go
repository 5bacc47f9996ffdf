package archive

import (
	"archive/zip"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
)

// Encrypted zip entries are decrypted on top of archive/zip's File.OpenRaw:
// traditional PKWARE encryption (ZipCrypto) and WinZip AES (AE-1/AE-2).
//
// Nothing unverified is handed out as an entry's content. Each password in
// Options.Passwords (the one that last worked in this archive first) is
// pre-filtered by the format's check value (1 byte for ZipCrypto, 2 for
// AES), then verified: for AES by the HMAC-SHA1 over the ciphertext, for
// ZipCrypto by decrypting and inflating the entry once into a CRC-32, capped
// at the entry's declared size. Only then is the entry opened again and
// delivered; AE-1 and ZipCrypto content is CRC-checked once more at EOF.

// openEncrypted returns the verified plaintext of an encrypted entry, or an
// error matching ErrPassword or ErrUnsupported.
func (w *walker) openEncrypted(lv *level, f *zip.File) (io.ReadCloser, error) {
	if m := w.lim.MaxEntrySize; m > 0 && f.UncompressedSize64 > uint64(m) {
		return nil, &LimitError{Limit: LimitEntrySize, Value: int64(min(f.UncompressedSize64, 1<<62)), Max: m}
	}
	pws := w.opts.Passwords
	if lv.pw != "" {
		pws = append([]string{lv.pw}, pws...)
	}
	if f.Method == zipAES {
		return w.openAES(lv, f, pws)
	}
	return w.openZipCrypto(lv, f, pws)
}

// --- ZipCrypto ---------------------------------------------------------------

type zipCryptoKeys [3]uint32

func newZipCryptoKeys(pw string) *zipCryptoKeys {
	k := &zipCryptoKeys{0x12345678, 0x23456789, 0x34567890}
	for i := 0; i < len(pw); i++ {
		k.update(pw[i])
	}
	return k
}

func crc32Byte(crc uint32, b byte) uint32 {
	return crc32.IEEETable[byte(crc)^b] ^ crc>>8
}

func (k *zipCryptoKeys) update(b byte) {
	k[0] = crc32Byte(k[0], b)
	k[1] = (k[1]+k[0]&0xff)*134775813 + 1
	k[2] = crc32Byte(k[2], byte(k[1]>>24))
}

func (k *zipCryptoKeys) decryptByte() byte {
	t := k[2] | 2
	return byte((t * (t ^ 1)) >> 8)
}

func (k *zipCryptoKeys) decrypt(p []byte) {
	for i, c := range p {
		p[i] = c ^ k.decryptByte()
		k.update(p[i])
	}
}

type zipCryptoReader struct {
	r io.Reader
	k *zipCryptoKeys
}

func (z *zipCryptoReader) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	z.k.decrypt(p[:n])
	return n, err
}

// zipCryptoCheck is the byte the 12-byte encryption header must end with.
func zipCryptoCheck(f *zip.File) byte {
	if f.Flags&0x8 != 0 {
		return byte(f.ModifiedTime >> 8)
	}
	return byte(f.CRC32 >> 24)
}

// zipCryptoPlain opens f's plaintext with pw, or returns ErrPassword when the
// check byte rules pw out.
func zipCryptoPlain(f *zip.File, pw string) (io.ReadCloser, error) {
	raw, err := f.OpenRaw()
	if err != nil {
		return nil, err
	}
	var hdr [12]byte
	if _, err := io.ReadFull(raw, hdr[:]); err != nil {
		return nil, corrupt(f.Name, err)
	}
	k := newZipCryptoKeys(pw)
	k.decrypt(hdr[:])
	if hdr[11] != zipCryptoCheck(f) {
		return nil, ErrPassword
	}
	return methodReader(f.Method, &zipCryptoReader{r: raw, k: k})
}

func (w *walker) openZipCrypto(lv *level, f *zip.File, pws []string) (io.ReadCloser, error) {
	for _, pw := range pws {
		if err := w.ctx.Err(); err != nil {
			return nil, err
		}
		rc, err := zipCryptoPlain(f, pw)
		if errors.Is(err, ErrPassword) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ok := verifyCRC(w, rc, f.CRC32, f.UncompressedSize64)
		rc.Close()
		if err := w.ctx.Err(); err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		lv.pw = pw
		rc, err = zipCryptoPlain(f, pw)
		if err != nil {
			return nil, corrupt(f.Name, err)
		}
		return &crcReadCloser{rc: rc, want: f.CRC32, size: f.UncompressedSize64}, nil
	}
	return nil, fmt.Errorf("archive: zipcrypto: %w", ErrPassword)
}

// verifyCRC reads r (at most size+1 bytes) and reports whether it holds
// exactly size bytes with CRC-32 want.
func verifyCRC(w *walker, r io.Reader, want uint32, size uint64) bool {
	h := crc32.NewIEEE()
	n, err := io.Copy(h, io.LimitReader(ctxReader{w, r}, int64(min(size, 1<<62))+1))
	return err == nil && uint64(n) == size && h.Sum32() == want
}

// crcReadCloser checks size and CRC-32 at EOF.
type crcReadCloser struct {
	rc   io.ReadCloser
	h    hash.Hash32
	n    uint64
	want uint32
	size uint64
}

var errChecksum = errors.New("checksum mismatch")

func (c *crcReadCloser) Read(p []byte) (int, error) {
	if c.h == nil {
		c.h = crc32.NewIEEE()
	}
	n, err := c.rc.Read(p)
	c.h.Write(p[:n])
	c.n += uint64(n)
	if c.n > c.size {
		return n, errChecksum
	}
	if err == io.EOF && (c.n != c.size || c.h.Sum32() != c.want) {
		return n, errChecksum
	}
	return n, err
}

func (c *crcReadCloser) Close() error { return c.rc.Close() }

type ctxReader struct {
	w *walker
	r io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.w.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// --- WinZip AES --------------------------------------------------------------

// aesExtra is the WinZip AES extra field (0x9901).
type aesExtra struct {
	version  uint16 // 1 = AE-1 (CRC checked), 2 = AE-2 (CRC zero)
	strength byte   // 1, 2, 3 = AES-128, -192, -256
	method   uint16 // the real compression method
}

func parseAESExtra(extra []byte) (aesExtra, bool) {
	for len(extra) >= 4 {
		tag, n := binary.LittleEndian.Uint16(extra), int(binary.LittleEndian.Uint16(extra[2:]))
		if len(extra) < 4+n {
			break
		}
		if tag == 0x9901 && n >= 7 && extra[6] == 'A' && extra[7] == 'E' {
			a := aesExtra{version: binary.LittleEndian.Uint16(extra[4:]), strength: extra[8], method: binary.LittleEndian.Uint16(extra[9:])}
			return a, a.strength >= 1 && a.strength <= 3
		}
		extra = extra[4+n:]
	}
	return aesExtra{}, false
}

// aesKeys derives the encryption key, the HMAC key and the 2-byte password
// verifier (PBKDF2-HMAC-SHA1, 1000 iterations).
func aesKeys(pw string, salt []byte, keyLen int) (enc, mac, verifier []byte, err error) {
	d, err := pbkdf2.Key(sha1.New, pw, salt, 1000, 2*keyLen+2)
	if err != nil {
		return nil, nil, nil, err
	}
	return d[:keyLen], d[keyLen : 2*keyLen], d[2*keyLen:], nil
}

// winzipCTR is AES in CTR mode with WinZip's little-endian counter that
// starts at 1.
type winzipCTR struct {
	b       cipher.Block
	counter uint64
	ks      [aes.BlockSize]byte
	used    int
}

func (c *winzipCTR) XORKeyStream(dst, src []byte) {
	for i := range src {
		if c.used == 0 || c.used == aes.BlockSize {
			c.counter++
			var ctr [aes.BlockSize]byte
			binary.LittleEndian.PutUint64(ctr[:], c.counter)
			c.b.Encrypt(c.ks[:], ctr[:])
			c.used = 0
		}
		dst[i] = src[i] ^ c.ks[c.used]
		c.used++
	}
}

func (w *walker) openAES(lv *level, f *zip.File, pws []string) (io.ReadCloser, error) {
	ax, ok := parseAESExtra(f.Extra)
	if !ok {
		return nil, fmt.Errorf("archive: zip AES without a valid 0x9901 field: %w", ErrUnsupported)
	}
	keyLen := 8 + 8*int(ax.strength) // 16, 24, 32
	saltLen := keyLen / 2
	overhead := uint64(saltLen + 2 + 10)
	if f.CompressedSize64 < overhead {
		return nil, corrupt(f.Name, io.ErrUnexpectedEOF)
	}
	dataLen := int64(f.CompressedSize64 - overhead)
	raw, err := f.OpenRaw()
	if err != nil {
		return nil, corrupt(f.Name, err)
	}
	head := make([]byte, saltLen+2)
	if _, err := io.ReadFull(raw, head); err != nil {
		return nil, corrupt(f.Name, err)
	}
	salt, verifier := head[:saltLen], head[saltLen:]
	for _, pw := range pws {
		enc, mac, v, err := aesKeys(pw, salt, keyLen)
		if err != nil || !hmac.Equal(v, verifier) {
			continue
		}
		// Authenticate the ciphertext before decrypting anything.
		raw, err := f.OpenRaw()
		if err != nil {
			return nil, corrupt(f.Name, err)
		}
		m := hmac.New(sha1.New, mac)
		if _, err := io.Copy(m, io.NewSectionReader(readerAtOf(raw), int64(saltLen+2), dataLen)); err != nil {
			return nil, corrupt(f.Name, err)
		}
		code := make([]byte, 10)
		if _, err := readerAtOf(raw).ReadAt(code, int64(saltLen+2)+dataLen); err != nil && err != io.EOF {
			return nil, corrupt(f.Name, err)
		}
		if err := w.ctx.Err(); err != nil {
			return nil, err
		}
		if !hmac.Equal(m.Sum(nil)[:10], code) {
			continue // a verifier collision; try the next password
		}
		lv.pw = pw
		block, err := aes.NewCipher(enc)
		if err != nil {
			return nil, err
		}
		ct := io.NewSectionReader(readerAtOf(raw), int64(saltLen+2), dataLen)
		plain := cipher.StreamReader{S: &winzipCTR{b: block}, R: ct}
		rc, err := methodReader(ax.method, plain)
		if err != nil {
			return nil, err
		}
		if ax.version == 1 {
			return &crcReadCloser{rc: rc, want: f.CRC32, size: f.UncompressedSize64}, nil
		}
		return &sizeReadCloser{rc: rc, size: f.UncompressedSize64}, nil
	}
	return nil, fmt.Errorf("archive: zip AES: %w", ErrPassword)
}

// readerAtOf returns the random access OpenRaw's section reader offers.
func readerAtOf(r io.Reader) io.ReaderAt {
	if ra, ok := r.(io.ReaderAt); ok {
		return ra
	}
	return errReaderAt{}
}

type errReaderAt struct{}

func (errReaderAt) ReadAt([]byte, int64) (int, error) { return 0, io.ErrUnexpectedEOF }

// sizeReadCloser checks the declared size at EOF (AE-2 has no CRC).
type sizeReadCloser struct {
	rc   io.ReadCloser
	n    uint64
	size uint64
}

func (s *sizeReadCloser) Read(p []byte) (int, error) {
	n, err := s.rc.Read(p)
	s.n += uint64(n)
	if s.n > s.size || (err == io.EOF && s.n != s.size) {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

func (s *sizeReadCloser) Close() error { return s.rc.Close() }
