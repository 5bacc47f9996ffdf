package s3api

import (
	"context"
	"errors"
	"io"
	"time"
)

// Backend is everything s3api serves. Implementations return *s3err.Error
// values for S3 outcomes (NoSuchKey, ...) and any other error for faults,
// which become InternalError. Embed Unsupported to leave operations out.
type Backend interface {
	Buckets
	Objects
	Multipart
}

// Owner identifies who owns a bucket, object or upload.
type Owner struct {
	ID          string
	DisplayName string
}

// BucketInfo is one bucket of ListBuckets.
type BucketInfo struct {
	Name      string
	CreatedAt time.Time
}

// Buckets are the bucket-level operations.
type Buckets interface {
	// ListBuckets lists the buckets the caller may see, by name.
	ListBuckets(ctx context.Context) ([]BucketInfo, Owner, error)
	// CreateBucket fails with BucketAlreadyOwnedByYou or BucketAlreadyExists.
	CreateBucket(ctx context.Context, bucket string) error
	// HeadBucket fails with NoSuchBucket (or AccessDenied).
	HeadBucket(ctx context.Context, bucket string) error
	// DeleteBucket fails with NoSuchBucket or BucketNotEmpty.
	DeleteBucket(ctx context.Context, bucket string) error
}

// ObjectHeaders are the standard HTTP headers S3 stores with an object.
type ObjectHeaders struct {
	ContentType        string
	ContentEncoding    string
	ContentDisposition string
	ContentLanguage    string
	CacheControl       string
	Expires            string
}

// ObjectInfo describes an object without its bytes.
type ObjectInfo struct {
	Key          string
	Size         int64
	ETag         string // unquoted
	LastModified time.Time
	Headers      ObjectHeaders
	// Metadata is the user metadata (x-amz-meta-*), lowercase names without
	// the prefix. s3api sends the names exactly so: Go would canonicalise
	// them, and boto3 then reports "Notes" instead of "notes".
	Metadata map[string]string
	// Checksums by algorithm name ("CRC32", ...), base64, and their type
	// ("FULL_OBJECT" or "COMPOSITE").
	Checksums    map[string]string
	ChecksumType string
	// PartSizes are the part sizes of a multipart object (GET ?partNumber).
	PartSizes []int64
	Owner     Owner
	// ResponseHeaders are added to GET and HEAD responses exactly as named
	// (the backend's own headers, e.g. safe-serving headers for samples).
	ResponseHeaders map[string]string
}

// Object is an object ready to be read. s3api evaluates conditional headers
// and ranges on Info, then calls Open; Open must read the same bytes Info
// describes (content addressing makes that natural).
type Object struct {
	Info ObjectInfo
	// Open returns length bytes from offset (length < 0: to the end). When
	// the key was overwritten since Info was taken and those bytes are gone,
	// it returns an error wrapping ErrObjectChanged.
	Open func(ctx context.Context, offset, length int64) (io.ReadCloser, error)
}

// ErrObjectChanged tells s3api that an object was replaced between
// GetObject and Open (a store that drops unreferenced bytes at once can
// see that); s3api then serves the GET again from GetObject, so the read
// is ordered after the overwrite instead of failing.
var ErrObjectChanged = errors.New("s3api: object replaced while being read")

// BodySums are what s3api computed over a request body while it streamed.
type BodySums struct {
	MD5 []byte
	// Checksums are the flexible checksums the client sent or asked for,
	// already verified against the values it sent, by algorithm name.
	Checksums map[string]string
}

// Body is an uploaded payload. Read it to io.EOF before trusting it: any
// other error (bad signature, checksum or Content-MD5, a client that went
// away, too many or too few bytes) means the upload must leave nothing.
type Body struct {
	io.Reader
	// Size is the declared length, or -1 when the client did not say.
	Size int64
	// ContentSHA256 is the signed payload digest the backend must verify
	// itself (nil when s3api verified it or there is none). See
	// Config.DeferPayloadHash.
	ContentSHA256 []byte
	// Sums is valid once Reader returned io.EOF.
	Sums func() BodySums
}

// WriteCondition is an S3 conditional write; the backend checks it
// atomically with the write and answers PreconditionFailed when it does
// not hold. The zero value always holds.
type WriteCondition struct {
	// IfNoneMatch: write only if the key does not exist.
	IfNoneMatch bool
	// IfMatch: write only if the key exists with this ETag (unquoted).
	IfMatch string
}

// Holds reports whether c holds for an object that exists with etag (or
// does not exist); for backends that check under their own lock.
func (c WriteCondition) Holds(exists bool, etag string) bool {
	if c.IfNoneMatch && exists {
		return false
	}
	return c.IfMatch == "" || (exists && etag == c.IfMatch)
}

// PutObjectInput is a PutObject request.
type PutObjectInput struct {
	Bucket    string
	Key       string
	Body      Body
	Headers   ObjectHeaders
	Metadata  map[string]string
	Condition WriteCondition
}

// PutResult answers a write of a whole object.
type PutResult struct {
	ETag         string // unquoted
	LastModified time.Time
	Checksums    map[string]string
	ChecksumType string
	// ResponseHeaders are added to the response as named.
	ResponseHeaders map[string]string
}

