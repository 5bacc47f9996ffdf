// Package s3mem is an in-memory s3api.Backend. It exists to prove that
// s3api depends on nothing of Dewar's and to drive s3api's tests; it keeps
// everything in maps under one mutex and is not meant for large data.
package s3mem

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"dewar/s3api"
	"dewar/s3api/s3err"
)

// Backend is the in-memory store.
type Backend struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	uploads map[string]*upload
	now     func() time.Time
	// MinPartSize mirrors s3api.Config.MinPartSize (default 5 MiB).
	MinPartSize int64
}

var _ s3api.Backend = (*Backend)(nil)

type bucket struct {
	created time.Time
	owner   string
	objects map[string]*object
}

type object struct {
	info s3api.ObjectInfo
	data []byte
}

type upload struct {
	bucket, key string
	initiated   time.Time
	owner       string
	headers     s3api.ObjectHeaders
	meta        map[string]string
	alg         string
	parts       map[int]*part
}

type part struct {
	info s3api.PartInfo
	data []byte
}

// New returns an empty backend.
func New() *Backend {
	return &Backend{buckets: map[string]*bucket{}, uploads: map[string]*upload{}, now: time.Now, MinPartSize: 5 << 20}
}

func owner(ctx context.Context) s3api.Owner {
	ak := s3api.Info(ctx).AccessKey
	return s3api.Owner{ID: s3api.CanonicalID(ak), DisplayName: ak}
}

func (b *Backend) ListBuckets(ctx context.Context) ([]s3api.BucketInfo, s3api.Owner, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []s3api.BucketInfo
	for name, bk := range b.buckets {
		out = append(out, s3api.BucketInfo{Name: name, CreatedAt: bk.created})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, owner(ctx), nil
}

func (b *Backend) CreateBucket(ctx context.Context, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if bk, ok := b.buckets[name]; ok {
		if bk.owner == s3api.Info(ctx).AccessKey {
			return s3err.New(s3err.BucketAlreadyOwnedByYou).With("BucketName", name)
		}
		return s3err.New(s3err.BucketAlreadyExists).With("BucketName", name)
	}
	b.buckets[name] = &bucket{created: b.now(), owner: s3api.Info(ctx).AccessKey, objects: map[string]*object{}}
	return nil
}

func (b *Backend) bucket(name string) (*bucket, error) {
	bk, ok := b.buckets[name]
	if !ok {
		return nil, s3err.New(s3err.NoSuchBucket).With("BucketName", name)
	}
	return bk, nil
}

func (b *Backend) HeadBucket(_ context.Context, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, err := b.bucket(name)
	return err
}

func (b *Backend) DeleteBucket(_ context.Context, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	bk, err := b.bucket(name)
	if err != nil {
		return err
	}
	if len(bk.objects) > 0 {
		return s3err.New(s3err.BucketNotEmpty).With("BucketName", name)
	}
	for id, u := range b.uploads {
		if u.bucket == name {
			delete(b.uploads, id)
		}
	}
	delete(b.buckets, name)
	return nil
}

// readBody reads an upload body to EOF, verifying a deferred digest.
func readBody(body s3api.Body) ([]byte, s3api.BodySums, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, s3api.BodySums{}, err
	}
	if body.ContentSHA256 != nil {
		if !bytes.Equal(sha256Of(data), body.ContentSHA256) {
			return nil, s3api.BodySums{}, s3err.New(s3err.XAmzContentSHA256Mismatch)
		}
	}
	return data, body.Sums(), nil
}

func (b *Backend) PutObject(ctx context.Context, in *s3api.PutObjectInput) (*s3api.PutResult, error) {
	b.mu.Lock()
	_, err := b.bucket(in.Bucket)
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	data, sums, err := readBody(in.Body)
	if err != nil {
		return nil, err
	}
	info := s3api.ObjectInfo{
		Key: in.Key, Size: int64(len(data)), ETag: hex.EncodeToString(sums.MD5), LastModified: b.now(),
		Headers: in.Headers, Metadata: in.Metadata, Checksums: sums.Checksums, Owner: owner(ctx),
	}
	if len(sums.Checksums) > 0 {
		info.ChecksumType = "FULL_OBJECT"
	}
	if err := b.storeIf(in.Bucket, &object{info: info, data: data}, in.Condition); err != nil {
		return nil, err
	}
	return &s3api.PutResult{ETag: info.ETag, LastModified: info.LastModified, Checksums: info.Checksums, ChecksumType: info.ChecksumType}, nil
}

