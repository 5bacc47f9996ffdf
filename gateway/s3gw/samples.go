package s3gw

import (
	"context"
	"errors"

	"dewar/cas"
	"dewar/gateway"
	"dewar/gateway/auth"
	"dewar/index"
	"dewar/index/listing"
	"dewar/s3api"
	"dewar/s3api/s3err"
)

// The samples bucket: one key per file that came in through a job, named
// by its sha256, read-only, listed straight from the index in key order.

// safeServing are the headers on every sample body: the bytes are
// untrusted (phishing pages, scripts), so browsers must neither sniff nor
// run them.
func safeServing() map[string]string {
	return map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "sandbox",
	}
}

// sampleInfo is a file as an object of samples/ (or of jobs/<id>/files/),
// with the fuzzy hashes of a when it has them (HEAD and GET; listings,
// which show no metadata, pass none).
func sampleInfo(key string, f index.File, a index.Analysis) s3api.ObjectInfo {
	return s3api.ObjectInfo{
		Key: key, Size: f.Size, ETag: f.MD5, LastModified: f.FirstSeen,
		Headers:         s3api.ObjectHeaders{ContentType: "application/octet-stream"},
		Metadata:        gateway.FileMetadataWithAnalysis(f, a),
		Owner:           s3api.Owner{ID: s3api.CanonicalID("dewar"), DisplayName: "dewar"},
		ResponseHeaders: safeServing(),
	}
}

func blobOf(o index.Object) cas.SizedRef { return cas.SizedRef{Ref: o.Blob, Size: o.Size} }

// analysisOf returns ref's analysis, or none when it has not been analysed.
func (d *Dewar) analysisOf(ctx context.Context, ref cas.Ref) (index.Analysis, error) {
	a, err := d.svc.Index().GetAnalysis(ctx, ref)
	if errors.Is(err, index.ErrNotFound) {
		return index.Analysis{}, nil
	}
	return a, err
}

func (d *Dewar) getSample(ctx context.Context, key string) (*s3api.Object, error) {
	if _, err := d.authorize(ctx, auth.Read); err != nil {
		return nil, err
	}
	ref, err := cas.Parse(key)
	if err != nil || ref.String() != key {
		return nil, s3err.Newf(s3err.NoSuchKey, "Sample keys are lowercase hex sha256 digests.").With("Key", key)
	}
	f, err := d.svc.Index().GetFile(ctx, ref)
	if errors.Is(err, index.ErrNotFound) {
		return nil, s3err.New(s3err.NoSuchKey).With("Key", key)
	}
	if err != nil {
		return nil, s3Error(err)
	}
	a, err := d.analysisOf(ctx, ref)
	if err != nil {
		return nil, s3Error(err)
	}
	return &s3api.Object{Info: sampleInfo(key, f, a), Open: d.opener(ref)}, nil
}

func (d *Dewar) listSamples(ctx context.Context, in *s3api.ListObjectsInput) (*s3api.ListObjectsOutput, error) {
	if _, err := d.authorize(ctx, auth.Read); err != nil {
		return nil, err
	}
	idx := d.svc.Index()
	src := func(ctx context.Context, prefix, after string, limit int) ([]index.File, error) {
		files, _, err := idx.ListFiles(ctx, index.FileListOptions{Prefix: prefix, After: after, Limit: limit})
		return files, err
	}
	page, err := listing.List(ctx, src, func(f index.File) string { return f.Ref.String() }, in.Prefix, in.Delimiter, in.After, in.Max)
	if err != nil {
		return nil, s3Error(err)
	}
	out := &s3api.ListObjectsOutput{CommonPrefixes: page.CommonPrefixes, Truncated: page.Truncated, Next: page.Next}
	for _, f := range page.Items {
		out.Objects = append(out.Objects, sampleInfo(f.Ref.String(), f, index.Analysis{}))
	}
	return out, nil
}
