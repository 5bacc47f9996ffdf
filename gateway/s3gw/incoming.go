package s3gw

import (
	"context"
	"encoding/hex"
	"errors"

	"dewar/gateway"
	"dewar/gateway/auth"
	"dewar/index"
	"dewar/s3api"
	"dewar/s3api/s3err"
)

// The incoming buckets: every upload becomes a job. Listings show the jobs
// that are not done yet (queued, held, processing, failed) under their
// upload keys, and GET returns the upload while its job waits.

// submission reads the x-amz-meta-* submission fields. Only admins may
// submit in another person's name.
func (d *Dewar) submission(p auth.Principal, bucket, key string, md map[string]string, contentType string, k gateway.BucketKind) (gateway.Submission, error) {
	sub := gateway.Submission{
		Name: key, KnownGood: k == gateway.IncomingKnownGood, Notes: md["notes"],
		Submitter: p.Name, ContentType: contentType, SourceBucket: bucket, SourceKey: key,
	}
	var err error
	if sub.CollectedAt, err = gateway.ParseCollectedAt(md["collected-at"]); err != nil {
		return sub, s3err.Newf(s3err.InvalidArgument, "x-amz-meta-collected-at must be an RFC 3339 time such as 2026-01-02T15:04:05Z.").With("ArgumentName", "x-amz-meta-collected-at")
	}
	if sub.Hold, err = gateway.ParseHold(md["hold"]); err != nil {
		return sub, s3err.Newf(s3err.InvalidArgument, "x-amz-meta-hold must be true or false.").With("ArgumentName", "x-amz-meta-hold")
	}
	if name := md["submitter"]; name != "" && name != p.Name {
		if p.Role != index.RoleAdmin {
			return sub, s3err.Newf(s3err.AccessDenied, "Only admins may submit in another name (x-amz-meta-submitter).")
		}
		sub.Submitter = name
	}
	return sub, nil
}

func jobHeaders(j index.Job) map[string]string {
	return map[string]string{"x-dewar-job-id": j.ID, "x-dewar-job-status": string(j.Status)}
}

func (d *Dewar) putIncoming(ctx context.Context, in *s3api.PutObjectInput, k gateway.BucketKind) (*s3api.PutResult, error) {
	p, err := d.authorize(ctx, auth.Submit)
	if err != nil {
		return nil, err
	}
	sub, err := d.submission(p, in.Bucket, in.Key, in.Metadata, in.Headers.ContentType, k)
	if err != nil {
		return nil, err
	}
	st, err := d.stage(ctx, in.Body)
	if err != nil {
		return nil, err
	}
	defer st.Discard()
	sums := in.Body.Sums()
	sub.UploadMD5 = hex.EncodeToString(sums.MD5)
	j, err := d.svc.SubmitStaged(ctx, st, sub, "")
	if err != nil {
		return nil, s3Error(err)
	}
	res := &s3api.PutResult{ETag: sub.UploadMD5, LastModified: j.SubmittedAt, Checksums: sums.Checksums, ResponseHeaders: jobHeaders(j)}
	if len(sums.Checksums) > 0 {
		res.ChecksumType = "FULL_OBJECT"
	}
	return res, nil
}

func (d *Dewar) copyIncoming(ctx context.Context, in *s3api.CopyObjectInput, k gateway.BucketKind) (*s3api.PutResult, error) {
	p, err := d.authorize(ctx, auth.Submit)
	if err != nil {
		return nil, err
	}
	src, err := d.idx.GetObject(ctx, in.Source.Bucket, in.Source.Key)
	if err != nil {
		return nil, s3Error(err)
	}
	if err := in.Source.Check(objectInfo(src)); err != nil {
		return nil, err
	}
	md, ct := src.Meta.User, src.Meta.ContentType
	if in.ReplaceMetadata {
		md, ct = in.Metadata, in.Headers.ContentType
	}
	sub, err := d.submission(p, in.Bucket, in.Key, md, ct, k)
	if err != nil {
		return nil, err
	}
	sub.UploadMD5 = src.ETag
	j, err := d.svc.SubmitBlob(ctx, blobOf(src), d.ensureExists(src.Blob), sub, "")
	if err != nil {
		return nil, s3Error(err)
	}
	return &s3api.PutResult{ETag: src.ETag, LastModified: j.SubmittedAt, ResponseHeaders: jobHeaders(j)}, nil
}

func (d *Dewar) completeIncoming(ctx context.Context, in *s3api.CompleteMultipartUploadInput, k gateway.BucketKind) (*s3api.PutResult, error) {
	p, err := d.authorize(ctx, auth.Submit)
	if err != nil {
		return nil, err
	}
	a, err := d.assemble(ctx, in)
	if err != nil {
		return nil, err
	}
	defer a.discard()
	sub, err := d.submission(p, in.Bucket, in.Key, a.meta.User, a.meta.ContentType, k)
	if err != nil {
		return nil, err
	}
	sub.UploadMD5 = a.etag
	j, err := d.svc.SubmitBlob(ctx, a.blob, a.commit, sub, in.UploadID)
	if err != nil {
		return nil, s3Error(err)
	}
	return &s3api.PutResult{ETag: a.etag, LastModified: j.SubmittedAt, Checksums: a.meta.Checksums, ChecksumType: a.meta.ChecksumType, ResponseHeaders: jobHeaders(j)}, nil
}

// incomingInfo shows a waiting job as the object its upload was.
func incomingInfo(j index.Job) s3api.ObjectInfo {
	md := map[string]string{"job-id": j.ID, "status": string(j.Status)}
	if j.Notes != "" {
		md["notes"] = j.Notes
	}
	if j.Error != "" {
		md["error"] = j.Error
	}
	if j.Submitter != "" {
		md["submitter"] = j.Submitter
	}
	return s3api.ObjectInfo{
		Key: j.SourceKey, Size: j.UploadSize, ETag: j.UploadMD5, LastModified: j.SubmittedAt,
		Headers: s3api.ObjectHeaders{ContentType: j.ContentType}, Metadata: md, Owner: ownerOf(j.Submitter),
		ResponseHeaders: jobHeaders(j),
	}
}

func (d *Dewar) getIncoming(ctx context.Context, bucket, key string) (*s3api.Object, error) {
	if _, err := d.authorize(ctx, auth.Read); err != nil {
		return nil, err
	}
	j, err := d.svc.Index().GetIncoming(ctx, bucket, key)
	if errors.Is(err, index.ErrNotFound) {
		return nil, s3err.Newf(s3err.NoSuchKey, "No job from an upload with this key is waiting; finished jobs are in the jobs bucket.").With("Key", key)
	}
	if err != nil {
		return nil, s3Error(err)
	}
	return &s3api.Object{Info: incomingInfo(j), Open: d.opener(j.Upload)}, nil
}

func (d *Dewar) listIncoming(ctx context.Context, in *s3api.ListObjectsInput) (*s3api.ListObjectsOutput, error) {
	if _, err := d.authorize(ctx, auth.Read); err != nil {
		return nil, err
	}
	page, err := d.svc.Index().ListIncoming(ctx, in.Bucket, index.ListOptions{
		Prefix: in.Prefix, Delimiter: in.Delimiter, After: in.After, Limit: in.Max,
	})
	if err != nil {
		return nil, s3Error(err)
	}
	out := &s3api.ListObjectsOutput{CommonPrefixes: page.CommonPrefixes, Truncated: page.Truncated, Next: page.Next}
	for _, j := range page.Jobs {
		out.Objects = append(out.Objects, incomingInfo(j))
	}
	return out, nil
}