func (b *Backend) store(bucketName string, o *object) error {
	return b.storeIf(bucketName, o, s3api.WriteCondition{})
}

// storeIf stores o when cond holds for the key, under the same lock.
func (b *Backend) storeIf(bucketName string, o *object, cond s3api.WriteCondition) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	bk, err := b.bucket(bucketName)
	if err != nil {
		return err
	}
	old, exists := bk.objects[o.info.Key]
	etag := ""
	if exists {
		etag = old.info.ETag
	}
	if !cond.Holds(exists, etag) {
		return s3err.New(s3err.PreconditionFailed)
	}
	bk.objects[o.info.Key] = o
	return nil
}

func (b *Backend) lookup(bucketName, key string) (*object, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	bk, err := b.bucket(bucketName)
	if err != nil {
		return nil, err
	}
	o, ok := bk.objects[key]
	if !ok {
		return nil, s3err.New(s3err.NoSuchKey).With("Key", key)
	}
	return o, nil
}

func (b *Backend) GetObject(_ context.Context, bucketName, key string) (*s3api.Object, error) {
	o, err := b.lookup(bucketName, key)
	if err != nil {
		return nil, err
	}
	data := o.data
	return &s3api.Object{Info: o.info, Open: func(_ context.Context, off, n int64) (io.ReadCloser, error) {
		end := int64(len(data))
		if n >= 0 && off+n < end {
			end = off + n
		}
		return io.NopCloser(bytes.NewReader(data[off:end])), nil
	}}, nil
}

func (b *Backend) DeleteObject(_ context.Context, bucketName, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	bk, err := b.bucket(bucketName)
	if err != nil {
		return err
	}
	delete(bk.objects, key)
	return nil
}

func (b *Backend) CopyObject(ctx context.Context, in *s3api.CopyObjectInput) (*s3api.PutResult, error) {
	src, err := b.lookup(in.Source.Bucket, in.Source.Key)
	if err != nil {
		return nil, err
	}
	if err := in.Source.Check(src.info); err != nil {
		return nil, err
	}
	info := src.info
	info.Key = in.Key
	info.LastModified = b.now()
	info.Owner = owner(ctx)
	if in.ReplaceMetadata {
		info.Headers, info.Metadata = in.Headers, in.Metadata
	}
	if err := b.store(in.Bucket, &object{info: info, data: src.data}); err != nil {
		return nil, err
	}
	return &s3api.PutResult{ETag: info.ETag, LastModified: info.LastModified, Checksums: info.Checksums}, nil
}

func (b *Backend) ListObjects(_ context.Context, in *s3api.ListObjectsInput) (*s3api.ListObjectsOutput, error) {
	b.mu.Lock()
	bk, err := b.bucket(in.Bucket)
	var keys []string
	if err == nil {
		for k := range bk.objects {
			if strings.HasPrefix(k, in.Prefix) {
				keys = append(keys, k)
			}
		}
	}
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	slices.Sort(keys)
	out := &s3api.ListObjectsOutput{}
	lastCP := ""
	for _, k := range keys {
		if k <= in.After {
			continue
		}
		if in.Delimiter != "" {
			if i := strings.Index(k[len(in.Prefix):], in.Delimiter); i >= 0 {
				cp := k[:len(in.Prefix)+i+len(in.Delimiter)]
				if cp == lastCP || cp == in.After {
					continue
				}
				if len(out.Objects)+len(out.CommonPrefixes) == in.Max {
					out.Truncated = true
					break
				}
				lastCP = cp
				out.CommonPrefixes = append(out.CommonPrefixes, cp)
				out.Next = cp
				continue
			}
		}
		if len(out.Objects)+len(out.CommonPrefixes) == in.Max {
			out.Truncated = true
			break
		}
		o, _ := b.lookup(in.Bucket, k)
		if o == nil {
			continue
		}
		out.Objects = append(out.Objects, o.info)
		out.Next = k
	}
	if !out.Truncated {
		out.Next = ""
	}
	return out, nil
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (b *Backend) CreateMultipartUpload(ctx context.Context, in *s3api.CreateMultipartUploadInput) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.bucket(in.Bucket); err != nil {
		return "", err
	}
	id := newID()
	b.uploads[id] = &upload{bucket: in.Bucket, key: in.Key, initiated: b.now(), owner: s3api.Info(ctx).AccessKey,
		headers: in.Headers, meta: in.Metadata, alg: in.ChecksumAlgorithm, parts: map[int]*part{}}
	return id, nil
}

