package analyze

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// repeater yields b over and over.
type repeater struct {
	b   []byte
	off int
}

func (r *repeater) Read(p []byte) (int, error) {
	n := copy(p, r.b[r.off:])
	r.off = (r.off + n) % len(r.b)
	return n, nil
}

// peakHeap runs fn while sampling the live heap, and returns the highest
// sample above the heap before fn.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > base && m.HeapAlloc-base > peak.Load() {
					peak.Store(m.HeapAlloc - base)
				}
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	return peak.Load()
}

// TestAnalyzeMemory: the live heap during the analysis of a big file stays
// within the analyzers' caps (a few MiB of windows and buffers plus the
// collected tokens and indicators), far below the file's size.
func TestAnalyzeMemory(t *testing.T) {
	var kit bytes.Buffer
	for i := 0; kit.Len() < 1<<20; i++ {
		kit.Write(kitPHP(i))
		kit.Write(randomBytes(3000, uint64(i))) // binary runs: decode candidates, noise
	}
	const size = 80 << 20 // past the IOC (64 MiB) and token (8 MiB) caps
	tests := []struct{ name, mime string }{{"text", "text/x-php"}, {"archive", "application/zip"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peak := peakHeap(func() {
				a, err := Analyze(context.Background(), io.LimitReader(&repeater{b: kit.Bytes()}, size), tt.mime, Options{})
				if err != nil || a.SSDeep == "" {
					t.Errorf("%+v %v", a.SSDeep, err)
				}
			})
			t.Logf("%s: peak live heap %.1f MiB for a %d MiB file", tt.name, float64(peak)/(1<<20), size>>20)
			if peak > 32<<20 {
				t.Fatalf("peak live heap %d MiB for a %d MiB file", peak>>20, size>>20)
			}
		})
	}
}
