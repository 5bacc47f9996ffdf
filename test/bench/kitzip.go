package main

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path"
	"time"
)

// archiveInfo describes a generated archive.
type archiveInfo struct {
	Path       string  `json:"path"`
	Files      int     `json:"files"`
	Bytes      int64   `json:"expanded_bytes"`
	ZipBytes   int64   `json:"zip_bytes"`
	TextFiles  int     `json:"text_files"`
	TextBytes  int64   `json:"text_bytes"`
	Images     int     `json:"images"`
	ImageBytes int64   `json:"image_bytes"`
	Other      int     `json:"other_binary_files"`
	OtherBytes int64   `json:"other_binary_bytes"`
	GenSeconds float64 `json:"generation_seconds"`
}

// kitFiles is the number of files of the ingest benchmark's kit.
const kitFiles = 2500

// zipTime is every entry's modification time (same seed, same bytes).
var zipTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// kitDirs are where a kit's files live, by kind.
var kitDirs = map[string][]string{
	".php":  {"", "admin", "admin/includes", "includes", "includes/lib", "pages", "pages/billing", "mailer", "antibot", "lang", "content/themes/basic", "content/plugins/gallery", "vendor/phpmailer/src"},
	".js":   {"assets/js", "admin/js", "vendor/jquery", "vendor/bootstrap/js", "content/themes/basic/js"},
	".html": {"", "pages", "templates", "content/themes/basic"},
	".css":  {"assets/css", "admin/css", "vendor/bootstrap/css", "content/themes/basic/css"},
	"img":   {"assets/img", "content/themes/basic/images", "pages/img"},
	"bin":   {"assets/fonts", "vendor/bootstrap/fonts", "assets/ico"},
}

// logUniform draws a size between lo and hi, uniform in log scale (many
// small files, a few large ones, as in real kits).
func logUniform(r *rand.Rand, lo, hi int) int {
	return int(float64(lo) * math.Exp(r.Float64()*math.Log(float64(hi)/float64(lo))))
}

// writeKitZip writes the ingest benchmark's kit: files (kitFiles) under
// kit/, about 84% PHP/JS/HTML/CSS (400 B to 160 KiB), 10% PNG and JPEG
// images, 6% fonts and icons (incompressible). Text is deflated, images
// and fonts stored, as `zip -n .jpg:.png:...` does. Same seed, same bytes.
func writeKitZip(p string, seed uint64, files int) (archiveInfo, error) {
	t0 := time.Now()
	info := archiveInfo{Path: p}
	zf, err := createZip(p)
	if err != nil {
		return info, err
	}
	defer zf.f.Close()
	zw := zf.zw
	g := newKitGen(seed)
	r := rand.New(rand.NewPCG(seed, 0x6b69747a6970))
	for i := range files {
		var ext string
		var body []byte
		var kind string
		switch x := r.IntN(100); {
		case x < 10:
			ext, body = g.image()
			kind = "img"
			info.Images++
			info.ImageBytes += int64(len(body))
		case x < 16:
			ext, body = g.binary(logUniform(r, 8<<10, 256<<10))
			kind = "bin"
			info.Other++
			info.OtherBytes += int64(len(body))
		default:
			ext, body = g.text(logUniform(r, 400, 160<<10))
			kind = ext
			info.TextFiles++
			info.TextBytes += int64(len(body))
		}
		dirs := kitDirs[kind]
		name := path.Join("kit", dirs[r.IntN(len(dirs))], fmt.Sprintf("%s-%s-%d%s", g.word(), g.word(), i, ext))
		method := zip.Store
		if kind[0] == '.' {
			method = zip.Deflate
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: zipTime})
		if err != nil {
			return info, err
		}
		if _, err := w.Write(body); err != nil {
			return info, err
		}
		info.Files++
		info.Bytes += int64(len(body))
	}
	info.ZipBytes, err = zf.close()
	info.GenSeconds = time.Since(t0).Seconds()
	return info, err
}

// writeBigZip streams a zip of about target bytes to p without holding it:
// 1 MiB files, three of four incompressible (stored), one of four kit
// text (deflated). Every file is unique.
func writeBigZip(p string, target int64, seed uint64) (archiveInfo, error) {
	t0 := time.Now()
	info := archiveInfo{Path: p}
	zf, err := createZip(p)
	if err != nil {
		return info, err
	}
	defer zf.f.Close()
	zw := zf.zw
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	// Text comes from one generated block, each file a different window
	// behind its own header line (generation stays off the critical path).
	g := newKitGen(seed)
	var text []byte
	for len(text) < 6<<20 {
		_, b := g.text(64 << 10)
		text = append(text, b...)
	}
	var seedb [32]byte
	const size = 1 << 20
	body := make([]byte, size)
	for i := 0; zf.cw.n < target; i++ {
		name := fmt.Sprintf("big/d%03d/f%05d", i/100, i)
		method := zip.Store
		if i%4 == 0 {
			name += ".js"
			method = zip.Deflate
			off := (i * 7919 * 61) % (len(text) - size)
			n := copy(body, fmt.Sprintf("/* file %d of seed %d */\n", i, seed))
			copy(body[n:], text[off:off+size-n])
			info.TextFiles++
			info.TextBytes += size
		} else {
			name += ".bin"
			seedb[0], seedb[1], seedb[2], seedb[3] = byte(i), byte(i>>8), byte(i>>16), byte(seed)
			_, _ = rand.NewChaCha8(seedb).Read(body)
			info.Other++
			info.OtherBytes += size
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: zipTime})
		if err != nil {
			return info, err
		}
		if _, err := w.Write(body); err != nil {
			return info, err
		}
		info.Files++
		info.Bytes += size
	}
	info.ZipBytes, err = zf.close()
	info.GenSeconds = time.Since(t0).Seconds()
	return info, err
}

// zipFile is a zip being written to a file through a buffer, counting
// the bytes written.
type zipFile struct {
	f  *os.File
	bw *bufio.Writer
	cw *countWriter
	zw *zip.Writer
}

func createZip(p string) (*zipFile, error) {
	f, err := os.Create(p)
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	cw := &countWriter{w: bw}
	return &zipFile{f: f, bw: bw, cw: cw, zw: zip.NewWriter(cw)}, nil
}

// close finishes the zip and the file and returns the zip's size.
func (z *zipFile) close() (int64, error) {
	if err := z.zw.Close(); err != nil {
		return 0, err
	}
	if err := z.bw.Flush(); err != nil {
		return 0, err
	}
	return z.cw.n, z.f.Close()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
