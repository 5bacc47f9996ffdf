package filestore

import (
	"sync"

	"dewar/cas"
)

// groupMaxSize is the largest blob whose commit joins a group commit.
// Bigger blobs are dominated by their own bytes reaching the disk and keep
// their own fsyncs, so a small upload never waits behind a large one's
// flush.
const groupMaxSize = 1 << 20

// groupCommit makes the commits of concurrent small uploads durable
// together: one filesystem sync for all their bytes, the links, then one
// sync for all the names — two syncs per group instead of two fsyncs per
// upload. The first committer to arrive leads a flush; those arriving
// during it wait and the first of them leads the next, so no leader works
// for others forever.
type groupCommit struct {
	mu       sync.Mutex
	pending  []*groupReq
	flushing bool
}

type groupReq struct {
	tmp        string
	ref        cas.Ref
	compressed bool
	created    bool
	err        error
	// turn says, when it fires, whether this request must lead the next
	// flush (true) or is done (false).
	turn chan bool
}

// commit links tmp to ref's name as part of a group and returns when the
// blob is durable.
func (g *groupCommit) commit(s *Store, tmp string, ref cas.Ref, compressed bool) (bool, error) {
	req := &groupReq{tmp: tmp, ref: ref, compressed: compressed, turn: make(chan bool, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, req)
	lead := !g.flushing
	if lead {
		g.flushing = true
	}
	g.mu.Unlock()
	for {
		if lead {
			g.lead(s)
		}
		if lead = <-req.turn; !lead {
			return req.created, req.err
		}
	}
}

// lead flushes what is pending, then hands the lead to the first waiter
// of the next group, if any.
func (g *groupCommit) lead(s *Store) {
	g.mu.Lock()
	batch := g.pending
	g.pending = nil
	g.mu.Unlock()

	err := s.syncFS() // every staged byte of the group is on disk
	if err == nil {
		for _, r := range batch {
			if r.err = s.mkShardNoSync(r.ref); r.err == nil {
				r.created, r.err = s.link(r.tmp, r.ref, r.compressed)
			}
		}
		err = s.syncFS() // and so are the names
	}
	for _, r := range batch {
		if err != nil && r.err == nil {
			r.err = err
		}
		r.turn <- false
	}

	g.mu.Lock()
	if len(g.pending) > 0 {
		g.pending[0].turn <- true // it leads the next group
	} else {
		g.flushing = false
	}
	g.mu.Unlock()
}
