package imagehash

import (
	"encoding/hex"
	"image"
	"image/color"
	"math"
	"slices"
)

// PDQ is Meta's 256-bit perceptual hash, computed as the reference C++
// hasher (ThreatExchange pdq/cpp, pdq-photo-hasher) does: images over 512
// pixels in either dimension are first sampled (nearest neighbour, as
// CImg's default resize) to 512x512; then luma, a two-pass tent (Jarosz)
// blur, decimation to 64x64, the 16x16 low-frequency block of the DCT
// and one bit per coefficient above the median. Arithmetic is float32 as
// in the reference, each product rounded on its own (no fused
// multiply-add), so the same pixels give the same bits.
//
// The reference loads files with CImg (libjpeg, libpng); Go's decoders
// agree exactly on PNG, GIF and BMP pixels but not always on JPEG ones
// (chroma upsampling and IDCT differ), so JPEG hashes can differ from the
// reference tool's by a few bits.

const (
	pdqDownsample = 512 // pdqio.cpp DOWNSAMPLE_DIMS
	pdqMinDim     = 5   // MIN_HASHABLE_DIM
	pdqPasses     = 2   // PDQ_NUM_JAROSZ_XY_PASSES
)

const (
	lumaR = float32(0.299)
	lumaG = float32(0.587)
	lumaB = float32(0.114)
)

// dctMatrix is rows 1..16 of the 64-point DCT-II basis, as the reference
// builds it: computed in double, stored as float.
var dctMatrix = func() (d [16][64]float32) {
	scale := float32(math.Sqrt(2.0 / 64.0))
	for i := range 16 {
		for j := range 64 {
			d[i][j] = float32(float64(scale) * math.Cos((math.Pi/2.0/64.0)*float64(i+1)*float64(2*j+1)))
		}
	}
	return d
}()

// pdqHash returns the PDQ hash of img as 64 lowercase hex digits and its
// quality (0..100), or ok false when a side is under 5 pixels.
func pdqHash(img image.Image) (hash string, quality int, ok bool) {
	coeffs, quality, ok := pdqCoefficients(img)
	if !ok {
		return "", 0, false
	}
	return pdqBits(&coeffs), quality, true
}

// pdqCoefficients is everything of pdqHash before the bits: the 16x16
// DCT block and the quality.
func pdqCoefficients(img image.Image) (coeffs [16][16]float32, quality int, ok bool) {
	luma, rows, cols := pdqLuma(img)
	if rows < pdqMinDim || cols < pdqMinDim {
		return coeffs, 0, false
	}
	var block [64][64]float32
	if rows == 64 && cols == 64 {
		for i := range 64 {
			copy(block[i][:], luma[i*64:(i+1)*64])
		}
	} else {
		jarosz(luma, rows, cols, windowSize(cols), windowSize(rows))
		decimate(luma, rows, cols, &block)
	}
	return dct64To16(&block), pdqQuality(&block), true
}

// pdqLuma samples img to at most 512x512 as the reference tool does and
// returns its luma, row-major.
func pdqLuma(img image.Image) (luma []float32, rows, cols int) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	rows, cols = h, w
	if w > pdqDownsample || h > pdqDownsample {
		rows, cols = pdqDownsample, pdqDownsample
	}
	// CImg's nearest-neighbour resize reads source index floor(i*n/512);
	// with 512 a power of two the reference's double arithmetic is exact.
	xs := make([]int, cols)
	for x := range xs {
		xs[x] = b.Min.X + x*w/cols
	}
	luma = make([]float32, rows*cols)
	px := newPixelReader(img)
	for y := range rows {
		sy := b.Min.Y + y*h/rows
		for x, sx := range xs {
			luma[y*cols+x] = px.luma(sx, sy)
		}
	}
	return luma, rows, cols
}

// pixelReader reads one pixel's luma with the fast paths of the common
// decoded image types.
type pixelReader struct {
	img   image.Image
	nrgba *image.NRGBA
	rgba  *image.RGBA
	gray  *image.Gray
	ycc   *image.YCbCr
	pal   *image.Paletted
	lut   []float32 // luma of each palette entry
}

func newPixelReader(img image.Image) *pixelReader {
	p := &pixelReader{img: img}
	switch m := img.(type) {
	case *image.NRGBA:
		p.nrgba = m
	case *image.RGBA:
		p.rgba = m
	case *image.Gray:
		p.gray = m
	case *image.YCbCr:
		p.ycc = m
	case *image.Paletted:
		p.pal = m
		p.lut = make([]float32, len(m.Palette))
		for i, c := range m.Palette {
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			p.lut[i] = lumaOf(n.R, n.G, n.B)
		}
	}
	return p
}