func (b *Backend) upload(bucketName, key, id string) (*upload, error) {
	u, ok := b.uploads[id]
	if !ok || u.bucket != bucketName || u.key != key {
		return nil, s3err.New(s3err.NoSuchUpload).With("UploadId", id)
	}
	return u, nil
}

func (b *Backend) UploadPart(_ context.Context, in *s3api.UploadPartInput) (*s3api.PutResult, error) {
	b.mu.Lock()
	_, err := b.upload(in.Bucket, in.Key, in.UploadID)
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	data, sums, err := readBody(in.Body)
	if err != nil {
		return nil, err
	}
	return b.putPart(in.Bucket, in.Key, in.UploadID, in.PartNumber, data, hex.EncodeToString(sums.MD5), sums.Checksums)
}

func (b *Backend) putPart(bucketName, key, id string, n int, data []byte, etag string, sums map[string]string) (*s3api.PutResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, err := b.upload(bucketName, key, id)
	if err != nil {
		return nil, err
	}
	p := &part{info: s3api.PartInfo{Number: n, ETag: etag, Size: int64(len(data)), LastModified: b.now(), Checksums: sums}, data: data}
	u.parts[n] = p
	return &s3api.PutResult{ETag: etag, LastModified: p.info.LastModified, Checksums: sums}, nil
}

func (b *Backend) UploadPartCopy(_ context.Context, in *s3api.UploadPartCopyInput) (*s3api.PutResult, error) {
	src, err := b.lookup(in.Source.Bucket, in.Source.Key)
	if err != nil {
		return nil, err
	}
	if err := in.Source.Check(src.info); err != nil {
		return nil, err
	}
	data := src.data
	if in.Length >= 0 {
		if in.Offset+in.Length > int64(len(data)) {
			return nil, s3err.Newf(s3err.InvalidRange, "Range specified is not valid for source object of size: %d", len(data))
		}
		data = data[in.Offset : in.Offset+in.Length]
	}
	return b.putPart(in.Bucket, in.Key, in.UploadID, in.PartNumber, data, md5Hex(data), nil)
}

func (b *Backend) CompleteMultipartUpload(ctx context.Context, in *s3api.CompleteMultipartUploadInput) (*s3api.PutResult, error) {
	b.mu.Lock()
	u, err := b.upload(in.Bucket, in.Key, in.UploadID)
	if err != nil {
		b.mu.Unlock()
		return nil, err
	}
	stored := map[int]s3api.PartInfo{}
	for n, p := range u.parts {
		stored[n] = p.info
	}
	parts, err := s3api.AssembleParts(in.Parts, stored, b.MinPartSize)
	if err != nil {
		b.mu.Unlock()
		return nil, err
	}
	if bk, ok := b.buckets[in.Bucket]; ok {
		old, exists := bk.objects[in.Key]
		etag := ""
		if exists {
			etag = old.info.ETag
		}
		if !in.Condition.Holds(exists, etag) {
			b.mu.Unlock()
			return nil, s3err.New(s3err.PreconditionFailed)
		}
	}
	var data []byte
	var sizes []int64
	for _, p := range parts {
		data = append(data, u.parts[p.Number].data...)
		sizes = append(sizes, p.Size)
	}
	delete(b.uploads, in.UploadID)
	b.mu.Unlock()

	etag, err := s3api.MultipartETag(parts)
	if err != nil {
		return nil, err
	}
	info := s3api.ObjectInfo{Key: in.Key, Size: int64(len(data)), ETag: etag, LastModified: b.now(),
		Headers: u.headers, Metadata: u.meta, PartSizes: sizes, Owner: owner(ctx)}
	if u.alg != "" {
		v, err := s3api.CompositeChecksum(u.alg, parts)
		if err != nil {
			return nil, err
		}
		if v != "" {
			info.Checksums = map[string]string{u.alg: v}
			info.ChecksumType = "COMPOSITE"
		}
	}
	if err := b.storeIf(in.Bucket, &object{info: info, data: data}, in.Condition); err != nil {
		return nil, err
	}
	return &s3api.PutResult{ETag: etag, LastModified: info.LastModified, Checksums: info.Checksums, ChecksumType: info.ChecksumType}, nil
}

