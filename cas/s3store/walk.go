package s3store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"dewar/cas"
)

// Walk calls fn for every blob with a Ref greater than after, in ascending
// Ref order, and stops at fn's first error, returning it. It pages through
// ListObjectsV2 under the blob prefix from StartAfter = after's key (keys
// sort as their Refs do), so memory holds one page whatever the store's
// size. Keys that are not blobs (another shape, upper-case hex, a wrong
// shard) are ignored, and so is any key an upstream lists out of order.
// Blobs created or removed during the walk may or may not be seen.
func (s *Store) Walk(ctx context.Context, after cas.Ref, fn func(cas.BlobInfo) error) error {
	in := &s3.ListObjectsV2Input{
		Bucket:     aws.String(s.cfg.Bucket),
		Prefix:     aws.String(s.blobs),
		StartAfter: aws.String(s.key(after)), // the zero Ref's key sorts below every blob
	}
	if s.listPage > 0 {
		in.MaxKeys = aws.Int32(s.listPage)
	}
	last := after
	pages := s3.NewListObjectsV2Paginator(s.client, in)
	for pages.HasMorePages() {
		if err := ctxErr(ctx, "walk"); err != nil {
			return err
		}
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("s3store: walk after %s: %w", last, err)
		}
		for _, obj := range page.Contents {
			ref, ok := s.parseKey(aws.ToString(obj.Key))
			if !ok || !last.Less(ref) {
				continue
			}
			if err := ctxErr(ctx, "walk"); err != nil {
				return err
			}
			size := aws.ToInt64(obj.Size)
			// LastModified is the blob's age for gc's grace period.
			info := cas.BlobInfo{SizedRef: cas.SizedRef{Ref: ref, Size: size}, StoredSize: size, ModTime: aws.ToTime(obj.LastModified)}
			if err := fn(info); err != nil {
				return err
			}
			last = ref
		}
	}
	return nil
}
