package tlsh

import (
	"bytes"
	"fmt"
)

// input is one deterministic test file.
type input struct {
	name string
	data []byte
}

// rng is splitmix64: deterministic on every platform and Go version.
type rng uint64

func (r *rng) next() uint64 {
	*r += 0x9e3779b97f4a7c15
	z := uint64(*r)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func binary(seed uint64, n int) []byte {
	r := rng(seed)
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.next() >> 56)
	}
	return b
}

var words = []string{"the", "login", "password", "bank", "verify", "account", "<?php", "echo", "$_POST", "mail(",
	"function", "return", "if", "else", "{", "}", "header(\"Location:", "https://example.com/", "user", "submit",
	"<div class=\"form\">", "</div>", "\n", "\t", "token", "chat_id", "base64_decode(", "session", "cookie", "ip"}

func text(seed uint64, n int) []byte {
	r := rng(seed)
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.next()%uint64(len(words))])
		b.WriteByte(' ')
	}
	return b.Bytes()[:n]
}

// mutate returns a copy of b with k bytes overwritten at spread positions.
func mutate(b []byte, seed uint64, k int) []byte {
	r := rng(seed)
	out := bytes.Clone(b)
	for range k {
		out[r.next()%uint64(len(out))] = byte(r.next())
	}
	return out
}

// inputs are the files every golden test hashes: the size edges (0, 1,
// 49, 50, 4095, 4096 bytes), text, binary, runs, and near-copies for
// similarity scores.
func inputs() []input {
	var in []input
	for _, n := range []int{0, 1, 2, 3, 7, 49, 50, 51, 255, 256, 257, 4095, 4096, 4097} {
		in = append(in, input{fmt.Sprintf("text%d", n), text(uint64(n), n)})
	}
	for _, n := range []int{49, 50, 4095, 4096} {
		in = append(in, input{fmt.Sprintf("bin%d", n), binary(uint64(n), n)})
	}
	base := text(7, 100<<10)
	in = append(in,
		input{"text10k", text(1, 10<<10)},
		input{"text100k", base},
		input{"text100k-mut10", mutate(base, 1, 10)},
		input{"text100k-mut500", mutate(base, 2, 500)},
		input{"text100k-append", append(bytes.Clone(base), text(9, 20<<10)...)},
		input{"text100k-half", base[:50<<10]},
		input{"text1m", text(11, 1<<20)},
		input{"bin64k", binary(3, 64<<10)},
		input{"bin3m", binary(4, 3<<20)},
		input{"zeros10k", make([]byte, 10<<10)},
		input{"runs", bytes.Repeat([]byte("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB"), 400)},
	)
	// Few distinct bytes give few distinct triplets: around the point
	// where TLSH finds too little variety to hash.
	for _, k := range []int{2, 3, 4, 5, 6, 8} {
		r := rng(uint64(k))
		b := make([]byte, 2000)
		for i := range b {
			b[i] = 'a' + byte(r.next()%uint64(k))
		}
		in = append(in, input{fmt.Sprintf("alphabet%d", k), b})
	}
	return in
}
