// Package s3store is the s3:// content store: one object per blob in a
// bucket of an upstream S3 service (AWS S3, MinIO, Ceph RGW, or an ordinary
// bucket of another Dewar), so several dewar nodes can share one store.
//
// # Selection
//
//	s3://bucket/prefix?endpoint=http://host:port&region=…&path_style=true
//
// See ParseURL. Credentials come from the URL (access_key, secret_key,
// session_token) or else from the AWS SDK's default chain: the
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN environment
// variables first, then shared profiles, web identity and instance roles.
//
// # Layout
//
//	<prefix>/blobs/<hex[0:2]>/<hex[2:4]>/<hex>
//
// where hex is the lowercase sha256 of the blob and the object's body is
// the blob's bytes, uncompressed. The sharding is filestore's: a key sorts
// exactly as its Ref does, so Walk is one ListObjectsV2 from StartAfter;
// listing one shard is a cheap prefix listing; and S3, which partitions
// its request rate by key prefix, can spread a large store over 65,536
// prefixes. Keys under the prefix that do not have this shape are ignored.
//
// # Writes
//
// Stage spools the stream to a local temp file (Options.TempDir) while it
// hashes it, so nothing whose sha256 is unknown or wrong reaches upstream.
// Commit HEADs the key: an object of the staged size means the blob exists,
// and dedup saves the upload. Otherwise it uploads from the temp file, in
// one PUT up to Options.PartSize and as a multipart upload above it (parts
// read straight from the file, so memory does not grow with the blob). A
// single PUT carries x-amz-checksum-sha256 = the Ref, so the upstream itself
// refuses bytes that do not hash to the key; over plain HTTP the same
// digest signs the payload, so the body is not hashed a second time (over
// HTTPS the SDK sends it unsigned). Multipart parts carry CRC32 checksums
// (over HTTPS as aws-chunked trailers). A PUT or a multipart completion is
// atomic upstream, so a failed upload leaves no blob; a failed multipart
// upload is aborted. NewBatch overlaps the uploads of many small blobs.
//
// Uploads send If-None-Match: *. Upstreams that honour it (AWS S3, MinIO)
// answer a lost race with 412 and Commit reports created=false, so exactly
// one of several concurrent Commits reports creating the blob. Upstreams
// that ignore it (Dewar's own ordinary buckets) let the loser overwrite the
// object with identical bytes, and several may report created=true (see
// castest.WithLooseCreated). The temp file outlives Commit until Discard,
// so a later Commit re-creates a blob removed in between, which the index's
// reference-count protocol relies on. A process killed mid-upload can leave
// an unfinished multipart upload (never a blob): give the bucket an
// AbortIncompleteMultipartUpload lifecycle rule.
//
// # Retries
//
// Every request goes through the SDK's standard retryer: 5xx answers,
// throttling (503 SlowDown, 429), RequestTimeout and connection errors
// (refused, reset, timeouts) are retried with exponential backoff and
// jitter, up to Options.MaxAttempts, bounded by the SDK's retry token
// bucket so a dead upstream is not hammered. Upload bodies are
// io.SectionReaders over the temp file, which the SDK rewinds before each
// attempt. A Fetch whose body breaks mid-stream resumes with a ranged GET
// from the last byte read (If-Match the first answer's ETag), up to
// MaxAttempts-1 times.
//
// # Library
//
// The package uses github.com/aws/aws-sdk-go-v2 (service/s3), not
// minio-go: its retryer is configurable and rewinds seekable bodies; it
// lets a caller supply the payload hash and the x-amz-checksum-sha256 it
// already has; it has conditional writes (If-None-Match) on PutObject and
// CompleteMultipartUpload; its errors are typed (HTTP status, API code);
// and its credential chain is the one operators expect (environment,
// profiles, IRSA, instance roles). minio-go's PutObject buffers whole parts
// in memory (part size × parallelism per upload), which uploading parts
// as sections of the spooled file avoids. The SDK's transfer manager is
// not used for the same reason.
package s3store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"dewar/cas"
)

var _ cas.Store = (*Store)(nil)

// Sentinel errors, matched with errors.Is.
var (
	// ErrBadURL: ParseURL could not read the store URL.
	ErrBadURL = errors.New("s3store: bad store URL")
	// ErrNoSuchBucket: the bucket named by the URL does not exist upstream.
	ErrNoSuchBucket = errors.New("s3store: no such bucket")
	// ErrDiscarded is returned by Commit and ReadAt of a Staged after Discard.
	ErrDiscarded = errors.New("s3store: staged blob already discarded")
)