// luma is 0.299 R + 0.587 G + 0.114 B over straight (not premultiplied)
// 8-bit channels, the reference's fillFloatLumaFromRGB; grey images use
// the grey value itself (fillFloatLumaFromGrey).
func (p *pixelReader) luma(x, y int) float32 {
	switch {
	case p.nrgba != nil:
		i := p.nrgba.PixOffset(x, y)
		s := p.nrgba.Pix[i : i+3 : i+3]
		return lumaOf(s[0], s[1], s[2])
	case p.rgba != nil && p.rgba.Pix[p.rgba.PixOffset(x, y)+3] == 0xff:
		i := p.rgba.PixOffset(x, y)
		s := p.rgba.Pix[i : i+3 : i+3]
		return lumaOf(s[0], s[1], s[2])
	case p.gray != nil:
		return float32(p.gray.Pix[p.gray.PixOffset(x, y)])
	case p.ycc != nil:
		yi, ci := p.ycc.YOffset(x, y), p.ycc.COffset(x, y)
		r, g, b := color.YCbCrToRGB(p.ycc.Y[yi], p.ycc.Cb[ci], p.ycc.Cr[ci])
		return lumaOf(r, g, b)
	case p.pal != nil:
		i := p.pal.ColorIndexAt(x, y)
		if int(i) < len(p.lut) {
			return p.lut[i]
		}
		return 0
	}
	switch c := p.img.At(x, y).(type) {
	case color.Gray:
		return float32(c.Y)
	case color.Gray16:
		return float32(c.Y >> 8)
	}
	n := color.NRGBAModel.Convert(p.img.At(x, y)).(color.NRGBA)
	return lumaOf(n.R, n.G, n.B)
}

func lumaOf(r, g, b uint8) float32 {
	return float32(lumaR*float32(r)) + float32(lumaG*float32(g)) + float32(lumaB*float32(b))
}

// windowSize is the box-filter window for one dimension: half of what
// maps the dimension onto 64, rounded up, since two passes compose a tent.
func windowSize(dim int) int { return (dim + 2*64 - 1) / (2 * 64) }

// jarosz blurs luma in place with pdqPasses rounds of box filters along
// rows then columns. The reference ping-pongs between two full buffers;
// copying one line at a time into scratch gives the same numbers with one.
func jarosz(luma []float32, rows, cols, rowWindow, colWindow int) {
	scratch := make([]float32, max(rows, cols))
	for range pdqPasses {
		for i := range rows {
			line := luma[i*cols : (i+1)*cols]
			copy(scratch, line)
			box1D(scratch[:cols], line, rowWindow)
		}
		col := make([]float32, rows)
		for j := range cols {
			for i := range rows {
				scratch[i] = luma[i*cols+j]
			}
			box1D(scratch[:rows], col, colWindow)
			for i := range rows {
				luma[i*cols+j] = col[i]
			}
		}
	}
}

// box1D is the reference's box1DFloat: a running mean over window
// values centred on each output, shrinking at the edges.
func box1D(in, out []float32, window int) {
	half := (window + 2) / 2
	n := len(in)
	var sum float32
	size := 0
	li, ri, oi := 0, 0, 0
	for range half - 1 {
		sum += in[ri]
		size++
		ri++
	}
	for range window - half + 1 {
		sum += in[ri]
		size++
		out[oi] = sum / float32(size)
		ri++
		oi++
	}
	for range n - window {
		sum += in[ri]
		sum -= in[li]
		out[oi] = sum / float32(size)
		li++
		ri++
		oi++
	}
	for range half - 1 {
		sum -= in[li]
		size--
		out[oi] = sum / float32(size)
		li++
		oi++
	}
}

// decimate samples the blurred image at the centres of a 64x64 grid.
func decimate(luma []float32, rows, cols int, out *[64][64]float32) {
	for i := range 64 {
		ini := int((float64(i) + 0.5) * float64(rows) / 64)
		for j := range 64 {
			inj := int((float64(j) + 0.5) * float64(cols) / 64)
			out[i][j] = luma[ini*cols+inj]
		}
	}
}

// pdqQuality counts significant gradients of the 64x64 image, scaled to
// 0..100 (pdqImageDomainQualityMetric). Flat images score near 0.
func pdqQuality(b *[64][64]float32) int {
	sum := 0
	step := func(u, v float32) {
		d := int(float32(float32(u-v)*100) / 255)
		if d < 0 {
			d = -d
		}
		sum += d
	}
	for i := range 63 {
		for j := range 64 {
			step(b[i][j], b[i+1][j])
		}
	}
	for i := range 64 {
		for j := range 63 {
			step(b[i][j], b[i][j+1])
		}
	}
	return min(sum/90, 100)
}

// dct64To16 is D·A·Dᵀ for the 16 lowest non-DC frequencies.
func dct64To16(a *[64][64]float32) (out [16][16]float32) {
	var t [16][64]float32
	for i := range 16 {
		for j := range 64 {
			var s float32
			for k := range 64 {
				s += float32(dctMatrix[i][k] * a[k][j])
			}
			t[i][j] = s
		}
	}
	for i := range 16 {
		for j := range 16 {
			var s float32
			for k := range 64 {
				s += float32(t[i][k] * dctMatrix[j][k])
			}
			out[i][j] = s
		}
	}
	return out
}

// pdqBits sets bit i*16+j for each coefficient above the median (the
// 128th smallest, as Torben's median returns) and formats the 16 words of
// 16 bits from the highest as hex, as Hash256::format does.
func pdqBits(c *[16][16]float32) string {
	flat := make([]float32, 0, 256)
	for i := range 16 {
		flat = append(flat, c[i][:]...)
	}
	sorted := slices.Clone(flat)
	slices.Sort(sorted)
	median := sorted[127]
	var words [16]uint16
	for k, v := range flat {
		if v > median {
			words[k>>4] |= 1 << (k & 15)
		}
	}
	var b [32]byte
	for w := range 16 {
		b[2*w] = byte(words[15-w] >> 8)
		b[2*w+1] = byte(words[15-w])
	}
	return hex.EncodeToString(b[:])
}