// ListObjectsInput selects a page of keys (v1 and v2 alike).
type ListObjectsInput struct {
	Bucket    string
	Prefix    string
	Delimiter string
	After     string // exclusive start: marker, start-after or continuation
	Max       int
}

// ListObjectsOutput is one page in key order.
type ListObjectsOutput struct {
	Objects        []ObjectInfo
	CommonPrefixes []string
	Truncated      bool
	// Next is the last key or common prefix returned (continue after it).
	Next string
}

// CopySource names the source of CopyObject and UploadPartCopy.
type CopySource struct {
	Bucket string
	Key    string
	// Check evaluates the x-amz-copy-source-if-* headers; the backend calls
	// it with the source it resolved and returns its error unchanged.
	Check func(ObjectInfo) error
}

// CopyObjectInput is a CopyObject request.
type CopyObjectInput struct {
	Bucket string
	Key    string
	Source CopySource
	// ReplaceMetadata is x-amz-metadata-directive: REPLACE; then Headers
	// and Metadata replace the source's, else the source's are kept.
	ReplaceMetadata bool
	Headers         ObjectHeaders
	Metadata        map[string]string
}

// Objects are the object-level operations.
type Objects interface {
	PutObject(ctx context.Context, in *PutObjectInput) (*PutResult, error)
	// GetObject returns the object for GET and HEAD; HEAD never calls Open,
	// so a missing key must be cheap (s3fs probes many).
	GetObject(ctx context.Context, bucket, key string) (*Object, error)
	// DeleteObject succeeds for a missing key, as S3 does.
	DeleteObject(ctx context.Context, bucket, key string) error
	CopyObject(ctx context.Context, in *CopyObjectInput) (*PutResult, error)
	ListObjects(ctx context.Context, in *ListObjectsInput) (*ListObjectsOutput, error)
}

// CreateMultipartUploadInput starts a multipart upload.
type CreateMultipartUploadInput struct {
	Bucket            string
	Key               string
	Headers           ObjectHeaders
	Metadata          map[string]string
	ChecksumAlgorithm string // "" or an algorithm name; parts carry it
}

// UploadPartInput is one part.
type UploadPartInput struct {
	Bucket     string
	Key        string
	UploadID   string
	PartNumber int
	Body       Body
}

// UploadPartCopyInput is one part copied from an object.
type UploadPartCopyInput struct {
	Bucket     string
	Key        string
	UploadID   string
	PartNumber int
	Source     CopySource
	// Offset and Length select x-amz-copy-source-range; Length < 0 copies
	// the whole source. The backend checks the range fits the source.
	Offset, Length int64
}

// PartInfo describes one stored part.
type PartInfo struct {
	Number       int
	ETag         string // unquoted
	Size         int64
	LastModified time.Time
	Checksums    map[string]string
}

// CompletePart is one part named in CompleteMultipartUpload.
type CompletePart struct {
	Number    int
	ETag      string // unquoted
	Checksums map[string]string
}

// CompleteMultipartUploadInput assembles an upload. s3api has checked the
// parts are in ascending order; AssembleParts does the remaining checks.
type CompleteMultipartUploadInput struct {
	Bucket    string
	Key       string
	UploadID  string
	Parts     []CompletePart
	Condition WriteCondition
}

// ListPartsInput selects a page of parts.
type ListPartsInput struct {
	Bucket   string
	Key      string
	UploadID string
	After    int
	Max      int
}

// ListPartsOutput is a page of parts.
type ListPartsOutput struct {
	Parts             []PartInfo
	Truncated         bool
	Owner             Owner
	ChecksumAlgorithm string
}

// ListUploadsInput selects a page of unfinished uploads.
type ListUploadsInput struct {
	Bucket         string
	Prefix         string
	Delimiter      string
	KeyMarker      string
	UploadIDMarker string
	Max            int
}

// UploadInfo describes one unfinished upload.
type UploadInfo struct {
	Key               string
	UploadID          string
	Initiated         time.Time
	Owner             Owner
	ChecksumAlgorithm string
}

// ListUploadsOutput is a page of uploads.
type ListUploadsOutput struct {
	Uploads            []UploadInfo
	CommonPrefixes     []string
	Truncated          bool
	NextKeyMarker      string
	NextUploadIDMarker string
}

// Multipart are the multipart-upload operations.
type Multipart interface {
	CreateMultipartUpload(ctx context.Context, in *CreateMultipartUploadInput) (uploadID string, err error)
	UploadPart(ctx context.Context, in *UploadPartInput) (*PutResult, error)
	UploadPartCopy(ctx context.Context, in *UploadPartCopyInput) (*PutResult, error)
	CompleteMultipartUpload(ctx context.Context, in *CompleteMultipartUploadInput) (*PutResult, error)
	AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error
	ListParts(ctx context.Context, in *ListPartsInput) (*ListPartsOutput, error)
	ListMultipartUploads(ctx context.Context, in *ListUploadsInput) (*ListUploadsOutput, error)
}
