// Package gateway is Dewar's core service, with no HTTP and no S3 types:
// the names of Dewar's own buckets, submission (a job and its place in the
// queue in one step), release and notes, and the views of jobs and files
// that the S3 gateway, the JSON API and the command line all show.
package gateway

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"dewar/cas"
	"dewar/index"
)

// Index is what the gateway needs of the index.
type Index interface {
	index.Index
	index.Ingest
	index.Search
}

// BucketNames are the names of Dewar's four own buckets (configurable).
type BucketNames struct {
	IncomingKnownGood string
	IncomingOther     string
	Samples           string
	Jobs              string
}

// DefaultBucketNames are the names DESIGN.md uses.
func DefaultBucketNames() BucketNames {
	return BucketNames{
		IncomingKnownGood: "incoming-knowngood",
		IncomingOther:     "incoming-other",
		Samples:           "samples",
		Jobs:              "jobs",
	}
}

// BucketKind says how Dewar treats a bucket.
type BucketKind int

// Bucket kinds.
const (
	Ordinary BucketKind = iota
	IncomingKnownGood
	IncomingOther
	Samples
	Jobs
)

// Kind classifies a bucket name.
func (b BucketNames) Kind(bucket string) BucketKind {
	switch bucket {
	case b.IncomingKnownGood:
		return IncomingKnownGood
	case b.IncomingOther:
		return IncomingOther
	case b.Samples:
		return Samples
	case b.Jobs:
		return Jobs
	default:
		return Ordinary
	}
}

// Incoming reports whether k is one of the incoming buckets.
func (k BucketKind) Incoming() bool { return k == IncomingKnownGood || k == IncomingOther }

// All returns the four names.
func (b BucketNames) All() []string {
	return []string{b.IncomingKnownGood, b.IncomingOther, b.Samples, b.Jobs}
}

// Options configure a Service.
type Options struct {
	Store   cas.Store
	Index   Index
	Buckets BucketNames
	Logger  *slog.Logger
	// Notify is called after a job is queued, to wake idle workers.
	Notify func()
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service is the core.
type Service struct {
	store   cas.Store
	idx     Index
	buckets BucketNames
	log     *slog.Logger
	notify  func()
	now     func() time.Time

	manifests manifestCache
}

// New returns a Service and makes sure Dewar's buckets exist in the index
// (so multipart uploads into the incoming buckets have a bucket row).
func New(ctx context.Context, o Options) (*Service, error) {
	if o.Store == nil || o.Index == nil {
		return nil, errors.New("gateway: Options need Store and Index")
	}
	if o.Buckets == (BucketNames{}) {
		o.Buckets = DefaultBucketNames()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Notify == nil {
		o.Notify = func() {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Service{store: o.Store, idx: o.Index, buckets: o.Buckets, log: o.Logger, notify: o.Notify, now: o.Now,
		manifests: manifestCache{m: map[string]manifestCached{}}}
	for _, name := range o.Buckets.All() {
		err := s.idx.CreateBucket(ctx, index.Bucket{Name: name, Owner: "dewar", CreatedAt: s.Now()})
		if err != nil && !errors.Is(err, index.ErrBucketExists) {
			return nil, err
		}
	}
	return s, nil
}

// Buckets returns the configured names.
func (s *Service) Buckets() BucketNames { return s.buckets }

// Now is the service clock in the index's resolution (UTC, milliseconds).
func (s *Service) Now() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// Index returns the index (for read-only views elsewhere in the gateway).
func (s *Service) Index() Index { return s.idx }

// Store returns the content store.
func (s *Service) Store() cas.Store { return s.store }

// SetNotify replaces the function called when a job is queued (the
// ingestion runner is built after the service).
func (s *Service) SetNotify(fn func()) { s.notify = fn }
