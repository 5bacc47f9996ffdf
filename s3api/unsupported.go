package s3api

import (
	"context"

	"dewar/s3api/s3err"
)

// Unsupported answers NotImplemented for every operation. Embed it in a
// Backend to implement only some operations.
type Unsupported struct{}

var _ Backend = Unsupported{}

func notImplemented() error { return s3err.New(s3err.NotImplemented) }

func (Unsupported) ListBuckets(context.Context) ([]BucketInfo, Owner, error) {
	return nil, Owner{}, notImplemented()
}
func (Unsupported) CreateBucket(context.Context, string) error { return notImplemented() }
func (Unsupported) HeadBucket(context.Context, string) error   { return notImplemented() }
func (Unsupported) DeleteBucket(context.Context, string) error { return notImplemented() }
func (Unsupported) PutObject(context.Context, *PutObjectInput) (*PutResult, error) {
	return nil, notImplemented()
}
func (Unsupported) GetObject(context.Context, string, string) (*Object, error) {
	return nil, notImplemented()
}
func (Unsupported) DeleteObject(context.Context, string, string) error { return notImplemented() }
func (Unsupported) CopyObject(context.Context, *CopyObjectInput) (*PutResult, error) {
	return nil, notImplemented()
}
func (Unsupported) ListObjects(context.Context, *ListObjectsInput) (*ListObjectsOutput, error) {
	return nil, notImplemented()
}
func (Unsupported) CreateMultipartUpload(context.Context, *CreateMultipartUploadInput) (string, error) {
	return "", notImplemented()
}
func (Unsupported) UploadPart(context.Context, *UploadPartInput) (*PutResult, error) {
	return nil, notImplemented()
}
func (Unsupported) UploadPartCopy(context.Context, *UploadPartCopyInput) (*PutResult, error) {
	return nil, notImplemented()
}
func (Unsupported) CompleteMultipartUpload(context.Context, *CompleteMultipartUploadInput) (*PutResult, error) {
	return nil, notImplemented()
}
func (Unsupported) AbortMultipartUpload(context.Context, string, string, string) error {
	return notImplemented()
}
func (Unsupported) ListParts(context.Context, *ListPartsInput) (*ListPartsOutput, error) {
	return nil, notImplemented()
}
func (Unsupported) ListMultipartUploads(context.Context, *ListUploadsInput) (*ListUploadsOutput, error) {
	return nil, notImplemented()
}