// Defaults and limits of Options.
const (
	DefaultPartSize        = 64 << 20
	MinPartSize            = 5 << 20 // S3's smallest part but the last
	maxParts               = 10000   // S3's most parts per upload
	DefaultPartConcurrency = 4
	DefaultMaxAttempts     = 5
	DefaultMaxBackoff      = 20 * time.Second
	DefaultBatchUploads    = 16
)

// staleTempAge is how old a temp file must be before Open removes it. A
// day is far longer than any upload, so only crash debris is swept.
const staleTempAge = 24 * time.Hour

// tempPattern names this package's temp files in Options.TempDir.
const tempPattern = "s3store-stage-*"

// Options tune a Store. The zero value gives the defaults.
type Options struct {
	// TempDir holds staged streams until they are discarded; it needs
	// room for every upload in flight. Default os.TempDir().
	TempDir string
	// PartSize is the multipart threshold and part size: blobs up to it
	// go up in one PUT, larger ones in parts of this size (grown when a
	// blob would need more than 10,000 parts). Default 64 MiB, at least
	// 5 MiB.
	PartSize int64
	// PartConcurrency is how many parts of one upload are in flight.
	// Default 4.
	PartConcurrency int
	// BatchUploads is how many blobs of one Batch upload at once.
	// Default 16.
	BatchUploads int
	// MaxAttempts caps the attempts of each request, the first included,
	// and a Fetch reader re-opens a broken body at most MaxAttempts-1
	// times. Default 5.
	MaxAttempts int
	// MaxBackoff caps the delay between attempts. Default 20s.
	MaxBackoff time.Duration
	// HTTPClient carries the requests (tests inject faults with it).
	// Default: the SDK's client, which honours AWS_CA_BUNDLE and proxies.
	HTTPClient *http.Client
}

// Store is a cas.Store in an upstream S3 bucket. It is safe for concurrent
// use, also by several processes and nodes sharing the bucket and prefix.
type Store struct {
	client *s3.Client
	cfg    Config
	blobs  string // key prefix of every blob: "<prefix>/blobs/"
	tmp    string
	opts   Options

	// listPage is ListObjectsV2's MaxKeys (0: the upstream's default,
	// 1000 on S3); tests shrink it to cross page boundaries.
	listPage int32
}

// Open parses rawURL (see ParseURL), connects to the bucket and checks
// that it exists and answers (HeadBucket), so a wrong URL or credentials
// fail at start rather than at the first upload. It removes temp files of
// this package older than a day from Options.TempDir (debris of crashes).
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	cfg, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if err := fillOptions(&opts); err != nil {
		return nil, err
	}
	client, err := newClient(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	s := &Store{client: client, cfg: cfg, blobs: joinKey(cfg.Prefix, "blobs/"), tmp: opts.TempDir, opts: opts}
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(cfg.Bucket)}); err != nil {
		if httpStatus(err) == http.StatusNotFound {
			return nil, fmt.Errorf("s3store: open %s: %w", cfg, ErrNoSuchBucket)
		}
		return nil, fmt.Errorf("s3store: open %s: %w", cfg, err)
	}
	if err := sweepTemp(opts.TempDir, time.Now().Add(-staleTempAge)); err != nil {
		return nil, fmt.Errorf("s3store: open: %w", err)
	}
	return s, nil
}

// Config returns the parsed store URL the store was opened with.
func (s *Store) Config() Config { return s.cfg }

func fillOptions(o *Options) error {
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	abs, err := filepath.Abs(o.TempDir)
	if err != nil {
		return fmt.Errorf("s3store: temp dir: %w", err)
	}
	o.TempDir = abs
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return fmt.Errorf("s3store: temp dir: %w", err)
	}
	switch {
	case o.PartSize == 0:
		o.PartSize = DefaultPartSize
	case o.PartSize < MinPartSize:
		return fmt.Errorf("s3store: part size %d is below S3's minimum of %d", o.PartSize, MinPartSize)
	}
	if o.PartConcurrency <= 0 {
		o.PartConcurrency = DefaultPartConcurrency
	}
	if o.BatchUploads <= 0 {
		o.BatchUploads = DefaultBatchUploads
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	return nil
}

