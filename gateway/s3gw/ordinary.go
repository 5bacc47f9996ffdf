package s3gw

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"

	"dewar/cas"
	"dewar/gateway/auth"
	"dewar/index"
	"dewar/s3api"
	"dewar/s3api/s3err"
)

// Ordinary buckets: full S3 semantics, every body in the content store.

func (g *Gateway) ListBuckets(ctx context.Context) ([]s3api.BucketInfo, s3api.Owner, error) {
	p, err := g.authorize(ctx, auth.Read)
	if err != nil {
		return nil, s3api.Owner{}, err
	}
	buckets, err := g.idx.ListBuckets(ctx)
	if err != nil {
		return nil, s3api.Owner{}, s3Error(err)
	}
	out := make([]s3api.BucketInfo, 0, len(buckets))
	for _, b := range buckets {
		out = append(out, s3api.BucketInfo{Name: b.Name, CreatedAt: b.CreatedAt})
	}
	return out, ownerOf(p.AccessKey), nil
}

func (g *Gateway) CreateBucket(ctx context.Context, bucket string) error {
	p, err := g.authorize(ctx, auth.Write)
	if err != nil {
		return err
	}
	err = g.idx.CreateBucket(ctx, index.Bucket{Name: bucket, Owner: p.AccessKey, CreatedAt: g.now()})
	if errors.Is(err, index.ErrBucketExists) {
		// Buckets belong to the team, not to one user: anyone who may
		// write it owns it, which is what rclone's CreateBucket-before-copy
		// expects.
		return s3err.Wrap(s3err.BucketAlreadyOwnedByYou, err).With("BucketName", bucket)
	}
	return s3Error(err)
}

func (g *Gateway) HeadBucket(ctx context.Context, bucket string) error {
	if _, err := g.authorize(ctx, auth.Read); err != nil {
		return err
	}
	_, err := g.idx.GetBucket(ctx, bucket)
	return s3Error(err)
}

func (g *Gateway) DeleteBucket(ctx context.Context, bucket string) error {
	if _, err := g.authorize(ctx, auth.Write); err != nil {
		return err
	}
	zeroed, err := g.idx.DeleteBucket(ctx, bucket)
	g.reap(ctx, zeroed)
	return s3Error(err)
}

func (g *Gateway) PutObject(ctx context.Context, in *s3api.PutObjectInput) (*s3api.PutResult, error) {
	p, err := g.authorize(ctx, auth.Write)
	if err != nil {
		return nil, err
	}
	// Refuse before reading the body (with Expect: 100-continue the client
	// then never sends it).
	if _, err := g.idx.GetBucket(ctx, in.Bucket); err != nil {
		return nil, s3Error(err)
	}
	st, err := g.stage(ctx, in.Body)
	if err != nil {
		return nil, err
	}
	defer st.Discard()
	sums := in.Body.Sums()
	obj := index.Object{
		Bucket: in.Bucket, Key: in.Key, Blob: st.Ref().Ref, Size: st.Ref().Size,
		ETag: hex.EncodeToString(sums.MD5), LastModified: g.now(), Owner: p.AccessKey,
		Meta: objectMeta(in.Headers, in.Metadata),
	}
	if len(sums.Checksums) > 0 {
		obj.Meta.Checksums = sums.Checksums
		obj.Meta.ChecksumType = "FULL_OBJECT"
	}
	zeroed, err := g.idx.PutObjectIf(ctx, obj, putCondition(in.Condition), commitUnderLock(st))
	if err != nil {
		return nil, s3Error(err)
	}
	g.reap(ctx, zeroed)
	return &s3api.PutResult{ETag: obj.ETag, LastModified: obj.LastModified, Checksums: obj.Meta.Checksums, ChecksumType: obj.Meta.ChecksumType}, nil
}

func (g *Gateway) GetObject(ctx context.Context, bucket, key string) (*s3api.Object, error) {
	if _, err := g.authorize(ctx, auth.Read); err != nil {
		return nil, err
	}
	o, err := g.idx.GetObject(ctx, bucket, key)
	if err != nil {
		return nil, s3Error(err)
	}
	return &s3api.Object{Info: objectInfo(o), Open: g.objectOpener(bucket, key, o.Blob)}, nil
}

// objectOpener is opener for an ordinary object, which can change under a
// reader: a delete or overwrite of the key between the lookup and the read
// reaps the blob legitimately. Then the read is ordered after that change:
// NoSuchKey when the key is gone, s3api.ErrObjectChanged (s3api reads the
// object again) when it holds other bytes now.
func (g *Gateway) objectOpener(bucket, key string, ref cas.Ref) func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
	return func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
		rc, err := g.store.Fetch(ctx, ref, off, n)
		if !errors.Is(err, cas.ErrNotFound) {
			return rc, err
		}
		cur, lerr := g.idx.GetObject(ctx, bucket, key)
		switch {
		case errors.Is(lerr, index.ErrObjectNotFound), errors.Is(lerr, index.ErrBucketNotFound):
			return nil, s3Error(lerr)
		case lerr == nil && cur.Blob != ref:
			return nil, fmt.Errorf("s3gw: %s/%s: %w", bucket, key, s3api.ErrObjectChanged)
		}
		// Still these bytes: a re-upload may have put the blob back since.
		return g.opener(ref)(ctx, off, n) // else data loss, logged
	}
}