func (b *Backend) AbortMultipartUpload(_ context.Context, bucketName, key, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.upload(bucketName, key, id); err != nil {
		return err
	}
	delete(b.uploads, id)
	return nil
}

func (b *Backend) ListParts(ctx context.Context, in *s3api.ListPartsInput) (*s3api.ListPartsOutput, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, err := b.upload(in.Bucket, in.Key, in.UploadID)
	if err != nil {
		return nil, err
	}
	var nums []int
	for n := range u.parts {
		if n > in.After {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	out := &s3api.ListPartsOutput{Owner: s3api.Owner{ID: s3api.CanonicalID(u.owner), DisplayName: u.owner}, ChecksumAlgorithm: u.alg}
	for _, n := range nums {
		if len(out.Parts) == in.Max {
			out.Truncated = true
			break
		}
		out.Parts = append(out.Parts, u.parts[n].info)
	}
	return out, nil
}

func (b *Backend) ListMultipartUploads(_ context.Context, in *s3api.ListUploadsInput) (*s3api.ListUploadsOutput, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.bucket(in.Bucket); err != nil {
		return nil, err
	}
	var all []s3api.UploadInfo
	for id, u := range b.uploads {
		if u.bucket == in.Bucket && strings.HasPrefix(u.key, in.Prefix) {
			all = append(all, s3api.UploadInfo{Key: u.key, UploadID: id, Initiated: u.initiated,
				Owner: s3api.Owner{ID: s3api.CanonicalID(u.owner), DisplayName: u.owner}, ChecksumAlgorithm: u.alg})
		}
	}
	// S3's order: by key, then by initiation time within a key.
	sort.Slice(all, func(i, j int) bool {
		if all[i].Key != all[j].Key {
			return all[i].Key < all[j].Key
		}
		if !all[i].Initiated.Equal(all[j].Initiated) {
			return all[i].Initiated.Before(all[j].Initiated)
		}
		return all[i].UploadID < all[j].UploadID
	})
	// upload-id-marker names a position in that order; an unknown one
	// falls back to S3's documented rule (ids greater than the marker).
	marker := -1
	for i, u := range all {
		if in.UploadIDMarker != "" && u.Key == in.KeyMarker && u.UploadID == in.UploadIDMarker {
			marker = i
		}
	}
	out := &s3api.ListUploadsOutput{}
	for i, u := range all {
		if u.Key < in.KeyMarker {
			continue
		}
		if u.Key == in.KeyMarker && (in.UploadIDMarker == "" || (marker >= 0 && i <= marker) || (marker < 0 && u.UploadID <= in.UploadIDMarker)) {
			continue
		}
		// With a delimiter, keys that contain it after the prefix roll up
		// into one common prefix, which counts once toward Max.
		if in.Delimiter != "" {
			if j := strings.Index(u.Key[len(in.Prefix):], in.Delimiter); j >= 0 {
				cp := u.Key[:len(in.Prefix)+j+len(in.Delimiter)]
				if cp == in.KeyMarker || (len(out.CommonPrefixes) > 0 && out.CommonPrefixes[len(out.CommonPrefixes)-1] == cp) {
					continue
				}
				if len(out.Uploads)+len(out.CommonPrefixes) == in.Max {
					out.Truncated = true
					break
				}
				out.CommonPrefixes = append(out.CommonPrefixes, cp)
				out.NextKeyMarker, out.NextUploadIDMarker = cp, ""
				continue
			}
		}
		if len(out.Uploads)+len(out.CommonPrefixes) == in.Max {
			out.Truncated = true
			break
		}
		out.Uploads = append(out.Uploads, u)
		out.NextKeyMarker, out.NextUploadIDMarker = u.Key, u.UploadID
	}
	return out, nil
}

// Credentials is a fixed access key → secret table implementing
// s3api.Credentials, so an s3api server over this backend needs nothing else.
type Credentials map[string]string

var _ s3api.Credentials = Credentials(nil)

// SecretKey returns the secret of accessKey, or an error wrapping
// s3api.ErrUnknownAccessKey.
func (c Credentials) SecretKey(_ context.Context, accessKey string) (string, error) {
	secret, ok := c[accessKey]
	if !ok {
		return "", fmt.Errorf("s3mem: access key %q: %w", accessKey, s3api.ErrUnknownAccessKey)
	}
	return secret, nil
}