// newClient builds the S3 client: the SDK's default configuration (for the
// credential chain and AWS_* settings) with the URL's region, endpoint,
// addressing and credentials on top, and the standard retryer tuned by
// opts.
func newClient(ctx context.Context, cfg Config, opts Options) (*s3.Client, error) {
	load := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = opts.MaxAttempts
				o.MaxBackoff = opts.MaxBackoff
			})
		}),
	}
	if cfg.Region != "" {
		load = append(load, config.WithRegion(cfg.Region))
	}
	if cfg.AccessKey != "" {
		load = append(load, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken)))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("s3store: aws configuration: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = "us-east-1" // what MinIO and most S3 servers sign with
	}
	// Keep a connection per upload a Batch or a multipart upload may have
	// in flight (the SDK keeps 10 per host), so bursts do not churn TCP.
	if awsCfg.HTTPClient == nil {
		awsCfg.HTTPClient = awshttp.NewBuildableClient()
	}
	if bc, ok := awsCfg.HTTPClient.(*awshttp.BuildableClient); ok {
		idle := max(opts.BatchUploads, opts.PartConcurrency) * 2
		awsCfg.HTTPClient = bc.WithTransportOptions(func(tr *http.Transport) {
			tr.MaxIdleConnsPerHost = max(tr.MaxIdleConnsPerHost, idle)
		})
	}
	return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		// Set here rather than in LoadDefaultConfig, which refuses a plain
		// *http.Client when AWS_CA_BUNDLE is set.
		if opts.HTTPClient != nil {
			o.HTTPClient = opts.HTTPClient
		}
		// Fetch must not hash what it streams (cas.Fetcher: that would cap
		// reads at hash speed); Verify re-hashes with sha256 anyway.
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}), nil
}

// key returns the object key of ref's blob.
func (s *Store) key(ref cas.Ref) string {
	h := ref.String()
	return s.blobs + h[0:2] + "/" + h[2:4] + "/" + h
}

// parseKey returns the Ref of a blob key, or false for any other key
// (wrong shard, upper-case hex, a stray object).
func (s *Store) parseKey(key string) (cas.Ref, bool) {
	rest, ok := strings.CutPrefix(key, s.blobs)
	if !ok || len(rest) != 6+2*cas.Size || rest[2] != '/' || rest[5] != '/' {
		return cas.Ref{}, false
	}
	h := rest[6:]
	if rest[0:2] != h[0:2] || rest[3:5] != h[2:4] || !isLowerHex(h) {
		return cas.Ref{}, false
	}
	ref, err := cas.Parse(h)
	return ref, err == nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// joinKey joins a prefix ("" or without slashes at its ends) and a name.
func joinKey(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "/" + name
}

// httpStatus returns the HTTP status of an upstream answer in err, or 0.
func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// errorCode returns the S3 error code in err ("NoSuchKey"), or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// isNotFound reports whether err is upstream's answer that a key is
// missing. A missing bucket is not a missing blob: it is reported as
// ErrNoSuchBucket where the answer says so (HEAD answers carry no code, and
// Open checked the bucket).
func isNotFound(err error) bool {
	return httpStatus(err) == http.StatusNotFound && errorCode(err) != "NoSuchBucket"
}

// wrapErr maps an upstream error of op on ref to the package's errors.
func wrapErr(op string, ref cas.Ref, err error) error {
	switch {
	case isNotFound(err):
		return fmt.Errorf("s3store: %s %s: %w", op, ref, cas.ErrNotFound)
	case errorCode(err) == "NoSuchBucket":
		return fmt.Errorf("s3store: %s %s: %w: %w", op, ref, ErrNoSuchBucket, err)
	}
	return fmt.Errorf("s3store: %s %s: %w", op, ref, err)
}

// ctxErr reports a cancelled context wrapped with the operation's name.
func ctxErr(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3store: %s: %w", op, err)
	}
	return nil
}

// sweepTemp removes this package's temp files last modified before cutoff.
// TempDir may be shared (/tmp), so only names of our pattern are touched.
func sweepTemp(dir string, cutoff time.Time) error {
	names, err := filepath.Glob(filepath.Join(dir, tempPattern))
	if err != nil {
		return err
	}
	for _, name := range names {
		info, err := os.Lstat(name)
		if err != nil || !info.Mode().IsRegular() || !info.ModTime().Before(cutoff) {
			continue // gone meanwhile, or not ours to judge
		}
		if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