// opener reads a blob's bytes for GET. A blob the index references but the
// store lacks is data loss: an InternalError, logged.
func (g *Gateway) opener(ref cas.Ref) func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
	return func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
		rc, err := g.store.Fetch(ctx, ref, off, n)
		if errors.Is(err, cas.ErrNotFound) {
			g.log.ErrorContext(ctx, "blob referenced by the index is missing from the store", "ref", ref.String())
		}
		return rc, err
	}
}

func (g *Gateway) DeleteObject(ctx context.Context, bucket, key string) error {
	if _, err := g.authorize(ctx, auth.Write); err != nil {
		return err
	}
	zeroed, err := g.idx.DeleteObject(ctx, bucket, key)
	if errors.Is(err, index.ErrObjectNotFound) {
		return nil // S3 deletes of missing keys succeed
	}
	if err != nil {
		return s3Error(err)
	}
	g.reap(ctx, zeroed)
	return nil
}

// sourceAttempts bounds how often a copy looks its source up again when
// the source's blob vanished between the lookup and the copy: the source
// was deleted or overwritten meanwhile and its last reference reaped.
const sourceAttempts = 3

func (g *Gateway) CopyObject(ctx context.Context, in *s3api.CopyObjectInput) (*s3api.PutResult, error) {
	p, err := g.authorize(ctx, auth.Write)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		src, err := g.idx.GetObject(ctx, in.Source.Bucket, in.Source.Key)
		if err != nil {
			return nil, s3Error(err)
		}
		if err := in.Source.Check(objectInfo(src)); err != nil {
			return nil, err
		}
		dst := src
		dst.Bucket, dst.Key, dst.LastModified, dst.Owner = in.Bucket, in.Key, g.now(), p.AccessKey
		if in.ReplaceMetadata {
			meta := objectMeta(in.Headers, in.Metadata)
			meta.Checksums, meta.ChecksumType, meta.Parts, meta.PartSizes = src.Meta.Checksums, src.Meta.ChecksumType, src.Meta.Parts, src.Meta.PartSizes
			dst.Meta = meta
		}
		// The copy refers to the same blob: no bytes move. Under the blob's
		// lock the index re-checks the blob exists; when the source changed
		// meanwhile and took the blob with it, the copy is ordered after
		// that change: look the source up again (NoSuchKey, or new bytes).
		zeroed, err := g.idx.PutObject(ctx, dst, g.ensureExists(src.Blob))
		if errors.Is(err, cas.ErrNotFound) && attempt < sourceAttempts {
			continue
		}
		if err != nil {
			return nil, s3Error(err)
		}
		g.reap(ctx, zeroed)
		return &s3api.PutResult{ETag: dst.ETag, LastModified: dst.LastModified, Checksums: dst.Meta.Checksums, ChecksumType: dst.Meta.ChecksumType}, nil
	}
}

func (g *Gateway) ListObjects(ctx context.Context, in *s3api.ListObjectsInput) (*s3api.ListObjectsOutput, error) {
	if _, err := g.authorize(ctx, auth.Read); err != nil {
		return nil, err
	}
	page, err := g.idx.ListObjects(ctx, in.Bucket, index.ListOptions{
		Prefix: in.Prefix, Delimiter: in.Delimiter, After: in.After, Limit: in.Max,
	})
	if err != nil {
		return nil, s3Error(err)
	}
	out := &s3api.ListObjectsOutput{CommonPrefixes: page.CommonPrefixes, Truncated: page.Truncated, Next: page.Next}
	for _, o := range page.Objects {
		out.Objects = append(out.Objects, objectInfo(o))
	}
	return out, nil
}

// putCondition is an S3 conditional write as the index checks it.
func putCondition(c s3api.WriteCondition) index.PutCondition {
	return index.PutCondition{IfNoneMatch: c.IfNoneMatch, IfMatch: c.IfMatch}
}

func objectMeta(h s3api.ObjectHeaders, md map[string]string) index.ObjectMeta {
	return index.ObjectMeta{
		ContentType: h.ContentType, ContentEncoding: h.ContentEncoding, ContentDisposition: h.ContentDisposition,
		ContentLanguage: h.ContentLanguage, CacheControl: h.CacheControl, Expires: h.Expires,
		User: maps.Clone(md),
	}
}

func objectInfo(o index.Object) s3api.ObjectInfo {
	m := o.Meta
	return s3api.ObjectInfo{
		Key: o.Key, Size: o.Size, ETag: o.ETag, LastModified: o.LastModified,
		Headers: s3api.ObjectHeaders{
			ContentType: m.ContentType, ContentEncoding: m.ContentEncoding, ContentDisposition: m.ContentDisposition,
			ContentLanguage: m.ContentLanguage, CacheControl: m.CacheControl, Expires: m.Expires,
		},
		Metadata: m.User, Checksums: m.Checksums, ChecksumType: m.ChecksumType, PartSizes: m.PartSizes,
		Owner: ownerOf(o.Owner),
	}
}
