package s3gw

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"

	"dewar/cas"
	"dewar/gateway/auth"
	"dewar/index"
	"dewar/s3api"
	"dewar/s3api/s3err"
)

func (g *Gateway) CreateMultipartUpload(ctx context.Context, in *s3api.CreateMultipartUploadInput) (string, error) {
	p, err := g.authorize(ctx, auth.Write)
	if err != nil {
		return "", err
	}
	meta := objectMeta(in.Headers, in.Metadata)
	meta.ChecksumAlgorithm = in.ChecksumAlgorithm
	u := index.Upload{ID: newUploadID(), Bucket: in.Bucket, Key: in.Key, Initiated: g.now(), Owner: p.AccessKey, Meta: meta}
	if err := g.idx.CreateUpload(ctx, u); err != nil {
		return "", s3Error(err)
	}
	return u.ID, nil
}

// upload returns the upload id names, if it belongs to bucket/key.
func (g *Gateway) upload(ctx context.Context, bucket, key, id string) (index.Upload, error) {
	u, err := g.idx.GetUpload(ctx, id)
	if err == nil && (u.Bucket != bucket || u.Key != key) {
		err = index.ErrUploadNotFound
	}
	if err != nil {
		return index.Upload{}, s3err.Wrap(s3err.NoSuchUpload, err).With("UploadId", id)
	}
	return u, nil
}

func (g *Gateway) UploadPart(ctx context.Context, in *s3api.UploadPartInput) (*s3api.PutResult, error) {
	if _, err := g.authorize(ctx, auth.Write); err != nil {
		return nil, err
	}
	if _, err := g.upload(ctx, in.Bucket, in.Key, in.UploadID); err != nil {
		return nil, err
	}
	st, err := g.stage(ctx, in.Body)
	if err != nil {
		return nil, err
	}
	defer st.Discard()
	sums := in.Body.Sums()
	return g.putPart(ctx, index.Part{
		UploadID: in.UploadID, Number: in.PartNumber, Blob: st.Ref().Ref, Size: st.Ref().Size,
		ETag: hex.EncodeToString(sums.MD5), Checksums: sums.Checksums, LastModified: g.now(),
	}, commitUnderLock(st))
}

func (g *Gateway) putPart(ctx context.Context, p index.Part, commit index.CommitFunc) (*s3api.PutResult, error) {
	zeroed, err := g.idx.PutPart(ctx, p, commit)
	if err != nil {
		return nil, s3Error(err)
	}
	g.reap(ctx, zeroed)
	return &s3api.PutResult{ETag: p.ETag, LastModified: p.LastModified, Checksums: p.Checksums}, nil
}

func (g *Gateway) UploadPartCopy(ctx context.Context, in *s3api.UploadPartCopyInput) (*s3api.PutResult, error) {
	if _, err := g.authorize(ctx, auth.Write); err != nil {
		return nil, err
	}
	if _, err := g.upload(ctx, in.Bucket, in.Key, in.UploadID); err != nil {
		return nil, err
	}
	var (
		rc     io.ReadCloser
		off, n int64
	)
	// A source deleted or overwritten between the lookup and the fetch may
	// have taken its blob with it: look it up again (see CopyObject).
	for attempt := 1; ; attempt++ {
		src, err := g.idx.GetObject(ctx, in.Source.Bucket, in.Source.Key)
		if err != nil {
			return nil, s3Error(err)
		}
		if err := in.Source.Check(objectInfo(src)); err != nil {
			return nil, err
		}
		off, n = in.Offset, in.Length
		if n < 0 {
			off, n = 0, src.Size
		} else if off+n > src.Size {
			return nil, s3err.Newf(s3err.InvalidRange, "Range specified is not valid for source object of size: %d", src.Size)
		}
		rc, err = g.store.Fetch(ctx, src.Blob, off, n)
		if errors.Is(err, cas.ErrNotFound) && attempt < sourceAttempts {
			continue
		}
		if err != nil {
			return nil, err
		}
		break
	}
	defer rc.Close()
	// The part's ETag is the MD5 of its bytes; hash them on the way in.
	h := md5.New()
	st, err := g.store.Stage(ctx, io.TeeReader(rc, h), cas.StageOptions{})
	if err != nil {
		return nil, s3Error(err)
	}
	defer st.Discard()
	if st.Ref().Size != n {
		return nil, io.ErrUnexpectedEOF
	}
	if _, err := st.Commit(ctx); err != nil {
		return nil, err
	}
	return g.putPart(ctx, index.Part{
		UploadID: in.UploadID, Number: in.PartNumber, Blob: st.Ref().Ref, Size: n,
		ETag: hex.EncodeToString(h.Sum(nil)), LastModified: g.now(),
	}, commitUnderLock(st))
}

