package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"strings"
)

// kitGen writes deterministic files that look like the contents of a
// phishing kit: PHP, JavaScript, HTML and CSS with the identifiers,
// literals, indicators (mail drops, gates, Telegram bots, IPs) and
// base64 blobs real kits carry, so text compresses about as real code
// does (deflate 3-5x, not the 10x+ of a repeated word list), and
// decodable PNG and JPEG images, which the image analyzers really decode.
type kitGen struct {
	r *rand.Rand
}

func newKitGen(seed uint64) *kitGen {
	return &kitGen{r: rand.New(rand.NewPCG(seed, 0x6b697467656e))}
}

var kitWords = strings.Fields(`user session config render template widget plugin theme cache option request
	response handler module filter action query post page media upload comment author category taxonomy
	archive feed search admin login logout token nonce hash escape sanitize format locale translate asset
	script style account billing card verify secure update confirm password email address phone country
	city zip state expiry cvv holder bank pin otp code submit redirect result mailer send victim visitor
	agent browser device block allow bot crawler geo lookup ip list item data value field input form
	button label error notice message status header footer sidebar menu nav link image icon logo banner`)

var kitTLDs = []string{"com", "net", "org", "info", "xyz", "top", "online", "site", "ru", "br", "co.uk", "de"}

func (g *kitGen) word() string { return kitWords[g.r.IntN(len(kitWords))] }

// ident is an identifier as code has them: words joined, sometimes with
// a number or a random suffix (minified or generated names).
func (g *kitGen) ident() string {
	switch g.r.IntN(6) {
	case 0:
		return g.word() + "_" + g.word()
	case 1:
		return g.word() + strings.ToUpper(g.word()[:1]) + g.word()[1:]
	case 2:
		return fmt.Sprintf("%s%d", g.word(), g.r.IntN(100))
	case 3:
		return g.randName(2 + g.r.IntN(6))
	default:
		return g.word()
	}
}

const identChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"

func (g *kitGen) randName(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = identChars[g.r.IntN(len(identChars))]
	}
	return string(b)
}

func (g *kitGen) hex(n int) string {
	b := make([]byte, (n+1)/2)
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return fmt.Sprintf("%x", b)[:n]
}

func (g *kitGen) domain() string {
	return fmt.Sprintf("%s-%s%d.%s", g.word(), g.word(), g.r.IntN(1000), kitTLDs[g.r.IntN(len(kitTLDs))])
}

func (g *kitGen) email() string {
	return fmt.Sprintf("%s.%s%d@%s", g.word(), g.word(), g.r.IntN(100), g.domain())
}

func (g *kitGen) url() string {
	return fmt.Sprintf("https://%s/%s/%s.php?id=%s", g.domain(), g.word(), g.ident(), g.hex(8))
}

func (g *kitGen) ip() string {
	return fmt.Sprintf("%d.%d.%d.%d", 1+g.r.IntN(223), g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254))
}

// literal is a string literal: words, an indicator now and then, or an
// encoded blob.
func (g *kitGen) literal() string {
	switch x := g.r.IntN(40); {
	case x == 0:
		return g.email()
	case x == 1:
		return g.url()
	case x == 2:
		return g.ip()
	case x == 3:
		return fmt.Sprintf("%d:AA%s", 1000000000+g.r.IntN(999999999), g.randName(33))
	case x == 4:
		raw := make([]byte, 24+g.r.IntN(120))
		for i := range raw {
			if g.r.IntN(3) == 0 {
				raw[i] = byte(g.r.Uint32())
			} else {
				raw[i] = g.word()[0]
			}
		}
		return base64.StdEncoding.EncodeToString(raw)
	case x < 12:
		return g.hex(8 + g.r.IntN(32))
	case x < 20:
		return fmt.Sprintf("%s %s %s", g.word(), g.word(), g.word())
	default:
		return g.ident()
	}
}

// php writes about size bytes of PHP.
func (g *kitGen) php(size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<?php\n/**\n * %s %s\n * @package %s\n * @version %d.%d.%d\n */\n\nif (!defined('ABSPATH')) { exit; }\n\n",
		g.word(), g.word(), g.ident(), g.r.IntN(9), g.r.IntN(20), g.r.IntN(40))
	for b.Len() < size {
		fn := g.ident()
		fmt.Fprintf(&b, "function %s($%s, $%s = %s) {\n", fn, g.ident(), g.ident(), []string{"null", "array()", "''", "0", "false"}[g.r.IntN(5)])
		for range 2 + g.r.IntN(10) {
			switch g.r.IntN(7) {
			case 0:
				fmt.Fprintf(&b, "\tif (isset($_POST['%s']) && $_POST['%s'] !== '') {\n\t\t$%s = trim($_POST['%s']);\n\t}\n", g.word(), g.word(), g.ident(), g.word())
			case 1:
				fmt.Fprintf(&b, "\t$%s = apply_filters('%s_%s', $%s, %d);\n", g.ident(), g.word(), g.word(), g.ident(), g.r.IntN(1000))
			case 2:
				fmt.Fprintf(&b, "\t$%s['%s'] = \"%s\";\n", g.ident(), g.word(), g.literal())
			case 3:
				fmt.Fprintf(&b, "\tforeach ($%s as $%s => $%s) {\n\t\t$%s .= sprintf('%%s=%%s&', $%s, urlencode($%s));\n\t}\n", g.ident(), g.word(), g.word(), g.ident(), g.word(), g.word())
			case 4:
				fmt.Fprintf(&b, "\t// %s %s %s %s\n", g.word(), g.word(), g.word(), g.word())
			case 5:
				fmt.Fprintf(&b, "\t$%s = '%s';\n", g.ident(), g.literal())
			default:
				fmt.Fprintf(&b, "\treturn %s($%s, '%s');\n", g.ident(), g.ident(), g.literal())
			}
		}
		b.WriteString("}\n\n")
	}
	return b.Bytes()
}

