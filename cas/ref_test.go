package cas_test

import (
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"dewar/cas"
)

// The sha256 of "abc", from FIPS 180-2.
const abcHex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string // canonical String(); empty when an error is expected
		wantErr bool
	}{
		{name: "lower", in: abcHex, want: abcHex},
		{name: "upper", in: strings.ToUpper(abcHex), want: abcHex},
		{name: "mixed", in: "BA7816bf" + abcHex[8:], want: abcHex},
		{name: "empty", in: "", wantErr: true},
		{name: "short", in: abcHex[:63], wantErr: true},
		{name: "long", in: abcHex + "0", wantErr: true},
		{name: "sha1 length", in: abcHex[:40], wantErr: true},
		{name: "non-hex", in: "g" + abcHex[1:], wantErr: true},
		{name: "space", in: " " + abcHex[1:], wantErr: true},
		{name: "prefix", in: "sha256:" + abcHex[7:], wantErr: true},
		{name: "multibyte", in: "é" + abcHex[2:], wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := cas.Parse(tt.in)
			if tt.wantErr {
				if !errors.Is(err, cas.ErrBadRef) {
					t.Fatalf("Parse(%q) error = %v, want ErrBadRef", tt.in, err)
				}
				if !r.IsZero() {
					t.Errorf("Parse(%q) returned non-zero Ref %s with an error", tt.in, r)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := r.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRefString(t *testing.T) {
	r := cas.Sum([]byte("abc"))
	if got := r.String(); got != abcHex {
		t.Errorf("Sum(abc).String() = %q, want %q", got, abcHex)
	}
	if got := cas.MustParse(abcHex); got != r {
		t.Errorf("MustParse(String()) = %s, want %s", got, r)
	}
	want := sha256.Sum256([]byte("abc"))
	if got := r.Digest(); got != want {
		t.Errorf("Digest() = %x, want %x", got, want)
	}
	b := r.Bytes()
	b[0] ^= 0xff
	if r.Digest() != want {
		t.Error("Bytes() returned the Ref's own storage, not a copy")
	}
	fb, err := cas.RefFromBytes(want[:])
	if err != nil || fb != r {
		t.Errorf("RefFromBytes = %s, %v; want %s", fb, err, r)
	}
	if _, err := cas.RefFromBytes(want[:31]); err == nil {
		t.Error("RefFromBytes of 31 bytes succeeded")
	}
	if cas.RefOf(want) != r {
		t.Error("RefOf(digest) != Sum")
	}
	if (cas.Ref{}).IsZero() != true || r.IsZero() {
		t.Error("IsZero wrong")
	}
	sr := cas.SizedRef{Ref: r, Size: 3}
	if got := sr.String(); got != abcHex+":3" {
		t.Errorf("SizedRef.String() = %q", got)
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParse of bad input did not panic")
		}
	}()
	cas.MustParse("nope")
}

func TestRefJSON(t *testing.T) {
	type doc struct {
		A cas.Ref  `json:"a"`
		B cas.Ref  `json:"b"`
		C *cas.Ref `json:"c,omitempty"`
	}
	in := doc{A: cas.Sum([]byte("abc"))}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":"` + abcHex + `","b":""}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Errorf("round trip = %+v, want %+v", out, in)
	}

	// Upper case is accepted on input and canonicalised on output.
	if err := json.Unmarshal([]byte(`{"a":"`+strings.ToUpper(abcHex)+`"}`), &out); err != nil || out.A != in.A {
		t.Errorf("upper-case JSON: %v, %s", err, out.A)
	}
	for _, bad := range []string{`{"a":"abc"}`, `{"a":"` + abcHex + `0"}`, `{"a":12}`} {
		if err := json.Unmarshal([]byte(bad), &out); err == nil {
			t.Errorf("Unmarshal(%s) succeeded", bad)
		}
	}
	if err := json.Unmarshal([]byte(`{"a":"xyz"}`), &out); !errors.Is(err, cas.ErrBadRef) {
		t.Errorf("Unmarshal bad hex: error %v does not wrap ErrBadRef", err)
	}
}

func TestRefSQL(t *testing.T) {
	r := cas.Sum([]byte("abc"))
	var _ driver.Valuer = r
	var _ sql.Scanner = &r

	v, err := r.Value()
	if err != nil || v != abcHex {
		t.Errorf("Value() = %v, %v; want %q", v, err, abcHex)
	}
	if v, err := (cas.Ref{}).Value(); err != nil || v != nil {
		t.Errorf("zero Value() = %v, %v; want nil (NULL)", v, err)
	}

	tests := []struct {
		name    string
		src     any
		want    cas.Ref
		wantErr bool
	}{
		{name: "string", src: abcHex, want: r},
		{name: "bytes", src: []byte(abcHex), want: r},
		{name: "upper", src: strings.ToUpper(abcHex), want: r},
		{name: "null", src: nil, want: cas.Ref{}},
		{name: "empty", src: "", want: cas.Ref{}},
		{name: "bad hex", src: "zz", wantErr: true},
		{name: "int", src: int64(5), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cas.Sum([]byte("something else")) // Scan must overwrite
			err := got.Scan(tt.src)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Scan(%v) succeeded", tt.src)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Scan(%v) = %s, %v; want %s", tt.src, got, err, tt.want)
			}
		})
	}
}

func TestRefLess(t *testing.T) {
	var refs []cas.Ref
	for i := range 200 {
		refs = append(refs, cas.Sum([]byte{byte(i), byte(i >> 8)}))
	}
	refs = append(refs, cas.Ref{}, cas.MustParse(strings.Repeat("f", 64)), cas.MustParse(strings.Repeat("0", 63)+"1"))
	for _, a := range refs {
		if a.Less(a) {
			t.Fatalf("%s.Less(itself)", a)
		}
		for _, b := range refs {
			if got, want := a.Less(b), a.String() < b.String(); got != want {
				t.Fatalf("%s.Less(%s) = %v, hex order says %v", a, b, got, want)
			}
		}
	}
	sorted := slices.Clone(refs)
	slices.SortFunc(sorted, func(a, b cas.Ref) int {
		switch {
		case a.Less(b):
			return -1
		case b.Less(a):
			return 1
		}
		return 0
	})
	if !sorted[0].IsZero() {
		t.Errorf("zero Ref does not sort first: %s", sorted[0])
	}
}

func TestRefMapKey(t *testing.T) {
	m := map[cas.Ref]int{}
	m[cas.Sum([]byte("abc"))] = 1
	m[cas.MustParse(strings.ToUpper(abcHex))]++
	m[cas.Sum([]byte("abd"))] = 7
	if len(m) != 2 || m[cas.MustParse(abcHex)] != 2 {
		t.Errorf("map = %v, want the two spellings of one Ref to share a key", m)
	}
}
