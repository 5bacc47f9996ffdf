// Package ioc extracts indicators of compromise from a file's bytes: URLs,
// domains, email addresses, IPv4/IPv6 addresses, and Telegram bot tokens
// and chat ids, the places phishing kits send what they steal. It looks in
// the plain text and in every string analyzers/decode peels out of it, and
// records the decode chain of each find.
//
// Indicators are data: nothing here resolves, fetches or contacts anything.
//
// Memory is bounded whatever the file size. The Sink analyses the first
// MaxBytes of a file (64 MiB by default; the rest is ignored and the
// result marked Truncated) in windows of Window bytes (1 MiB). Each window
// reaches Overlap (64 KiB) into the next and starts Lookback (4 KiB)
// before the first byte it reports on, so anything shorter than 64 KiB is
// seen whole in exactly one window; an encoded string longer than that
// which straddles a window edge is decoded from its first window only. It
// keeps at most MaxIndicators, and decodes at most Decode.MaxOutput bytes
// per file (1 MiB).
package ioc

import (
	"slices"
	"strings"

	"dewar/analyzers/decode"
)

// Name names this analysis in records of which analyses ran.
const Name = "ioc"

// Version changes whenever the same bytes can give other indicators, so
// stored results can be recomputed. Indicators depend on decoding too, so
// it moves with decode.Version: bump the last digits for changes here.
const Version = decode.Version*1000 + 1

// Type is the kind of an indicator.
type Type string

// Indicator types.
const (
	URL           Type = "url"
	Domain        Type = "domain"
	Email         Type = "email"
	IP            Type = "ip"
	TelegramToken Type = "telegram-token"
	TelegramChat  Type = "telegram-chat"
)

// IP classes, in Indicator.Class.
const (
	Public        = "public"
	Private       = "private"       // RFC 1918, fc00::/7
	Loopback      = "loopback"      // 127/8, ::1
	LinkLocal     = "link-local"    // 169.254/16, fe80::/10
	Multicast     = "multicast"     // 224/4, ff00::/8
	Unspecified   = "unspecified"   // 0.0.0.0, ::
	Documentation = "documentation" // 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32
	Reserved      = "reserved"      // 0/8, 100.64/10, 192.0.0/24, 198.18/15, 240/4, 100::/64
)

// Indicator is one indicator found in a file.
type Indicator struct {
	Type Type
	// Value is normalised: URLs refanged with scheme and host lowercased,
	// domains lowercased, email domains lowercased (the local part keeps
	// its case), IPs in netip form, chat ids as written ("-100123...",
	// "@channel").
	Value string
	// Class is the range of an IP (Public, Private, ...); empty otherwise.
	Class string
	// Offset is where the indicator starts in the file; for a decoded one,
	// where the outermost encoded string it came from starts.
	Offset int64
	// Context is the indicator (its first 256 bytes when longer) with up
	// to ContextBytes of text on each side, from the text it was found in (decoded text when Chain is
	// set), control characters blanked.
	Context string
	// Chain is the decode chain (decode.Decoded.Chain), empty when the
	// indicator was in the plain text.
	Chain []string
}

// Result is what a Sink found.
type Result struct {
	Indicators []Indicator // sorted by Offset, then Type, then Value
	// Truncated is set when a limit (MaxBytes, MaxIndicators) stopped the
	// analysis before the end; decode's output cap does not set it.
	Truncated bool
}

// Defaults for the zero Options.
const (
	DefaultWindow        = 1 << 20
	DefaultMaxBytes      = 64 << 20
	DefaultMaxIndicators = 10000
	// Overlap is how far a window reaches into the next one, so an
	// indicator or encoded string starting near a window's end is seen
	// whole; Lookback is how far a window starts before the first byte it
	// reports on, so one cut by the window's start is not reported cut.
	Overlap      = 64 << 10
	Lookback     = 4 << 10
	ContextBytes = 40
	maxValue     = 2048 // longest URL kept; longer ones are cut here
	maxContext   = 256  // longest match shown whole in a Context
)

