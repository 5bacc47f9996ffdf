package s3gw

import (
	"context"

	"dewar/gateway"
	"dewar/gateway/auth"
	"dewar/s3api"
	"dewar/s3api/s3err"
)

// Dewar is the s3api.Backend Dewar serves: it sends each request to the
// handler of its bucket's kind — the incoming buckets (incoming.go), the
// read-only samples and jobs buckets (samples.go, jobs.go) — and every
// other bucket to the ordinary S3 implementation it embeds.
type Dewar struct {
	*Gateway
	svc   *gateway.Service
	names gateway.BucketNames
}

var _ s3api.Backend = (*Dewar)(nil)

// NewDewar returns the full backend over an ordinary Gateway and the core
// service.
func NewDewar(g *Gateway, svc *gateway.Service) *Dewar {
	return &Dewar{Gateway: g, svc: svc, names: svc.Buckets()}
}

func (d *Dewar) kind(bucket string) gateway.BucketKind { return d.names.Kind(bucket) }

// readOnly is the answer to writes into samples and jobs: their contents
// come from ingestion only.
func readOnly(bucket string) error {
	return s3err.Newf(s3err.AccessDenied, "The %s bucket is read-only: its contents come from ingestion.", bucket)
}

// conditionalSubmission refuses If-None-Match/If-Match on uploads to the
// incoming buckets: every upload is a new job, never an overwrite.
func conditionalSubmission() error {
	return s3err.Newf(s3err.NotImplemented, "Conditional writes do not apply to the incoming buckets: every upload becomes a new job.")
}

func (d *Dewar) CreateBucket(ctx context.Context, bucket string) error {
	if d.kind(bucket) != gateway.Ordinary {
		if _, err := d.authorize(ctx, auth.Read); err != nil {
			return err
		}
		return s3err.New(s3err.BucketAlreadyOwnedByYou).With("BucketName", bucket)
	}
	return d.Gateway.CreateBucket(ctx, bucket)
}

func (d *Dewar) DeleteBucket(ctx context.Context, bucket string) error {
	if d.kind(bucket) != gateway.Ordinary {
		return s3err.Newf(s3err.AccessDenied, "The %s bucket is Dewar's own and cannot be deleted.", bucket)
	}
	return d.Gateway.DeleteBucket(ctx, bucket)
}

func (d *Dewar) PutObject(ctx context.Context, in *s3api.PutObjectInput) (*s3api.PutResult, error) {
	switch k := d.kind(in.Bucket); {
	case k.Incoming() && in.Condition != (s3api.WriteCondition{}):
		return nil, conditionalSubmission()
	case k.Incoming():
		return d.putIncoming(ctx, in, k)
	case k == gateway.Samples || k == gateway.Jobs:
		return nil, readOnly(in.Bucket)
	}
	return d.Gateway.PutObject(ctx, in)
}

func (d *Dewar) GetObject(ctx context.Context, bucket, key string) (*s3api.Object, error) {
	switch k := d.kind(bucket); {
	case k.Incoming():
		return d.getIncoming(ctx, bucket, key)
	case k == gateway.Samples:
		return d.getSample(ctx, key)
	case k == gateway.Jobs:
		return d.getJobObject(ctx, key)
	}
	return d.Gateway.GetObject(ctx, bucket, key)
}

func (d *Dewar) DeleteObject(ctx context.Context, bucket, key string) error {
	if d.kind(bucket) != gateway.Ordinary {
		return s3err.Newf(s3err.AccessDenied, "Objects in the %s bucket cannot be deleted through S3.", bucket)
	}
	return d.Gateway.DeleteObject(ctx, bucket, key)
}

func (d *Dewar) CopyObject(ctx context.Context, in *s3api.CopyObjectInput) (*s3api.PutResult, error) {
	if d.kind(in.Source.Bucket) != gateway.Ordinary {
		return nil, s3err.Newf(s3err.NotImplemented, "Copying out of the %s bucket is not supported; GET the object instead.", in.Source.Bucket)
	}
	switch k := d.kind(in.Bucket); {
	case k.Incoming():
		return d.copyIncoming(ctx, in, k)
	case k != gateway.Ordinary:
		return nil, readOnly(in.Bucket)
	}
	return d.Gateway.CopyObject(ctx, in)
}

func (d *Dewar) ListObjects(ctx context.Context, in *s3api.ListObjectsInput) (*s3api.ListObjectsOutput, error) {
	switch k := d.kind(in.Bucket); {
	case k.Incoming():
		return d.listIncoming(ctx, in)
	case k == gateway.Samples:
		return d.listSamples(ctx, in)
	case k == gateway.Jobs:
		return d.listJobs(ctx, in)
	}
	return d.Gateway.ListObjects(ctx, in)
}

func (d *Dewar) CreateMultipartUpload(ctx context.Context, in *s3api.CreateMultipartUploadInput) (string, error) {
	switch k := d.kind(in.Bucket); {
	case k.Incoming():
		p, err := d.authorize(ctx, auth.Submit)
		if err != nil {
			return "", err
		}
		// Check the submission metadata now, not after gigabytes of parts.
		if _, err := d.submission(p, in.Bucket, in.Key, in.Metadata, in.Headers.ContentType, k); err != nil {
			return "", err
		}
	case k != gateway.Ordinary:
		return "", readOnly(in.Bucket)
	}
	return d.Gateway.CreateMultipartUpload(ctx, in)
}

func (d *Dewar) UploadPartCopy(ctx context.Context, in *s3api.UploadPartCopyInput) (*s3api.PutResult, error) {
	if d.kind(in.Source.Bucket) != gateway.Ordinary {
		return nil, s3err.Newf(s3err.NotImplemented, "Copying out of the %s bucket is not supported.", in.Source.Bucket)
	}
	return d.Gateway.UploadPartCopy(ctx, in)
}

func (d *Dewar) CompleteMultipartUpload(ctx context.Context, in *s3api.CompleteMultipartUploadInput) (*s3api.PutResult, error) {
	if k := d.kind(in.Bucket); k.Incoming() {
		if in.Condition != (s3api.WriteCondition{}) {
			return nil, conditionalSubmission()
		}
		return d.completeIncoming(ctx, in, k)
	}
	return d.Gateway.CompleteMultipartUpload(ctx, in)
}