// allParts reads every stored part of an upload, by number.
func (g *Gateway) allParts(ctx context.Context, id string) (map[int]index.Part, error) {
	parts := map[int]index.Part{}
	after := 0
	for {
		page, more, err := g.idx.ListParts(ctx, id, after, 1000)
		if err != nil {
			return nil, s3Error(err)
		}
		for _, p := range page {
			parts[p.Number] = p
			after = p.Number
		}
		if !more || len(page) == 0 {
			return parts, nil
		}
	}
}

func partInfo(p index.Part) s3api.PartInfo {
	return s3api.PartInfo{Number: p.Number, ETag: p.ETag, Size: p.Size, LastModified: p.LastModified, Checksums: p.Checksums}
}

func (g *Gateway) CompleteMultipartUpload(ctx context.Context, in *s3api.CompleteMultipartUploadInput) (*s3api.PutResult, error) {
	if _, err := g.authorize(ctx, auth.Write); err != nil {
		return nil, err
	}
	a, err := g.assemble(ctx, in)
	if err != nil {
		return nil, err
	}
	defer a.discard()
	obj := index.Object{
		Bucket: in.Bucket, Key: in.Key, Blob: a.blob.Ref, Size: a.blob.Size, ETag: a.etag,
		LastModified: g.now(), Owner: a.upload.Owner, Meta: a.meta,
	}
	zeroed, err := g.idx.CompleteUploadIf(ctx, in.UploadID, obj, putCondition(in.Condition), a.commit)
	if err != nil {
		return nil, s3Error(err)
	}
	g.reap(ctx, zeroed)
	return &s3api.PutResult{ETag: a.etag, LastModified: obj.LastModified, Checksums: a.meta.Checksums, ChecksumType: a.meta.ChecksumType}, nil
}

// assembled is a multipart upload whose parts were checked and joined into
// one blob, ready to become an object (or, in an incoming bucket, a job).
type assembled struct {
	upload  index.Upload
	blob    cas.SizedRef
	commit  index.CommitFunc
	etag    string
	meta    index.ObjectMeta
	discard func()
}

// assemble checks the requested parts against the stored ones and joins
// them into one blob, so identical bytes dedupe whichever way they were
// uploaded (a single part already is the blob). The caller must call
// discard.
func (g *Gateway) assemble(ctx context.Context, in *s3api.CompleteMultipartUploadInput) (*assembled, error) {
	u, err := g.upload(ctx, in.Bucket, in.Key, in.UploadID)
	if err != nil {
		return nil, err
	}
	stored, err := g.allParts(ctx, in.UploadID)
	if err != nil {
		return nil, err
	}
	infos := make(map[int]s3api.PartInfo, len(stored))
	for n, p := range stored {
		infos[n] = partInfo(p)
	}
	chosen, err := s3api.AssembleParts(in.Parts, infos, g.opts.MinPartSize)
	if err != nil {
		return nil, err
	}
	a := &assembled{upload: u, discard: func() {}}
	if a.etag, err = s3api.MultipartETag(chosen); err != nil {
		return nil, err
	}
	sizes := make([]int64, len(chosen))
	blobs := make([]cas.Ref, len(chosen))
	for i, p := range chosen {
		sizes[i] = p.Size
		blobs[i] = stored[p.Number].Blob
	}
	if len(chosen) == 1 {
		a.blob = cas.SizedRef{Ref: blobs[0], Size: sizes[0]}
		a.commit = g.ensureExists(blobs[0])
	} else {
		st, err := g.store.Stage(ctx, &concatReader{ctx: ctx, store: g.store, blobs: blobs, sizes: sizes}, cas.StageOptions{})
		if err != nil {
			return nil, s3Error(err)
		}
		a.discard = func() { st.Discard() }
		if _, err := st.Commit(ctx); err != nil {
			st.Discard()
			return nil, err
		}
		a.blob, a.commit = st.Ref(), commitUnderLock(st)
	}
	a.meta = u.Meta
	a.meta.Parts, a.meta.PartSizes = len(chosen), sizes
	if alg := a.meta.ChecksumAlgorithm; alg != "" {
		v, err := s3api.CompositeChecksum(alg, chosen)
		if err != nil {
			a.discard()
			return nil, err
		}
		if v != "" {
			a.meta.Checksums = map[string]string{alg: v}
			a.meta.ChecksumType = "COMPOSITE"
		}
	}
	return a, nil
}