// Options bound a Sink. Zero fields take the defaults.
type Options struct {
	Window        int   // bytes analysed at once; at least 2*(Overlap+Lookback)
	MaxBytes      int64 // bytes analysed from the start of a file; the rest is ignored
	MaxIndicators int   // distinct indicators kept per file
	// Decode bounds decoding; its MaxOutput is a budget for the whole file.
	Decode decode.Options
}

func (o Options) withDefaults() Options {
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	o.Window = max(o.Window, 2*(Overlap+Lookback))
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxIndicators <= 0 {
		o.MaxIndicators = DefaultMaxIndicators
	}
	if o.Decode.MaxOutput <= 0 {
		o.Decode.MaxOutput = decode.DefaultMaxOutput
	}
	return o
}

// Sink extracts indicators from what is written to it. Write the whole
// file, then call Result once.
type Sink struct {
	opts       Options
	buf        []byte
	base       int64 // file offset of buf[0]
	from       int   // buf[from:] has not been reported on
	seen       int64 // bytes written and kept
	decodeLeft int
	truncated  bool
	done       bool
	found      map[key]struct{}
	out        []Indicator
}

type key struct {
	t            Type
	value, chain string
}

// New returns an empty Sink.
func New(opts Options) *Sink {
	opts = opts.withDefaults()
	return &Sink{opts: opts, decodeLeft: opts.Decode.MaxOutput, found: map[key]struct{}{}}
}

// Write never fails. Bytes beyond MaxBytes are dropped and mark the
// result truncated.
func (s *Sink) Write(p []byte) (int, error) {
	n := len(p)
	if s.done {
		return n, nil
	}
	if room := s.opts.MaxBytes - s.seen; int64(len(p)) > room {
		p = p[:room]
		s.truncated = true
	}
	s.seen += int64(len(p))
	for len(p) > 0 {
		take := min(len(p), s.opts.Window-len(s.buf))
		s.buf = append(s.buf, p[:take]...)
		p = p[take:]
		if len(s.buf) == s.opts.Window {
			cut := s.opts.Window - Overlap
			s.analyse(cut)
			keep := cut - Lookback
			s.buf = s.buf[:copy(s.buf, s.buf[keep:])]
			s.base += int64(keep)
			s.from = Lookback
		}
	}
	return n, nil
}

// Result analyses what is left and returns everything found.
func (s *Sink) Result() Result {
	if !s.done {
		s.analyse(len(s.buf))
		s.buf, s.done = nil, true
		slices.SortStableFunc(s.out, func(a, b Indicator) int {
			if a.Offset != b.Offset {
				return int(min(max(a.Offset-b.Offset, -1), 1))
			}
			if c := strings.Compare(string(a.Type), string(b.Type)); c != 0 {
				return c
			}
			return strings.Compare(a.Value, b.Value)
		})
	}
	return Result{Indicators: s.out, Truncated: s.truncated}
}

// Extract is a Sink fed data at once.
func Extract(data []byte, opts Options) Result {
	s := New(opts)
	s.Write(data)
	return s.Result()
}

// analyse reports on indicators starting in buf[s.from:to], looking at all
// of buf.
func (s *Sink) analyse(to int) {
	w := s.buf
	if s.from >= to {
		return
	}
	x := &extractor{sink: s}
	x.text(w, s.from, to, nil, -1)
	if s.decodeLeft <= 0 {
		return
	}
	o := s.opts.Decode
	o.MaxOutput = s.decodeLeft
	for _, d := range decode.Decode(w, o) {
		if d.Offset < s.from || d.Offset >= to {
			continue
		}
		s.decodeLeft -= len(d.Text)
		x.text(d.Text, 0, len(d.Text), d.Chain, s.base+int64(d.Offset))
	}
}

// add records a new indicator under its key, (type, value, chain).
func (s *Sink) add(k key, in Indicator) {
	if len(s.out) >= s.opts.MaxIndicators {
		s.truncated = true
		return
	}
	s.found[k] = struct{}{}
	s.out = append(s.out, in)
}