// js writes about size bytes of JavaScript.
func (g *kitGen) js(size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "/*! %s v%d.%d.%d | (c) %s */\n(function ($, window, document) {\n\t'use strict';\n", g.ident(), g.r.IntN(5), g.r.IntN(20), g.r.IntN(30), g.word())
	for b.Len() < size {
		switch g.r.IntN(6) {
		case 0:
			fmt.Fprintf(&b, "\tfunction %s(%s, %s) {\n\t\tvar %s = document.querySelector('.%s-%s');\n\t\tif (!%s) { return %d; }\n\t\t%s.addEventListener('%s', function (e) { e.preventDefault(); %s(%s); });\n\t}\n",
				g.ident(), g.ident(), g.ident(), g.ident(), g.word(), g.word(), g.ident(), g.r.IntN(10), g.ident(), []string{"click", "submit", "keyup", "change"}[g.r.IntN(4)], g.ident(), g.ident())
		case 1:
			fmt.Fprintf(&b, "\tvar %s = {%s: '%s', %s: %d, %s: \"%s\"};\n", g.ident(), g.word(), g.literal(), g.word(), g.r.IntN(100000), g.word(), g.literal())
		case 2:
			fmt.Fprintf(&b, "\t$.ajax({url: '%s', type: 'POST', data: {%s: $('#%s').val(), %s: $('#%s').val()}, success: function (r) { window.location.href = '%s'; }});\n",
				g.url(), g.word(), g.word(), g.word(), g.word(), g.url())
		case 3:
			fmt.Fprintf(&b, "\t%s.prototype.%s = function (%s) { return this.%s.%s(%s) || '%s'; };\n", g.ident(), g.ident(), g.ident(), g.word(), g.ident(), g.ident(), g.literal())
		case 4:
			// a minified stretch
			for range 4 + g.r.IntN(8) {
				fmt.Fprintf(&b, "var %s=%s(%s,%d),%s=%s.%s||\"%s\";", g.randName(1+g.r.IntN(2)), g.randName(1+g.r.IntN(2)), g.randName(1), g.r.IntN(4096), g.randName(2), g.randName(1), g.word(), g.literal())
			}
			b.WriteByte('\n')
		default:
			fmt.Fprintf(&b, "\t// %s %s %s\n", g.word(), g.word(), g.word())
		}
	}
	b.WriteString("})(jQuery, window, document);\n")
	return b.Bytes()
}

// css writes about size bytes of CSS.
func (g *kitGen) css(size int) []byte {
	var b bytes.Buffer
	for b.Len() < size {
		fmt.Fprintf(&b, ".%s-%s %s.%s, #%s { margin: %dpx %dpx; padding: %d%%; color: #%06x; background: url(../img/%s-%s.png) no-repeat; font: %dpx/%.1f %s, sans-serif; }\n",
			g.word(), g.word(), []string{"div", "a", "span", "li", "input"}[g.r.IntN(5)], g.word(), g.ident(), g.r.IntN(40), g.r.IntN(40), g.r.IntN(100),
			g.r.IntN(1<<24), g.word(), g.hex(6), 10+g.r.IntN(20), 1+g.r.Float64(), g.word())
		if g.r.IntN(8) == 0 {
			fmt.Fprintf(&b, "@media (max-width: %dpx) { .%s { display: %s; } }\n", 320+g.r.IntN(1200), g.ident(), []string{"none", "block", "flex"}[g.r.IntN(3)])
		}
	}
	return b.Bytes()
}

