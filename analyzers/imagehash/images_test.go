package imagehash

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"testing"

	"golang.org/x/image/bmp"
)

// scene draws a deterministic picture with structure at several scales:
// a diagonal gradient, rings around an off-centre point and a few solid
// blocks, so that every perceptual hash has something to grip.
func scene(w, h int, variant int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	cx, cy := float64(w)*0.35, float64(h)*0.6
	if variant == 1 {
		cx, cy = float64(w)*0.7, float64(h)*0.3
	}
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			d := math.Hypot(float64(x)-cx, float64(y)-cy) / float64(min(w, h))
			ring := 0.5 + 0.5*math.Sin(d*40)
			r := uint8(255 * (0.6*fx + 0.4*ring))
			g := uint8(255 * (0.5*fy + 0.5*ring*fx))
			b := uint8(255 * (1 - 0.7*fx*fy))
			if variant == 1 {
				r, b = b, uint8(255*ring)
			}
			img.Set(x, y, color.NRGBA{r, g, b, 255})
		}
	}
	blocks := []image.Rectangle{
		image.Rect(w/10, h/10, w/4, h/3),
		image.Rect(w*6/10, h*6/10, w*9/10, h*8/10),
		image.Rect(w/2, h/8, w*6/10, h/2),
	}
	for i, r := range blocks {
		c := color.NRGBA{uint8(40 * i), 20, uint8(250 - 60*i), 255}
		if variant == 1 {
			c = color.NRGBA{250, uint8(80 * i), 10, 255}
		}
		draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
	}
	return img
}

// flat is one colour.
func flat(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.NRGBA{90, 120, 200, 255}), image.Point{}, draw.Src)
	return img
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image, quality int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeGIF(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gif.Encode(&b, img, &gif.Options{NumColors: 256, Quantizer: nil, Drawer: draw.FloydSteinberg}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeBMP(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := bmp.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gray(img image.Image) *image.Gray {
	g := image.NewGray(img.Bounds())
	draw.Draw(g, g.Bounds(), img, img.Bounds().Min, draw.Src)
	return g
}

func paletted(img image.Image) *image.Paletted {
	p := image.NewPaletted(img.Bounds(), palette.Plan9)
	draw.Draw(p, p.Bounds(), img, img.Bounds().Min, draw.Src)
	return p
}

// mirror returns img reversed left to right (lr) or top to bottom.
func mirror(img *image.NRGBA, lr bool) *image.NRGBA {
	b := img.Bounds()
	out := image.NewNRGBA(b)
	for y := range b.Dy() {
		for x := range b.Dx() {
			sx, sy := x, y
			if lr {
				sx = b.Dx() - 1 - x
			} else {
				sy = b.Dy() - 1 - y
			}
			out.SetNRGBA(x, y, img.NRGBAAt(sx, sy))
		}
	}
	return out
}

// transpose swaps rows and columns.
func transpose(img *image.NRGBA) *image.NRGBA {
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dy(), b.Dx()))
	for y := range b.Dy() {
		for x := range b.Dx() {
			out.SetNRGBA(y, x, img.NRGBAAt(x, y))
		}
	}
	return out
}

// chunk returns a PNG chunk with its CRC.
func chunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	binary.Write(&b, binary.BigEndian, crc.Sum32())
	return b.Bytes()
}

// pngHeader is a valid PNG signature and IHDR claiming w x h RGBA pixels.
func pngHeader(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	return append([]byte("\x89PNG\r\n\x1a\n"), chunk("IHDR", ihdr)...)
}

// jpegHeader is SOI, a JFIF APP0 and a baseline SOF0 claiming w x h.
func jpegHeader(w, h uint16) []byte {
	b := []byte{0xff, 0xd8}
	b = append(b, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0)
	return append(b, 0xff, 0xc0, 0, 17, 8, byte(h>>8), byte(h), byte(w>>8), byte(w), 3,
		1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1)
}

// gifHeader is a GIF89a header and logical screen of w x h.
func gifHeader(w, h uint16) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, w)
	b = binary.LittleEndian.AppendUint16(b, h)
	return append(b, 0, 0, 0)
}

// webpHeader is a RIFF/WEBP file with a VP8X chunk claiming a w x h canvas.
func webpHeader(w, h uint32) []byte {
	vp8x := make([]byte, 10)
	vp8x[4], vp8x[5], vp8x[6] = byte(w-1), byte((w-1)>>8), byte((w-1)>>16)
	vp8x[7], vp8x[8], vp8x[9] = byte(h-1), byte((h-1)>>8), byte((h-1)>>16)
	body := append([]byte("WEBPVP8X"), binary.LittleEndian.AppendUint32(nil, 10)...)
	body = append(body, vp8x...)
	return append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
}

// bitWriter packs bits least significant first, as VP8L reads them.
type bitWriter struct {
	b    []byte
	nbit uint
}

func (w *bitWriter) put(v uint32, n uint) {
	for i := range n {
		if w.nbit%8 == 0 {
			w.b = append(w.b, 0)
		}
		w.b[len(w.b)-1] |= byte(v>>i&1) << (w.nbit % 8)
		w.nbit++
	}
}

// webpSolid is a lossless WebP of one colour: a VP8L stream whose five
// prefix codes each have a single symbol, so the pixels take no bits.
func webpSolid(width, height int, c color.NRGBA) []byte {
	w := &bitWriter{}
	w.put(0x2f, 8)
	w.put(uint32(width-1), 14)
	w.put(uint32(height-1), 14)
	w.put(0, 1) // alpha unused
	w.put(0, 3) // version
	w.put(0, 1) // no transform
	w.put(0, 1) // no colour cache
	w.put(0, 1) // no meta prefix codes
	for _, sym := range []uint8{c.G, c.R, c.B, c.A} {
		w.put(1, 1) // simple code
		w.put(0, 1) // one symbol
		w.put(1, 1) // 8-bit symbol
		w.put(uint32(sym), 8)
	}
	w.put(1, 1) // distance code: simple, one 1-bit symbol 0
	w.put(0, 1)
	w.put(0, 1)
	w.put(0, 1)
	data := w.b
	chunk := append([]byte("VP8L"), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
	chunk = append(chunk, data...)
	if len(data)%2 == 1 {
		chunk = append(chunk, 0)
	}
	body := append([]byte("WEBP"), chunk...)
	return append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
}

func webpLossless() []byte { return webpSolid(64, 48, color.NRGBA{90, 120, 200, 255}) }
