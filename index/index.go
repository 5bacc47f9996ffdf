// Package index is Dewar's metadata store: buckets, objects, multipart
// uploads, users and the reference counts that decide when a blob in the
// content store may be removed. (Jobs, files, the ingestion queue and search
// join it as they are built.)
//
// The interfaces are split by capability so consumers take only what they
// use; index/sqlite and index/postgres implement all of them through the
// shared database/sql code in index/sqlindex, and both pass index/indextest.
//
// # Blob reference counts
//
// Every row that points at a blob (an object, a multipart part, later a
// sample file) holds one reference in the blobs table. Writers and the
// reaper take the same per-blob lock (a row lock in PostgreSQL, the write
// transaction in SQLite):
//
//   - a writer stages its bytes in the store, then calls a mutating method
//     with a commit callback; the index pins the blob (count+1) and runs the
//     callback while it holds the lock, so the callback can make sure the
//     blob exists (Staged.Commit is idempotent);
//   - methods that drop references return the refs whose count reached zero;
//     the caller hands each to Blobs.Reap, which removes the blob from the
//     store, still under the lock, only if the count is still zero.
//
// So a PUT of the same bytes racing with the delete of the last reference
// either pins before the reaper looks (nothing removed) or re-creates the
// blob from its staged copy after the reaper removed it.
package index

import (
	"context"
	"errors"
	"fmt"
	"time"

	"dewar/cas"
)

// Sentinel errors, matched with errors.Is. The specific ones wrap the
// generic ErrNotFound and ErrConflict.
var (
	ErrNotFound = errors.New("index: not found")
	ErrConflict = errors.New("index: conflict")

	ErrBucketNotFound = fmt.Errorf("%w: no such bucket", ErrNotFound)
	ErrObjectNotFound = fmt.Errorf("%w: no such object", ErrNotFound)
	ErrUploadNotFound = fmt.Errorf("%w: no such multipart upload", ErrNotFound)
	ErrUserNotFound   = fmt.Errorf("%w: no such user", ErrNotFound)

	ErrBucketExists = fmt.Errorf("%w: bucket already exists", ErrConflict)
	// ErrPreconditionFailed: a conditional write's condition did not hold.
	ErrPreconditionFailed = fmt.Errorf("%w: precondition failed", ErrConflict)
	ErrBucketNotEmpty     = fmt.Errorf("%w: bucket not empty", ErrConflict)
	ErrUserExists         = fmt.Errorf("%w: user already exists", ErrConflict)
)

// CommitFunc makes a blob exist in the content store. The index calls it
// while it holds the blob's lock, after pinning the blob; an error rolls the
// whole change back. A nil CommitFunc means the caller vouches that the blob
// exists (only safe when another pinned row already refers to it in the
// same transaction, which the index checks for copies).
type CommitFunc func(ctx context.Context) error

// RemoveFunc deletes a blob from the content store; Reap calls it under the
// blob's lock.
type RemoveFunc func(ctx context.Context, ref cas.Ref) error

// Bucket is an S3 bucket.
type Bucket struct {
	Name      string
	Owner     string // access key of the creator
	CreatedAt time.Time
}

// Buckets manages buckets.
type Buckets interface {
	// CreateBucket fails with ErrBucketExists when the name is taken
	// (whoever owns it; callers compare Owner to pick the S3 error).
	CreateBucket(ctx context.Context, b Bucket) error
	// GetBucket returns ErrBucketNotFound when missing.
	GetBucket(ctx context.Context, name string) (Bucket, error)
	// ListBuckets returns all buckets ordered by name.
	ListBuckets(ctx context.Context) ([]Bucket, error)
	// DeleteBucket fails with ErrBucketNotEmpty while it holds objects. It
	// aborts the bucket's unfinished multipart uploads and returns the refs
	// their parts left at zero.
	DeleteBucket(ctx context.Context, name string) (zeroed []cas.Ref, err error)
}