// concatReader streams blobs one after another, opening each when needed.
type concatReader struct {
	ctx   context.Context
	store cas.Fetcher
	blobs []cas.Ref
	sizes []int64
	cur   io.ReadCloser
	i     int
}

func (c *concatReader) Read(p []byte) (int, error) {
	for {
		if c.cur == nil {
			if c.i == len(c.blobs) {
				return 0, io.EOF
			}
			rc, err := c.store.Fetch(c.ctx, c.blobs[c.i], 0, -1)
			if err != nil {
				return 0, err
			}
			c.cur = struct {
				io.Reader
				io.Closer
			}{io.LimitReader(rc, c.sizes[c.i]), rc}
			c.i++
		}
		n, err := c.cur.Read(p)
		if err == io.EOF {
			c.cur.Close()
			c.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (g *Gateway) AbortMultipartUpload(ctx context.Context, bucket, key, id string) error {
	if _, err := g.authorize(ctx, auth.Write); err != nil {
		return err
	}
	if _, err := g.upload(ctx, bucket, key, id); err != nil {
		return err
	}
	zeroed, err := g.idx.AbortUpload(ctx, id)
	if err != nil {
		return s3Error(err)
	}
	g.reap(ctx, zeroed)
	return nil
}

func (g *Gateway) ListParts(ctx context.Context, in *s3api.ListPartsInput) (*s3api.ListPartsOutput, error) {
	if _, err := g.authorize(ctx, auth.Read); err != nil {
		return nil, err
	}
	u, err := g.upload(ctx, in.Bucket, in.Key, in.UploadID)
	if err != nil {
		return nil, err
	}
	parts, more, err := g.idx.ListParts(ctx, in.UploadID, in.After, in.Max)
	if err != nil {
		return nil, s3Error(err)
	}
	out := &s3api.ListPartsOutput{Truncated: more, Owner: ownerOf(u.Owner), ChecksumAlgorithm: u.Meta.ChecksumAlgorithm}
	for _, p := range parts {
		out.Parts = append(out.Parts, partInfo(p))
	}
	return out, nil
}

func (g *Gateway) ListMultipartUploads(ctx context.Context, in *s3api.ListUploadsInput) (*s3api.ListUploadsOutput, error) {
	if _, err := g.authorize(ctx, auth.Read); err != nil {
		return nil, err
	}
	page, err := g.idx.ListUploads(ctx, in.Bucket, index.UploadListOptions{
		Prefix: in.Prefix, Delimiter: in.Delimiter, KeyMarker: in.KeyMarker, UploadIDMarker: in.UploadIDMarker, Limit: in.Max,
	})
	if err != nil {
		return nil, s3Error(err)
	}
	out := &s3api.ListUploadsOutput{
		CommonPrefixes: page.CommonPrefixes, Truncated: page.Truncated,
		NextKeyMarker: page.NextKeyMarker, NextUploadIDMarker: page.NextUploadIDMarker,
	}
	for _, u := range page.Uploads {
		out.Uploads = append(out.Uploads, s3api.UploadInfo{
			Key: u.Key, UploadID: u.ID, Initiated: u.Initiated, Owner: ownerOf(u.Owner), ChecksumAlgorithm: u.Meta.ChecksumAlgorithm,
		})
	}
	return out, nil
}
