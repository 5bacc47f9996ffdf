package s3store

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"dewar/cas"
)

// Remove deletes the blob's object. A missing blob is not an error (S3
// answers 204 either way; a 404 from a stricter upstream is accepted).
// Staged copies are untouched, so a later Commit can re-create the blob.
func (s *Store) Remove(ctx context.Context, ref cas.Ref) error {
	if err := ctxErr(ctx, "remove"); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: aws.String(s.key(ref))})
	if err != nil && !isNotFound(err) {
		return wrapErr("remove", ref, err)
	}
	return nil
}