// ObjectMeta is what S3 stores beside an object's bytes.
type ObjectMeta struct {
	ContentType        string `json:"content_type,omitempty"`
	ContentEncoding    string `json:"content_encoding,omitempty"`
	ContentDisposition string `json:"content_disposition,omitempty"`
	ContentLanguage    string `json:"content_language,omitempty"`
	CacheControl       string `json:"cache_control,omitempty"`
	Expires            string `json:"expires,omitempty"`
	// User holds x-amz-meta-* values by lowercase name without the prefix.
	User map[string]string `json:"user,omitempty"`
	// Checksums maps an algorithm name ("CRC32", "CRC32C", "CRC64NVME",
	// "SHA1", "SHA256") to its base64 value; composite values end in "-N".
	Checksums map[string]string `json:"checksums,omitempty"`
	// ChecksumType is "FULL_OBJECT" or "COMPOSITE" when Checksums is set.
	ChecksumType string `json:"checksum_type,omitempty"`
	// ChecksumAlgorithm is the algorithm a multipart upload was created with.
	ChecksumAlgorithm string `json:"checksum_algorithm,omitempty"`
	// Parts is the part count of an object made by a multipart upload.
	Parts int `json:"parts,omitempty"`
	// PartSizes are the sizes of those parts in order, so GET ?partNumber=N
	// (the SDK transfer managers' default download) can find part N.
	PartSizes []int64 `json:"part_sizes,omitempty"`
}

// Object is one key in a bucket.
type Object struct {
	Bucket       string
	Key          string
	Blob         cas.Ref
	Size         int64
	ETag         string // unquoted: hex MD5, or hex MD5-of-MD5s "-N"
	LastModified time.Time
	Owner        string
	Meta         ObjectMeta
}

// ListOptions select a page of keys.
type ListOptions struct {
	Prefix    string
	Delimiter string // "" lists recursively
	// After is an exclusive start key (S3 marker, start-after or decoded
	// continuation token). When it names a common prefix (ends with the
	// delimiter), every key under that prefix is skipped.
	After string
	// Limit caps len(Objects)+len(CommonPrefixes); 0 returns an empty,
	// untruncated page as S3 does for max-keys=0.
	Limit int
}

// ListPage is one page of a listing, in key order.
type ListPage struct {
	Objects        []Object
	CommonPrefixes []string
	Truncated      bool
	// Next is the last key or common prefix on the page; pass it as After
	// to continue. Empty when not truncated.
	Next string
}

// PutCondition makes a write conditional (S3 conditional writes): it
// happens only if the condition holds when the write's transaction looks
// at the key, else ErrPreconditionFailed and nothing changes. The zero
// value always holds.
type PutCondition struct {
	// IfNoneMatch: only when the key does not exist (If-None-Match: *).
	IfNoneMatch bool
	// IfMatch: only when the key exists with this ETag (unquoted).
	IfMatch string
}

// Objects manages the keys of buckets.
type Objects interface {
	// PutObject creates or replaces o.Bucket/o.Key. It pins o.Blob and
	// runs commit under the blob's lock; the replaced object's reference is
	// dropped. Returns ErrBucketNotFound for a missing bucket.
	PutObject(ctx context.Context, o Object, commit CommitFunc) (zeroed []cas.Ref, err error)
	// PutObjectIf is PutObject under a condition, checked atomically with
	// the write.
	PutObjectIf(ctx context.Context, o Object, cond PutCondition, commit CommitFunc) (zeroed []cas.Ref, err error)
	// GetObject returns ErrObjectNotFound (or ErrBucketNotFound).
	GetObject(ctx context.Context, bucket, key string) (Object, error)
	// DeleteObject returns ErrObjectNotFound when there was nothing to delete.
	DeleteObject(ctx context.Context, bucket, key string) (zeroed []cas.Ref, err error)
	// ListObjects pages through a bucket in key order (bytewise, as S3) straight
	// from the database, never loading the bucket.
	ListObjects(ctx context.Context, bucket string, opts ListOptions) (ListPage, error)
}

// Upload is an unfinished multipart upload.
type Upload struct {
	ID        string
	Bucket    string
	Key       string
	Initiated time.Time
	Owner     string
	// Meta is what the finished object will carry (set at create time).
	Meta ObjectMeta
}

// Part is one uploaded part of an Upload.
type Part struct {
	UploadID     string
	Number       int
	Blob         cas.Ref
	Size         int64
	ETag         string // unquoted hex MD5 of the part
	Checksums    map[string]string
	LastModified time.Time
}

// UploadListOptions select a page of ListMultipartUploads.
type UploadListOptions struct {
	Prefix         string
	Delimiter      string
	KeyMarker      string
	UploadIDMarker string
	Limit          int
}