// html writes about size bytes of HTML: a login or billing page.
func (g *kitGen) html(size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>%s %s</title>\n<link rel=\"stylesheet\" href=\"css/%s.css?v=%s\">\n<script src=\"js/%s.js\"></script></head>\n<body class=\"%s\">\n",
		g.word(), g.word(), g.word(), g.hex(8), g.ident(), g.word())
	for b.Len() < size {
		switch g.r.IntN(4) {
		case 0:
			fmt.Fprintf(&b, "<form method=\"post\" action=\"%s.php\" id=\"%s\">\n", g.word(), g.ident())
			for range 2 + g.r.IntN(5) {
				fmt.Fprintf(&b, "  <div class=\"%s-%s\"><label for=\"%s\">%s %s</label><input type=\"%s\" name=\"%s\" id=\"%s\" placeholder=\"%s\" required></div>\n",
					g.word(), g.word(), g.word(), g.word(), g.word(), []string{"text", "email", "password", "tel"}[g.r.IntN(4)], g.word(), g.ident(), g.word())
			}
			fmt.Fprintf(&b, "  <input type=\"hidden\" name=\"%s\" value=\"%s\"><button type=\"submit\">%s</button>\n</form>\n", g.word(), g.hex(32), g.word())
		case 1:
			fmt.Fprintf(&b, "<p class=\"%s\">%s %s %s %s %s. <a href=\"%s\">%s</a></p>\n", g.word(), g.word(), g.word(), g.word(), g.word(), g.word(), g.url(), g.word())
		case 2:
			fmt.Fprintf(&b, "<div id=\"%s\" data-%s=\"%s\"><img src=\"img/%s.png\" alt=\"%s\" width=\"%d\"></div>\n", g.ident(), g.word(), g.literal(), g.word(), g.word(), 16+g.r.IntN(400))
		default:
			fmt.Fprintf(&b, "<!-- %s %s %s -->\n<ul class=\"%s\"><li><a href=\"#%s\">%s</a></li><li><a href=\"#%s\">%s</a></li></ul>\n", g.word(), g.word(), g.hex(12), g.word(), g.word(), g.word(), g.word(), g.word())
		}
	}
	b.WriteString("</body></html>\n")
	return b.Bytes()
}

// text writes a file of one of the four kinds, by weight.
func (g *kitGen) text(size int) (ext string, body []byte) {
	switch x := g.r.IntN(100); {
	case x < 50:
		return ".php", g.php(size)
	case x < 75:
		return ".js", g.js(size)
	case x < 88:
		return ".html", g.html(size)
	default:
		return ".css", g.css(size)
	}
}

// picture draws a w x h image: gradients and shapes with noise of the
// given amplitude (more noise, larger files).
func (g *kitGen) picture(w, h, noise int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	c0 := [3]float64{float64(g.r.IntN(256)), float64(g.r.IntN(256)), float64(g.r.IntN(256))}
	c1 := [3]float64{float64(g.r.IntN(256)), float64(g.r.IntN(256)), float64(g.r.IntN(256))}
	cx, cy, rad := g.r.IntN(w), g.r.IntN(h), 1+g.r.IntN(max(w, h)/2+1)
	fx := 2 * math.Pi * (0.5 + 3*g.r.Float64()) / float64(w)
	for y := range h {
		for x := range w {
			t := (float64(x)/float64(w) + float64(y)/float64(h)) / 2
			var px [3]uint8
			for i := range px {
				v := c0[i]*(1-t) + c1[i]*t + 30*math.Sin(fx*float64(x)+float64(i))
				if (x-cx)*(x-cx)+(y-cy)*(y-cy) < rad*rad {
					v = 255 - v
				}
				if noise > 0 {
					v += float64(g.r.IntN(2*noise+1) - noise)
				}
				px[i] = uint8(max(0, min(255, v)))
			}
			img.Pix[y*img.Stride+4*x], img.Pix[y*img.Stride+4*x+1], img.Pix[y*img.Stride+4*x+2], img.Pix[y*img.Stride+4*x+3] = px[0], px[1], px[2], 255
		}
	}
	return img
}

// image writes a PNG (icons, logos) or a JPEG (photos, backgrounds).
func (g *kitGen) image() (ext string, body []byte) {
	var b bytes.Buffer
	if g.r.IntN(3) == 0 {
		s := 16 << g.r.IntN(4) // 16..128 px
		_ = png.Encode(&b, g.picture(s, s, g.r.IntN(3)*4))
		return ".png", b.Bytes()
	}
	w := 300 + g.r.IntN(900)
	h := w * (2 + g.r.IntN(3)) / 4
	_ = jpeg.Encode(&b, g.picture(w, h, 8+g.r.IntN(24)), &jpeg.Options{Quality: 70 + g.r.IntN(25)})
	return ".jpg", b.Bytes()
}

// binary writes incompressible bytes behind a font's or icon's magic.
func (g *kitGen) binary(size int) (ext string, body []byte) {
	ext = []string{".woff", ".woff2", ".ico", ".ttf", ".eot"}[g.r.IntN(5)]
	magic := map[string]string{".woff": "wOFF", ".woff2": "wOF2", ".ico": "\x00\x00\x01\x00", ".ttf": "\x00\x01\x00\x00", ".eot": "LP"}[ext]
	body = make([]byte, size)
	copy(body, magic)
	for i := len(magic); i < size; i += 8 {
		v := g.r.Uint64()
		for j := 0; j < 8 && i+j < size; j++ {
			body[i+j] = byte(v >> (8 * j))
		}
	}
	return ext, body
}