// UploadPage is one page of unfinished uploads, ordered by key then
// initiation time then id.
type UploadPage struct {
	Uploads            []Upload
	CommonPrefixes     []string
	Truncated          bool
	NextKeyMarker      string
	NextUploadIDMarker string
}

// Multipart manages multipart uploads.
type Multipart interface {
	// CreateUpload records u (u.ID chosen by the caller). ErrBucketNotFound
	// for a missing bucket.
	CreateUpload(ctx context.Context, u Upload) error
	// GetUpload returns ErrUploadNotFound when unknown, completed or aborted.
	GetUpload(ctx context.Context, id string) (Upload, error)
	// PutPart creates or replaces part p.Number of p.UploadID, pinning
	// p.Blob and running commit under its lock.
	PutPart(ctx context.Context, p Part, commit CommitFunc) (zeroed []cas.Ref, err error)
	// ListParts returns up to limit parts numbered above after, in order,
	// and whether more follow.
	ListParts(ctx context.Context, uploadID string, after, limit int) (parts []Part, truncated bool, err error)
	// ListUploads pages through a bucket's unfinished uploads.
	ListUploads(ctx context.Context, bucket string, opts UploadListOptions) (UploadPage, error)
	// CompleteUpload, in one transaction: puts o (as PutObject), deletes
	// the upload and all its parts, and returns the refs left at zero.
	// ErrUploadNotFound when the upload is gone (a second Complete).
	CompleteUpload(ctx context.Context, uploadID string, o Object, commit CommitFunc) (zeroed []cas.Ref, err error)
	// CompleteUploadIf is CompleteUpload under a condition on the key,
	// checked atomically with the write (the upload stays when it fails).
	CompleteUploadIf(ctx context.Context, uploadID string, o Object, cond PutCondition, commit CommitFunc) (zeroed []cas.Ref, err error)
	// AbortUpload deletes the upload and its parts.
	AbortUpload(ctx context.Context, uploadID string) (zeroed []cas.Ref, err error)
}

// BlobRecord is the index's view of one blob.
type BlobRecord struct {
	Ref       cas.Ref
	Size      int64
	Refs      int64 // rows referring to it
	CreatedAt time.Time
}

// Blobs exposes reference counts to the reaper and to gc.
type Blobs interface {
	// GetBlob returns ErrNotFound for a blob the index has no row for.
	GetBlob(ctx context.Context, ref cas.Ref) (BlobRecord, error)
	// Reap removes ref when nothing refers to it (no row, or a count of
	// zero): under the blob's lock it calls remove, then deletes the row.
	// It reports whether remove was called. A blob with references is left
	// alone (removed == false, err == nil).
	Reap(ctx context.Context, ref cas.Ref, remove RemoveFunc) (removed bool, err error)
	// ListBlobs lists up to limit blob rows above after, in ref order
	// (verify and gc compare them with the store's own walk).
	ListBlobs(ctx context.Context, after cas.Ref, limit int) ([]BlobRecord, error)
	// ZeroBlobs lists up to limit refs above after whose count is zero
	// (left behind by a crash between a drop and its reap), in ref order.
	ZeroBlobs(ctx context.Context, after cas.Ref, limit int) ([]cas.Ref, error)
}

// Role is what a user may do.
type Role string

// Roles, from most to least powerful.
const (
	RoleAdmin     Role = "admin"
	RoleSubmitter Role = "submitter"
	RoleReader    Role = "reader"
)

// Valid reports whether r is one of the defined roles.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RoleSubmitter || r == RoleReader
}

// User is someone who may sign requests. The secret is kept because SigV4
// and SigV2 verification need it in the clear (as AWS does server-side).
type User struct {
	AccessKey string
	SecretKey string
	Name      string
	Role      Role
	CreatedAt time.Time
}

// Users manages credentials.
type Users interface {
	// CreateUser fails with ErrUserExists for a taken access key.
	CreateUser(ctx context.Context, u User) error
	// GetUser returns ErrUserNotFound when unknown.
	GetUser(ctx context.Context, accessKey string) (User, error)
	// ListUsers returns all users ordered by access key.
	ListUsers(ctx context.Context) ([]User, error)
	// DeleteUser returns ErrUserNotFound when unknown.
	DeleteUser(ctx context.Context, accessKey string) error
}

// Index is every capability together, plus Close.
type Index interface {
	Buckets
	Objects
	Multipart
	Blobs
	Users
	Close() error
}
