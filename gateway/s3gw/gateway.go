// Package s3gw gives Dewar's semantics to the S3 protocol: it implements
// s3api.Backend over the content store and the index. Ordinary buckets
// live in ordinary.go and multipart.go; errors.go is the one place where
// domain errors become S3 errors.
package s3gw

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"dewar/cas"
	"dewar/gateway/auth"
	"dewar/index"
	"dewar/s3api"
	"dewar/s3api/s3err"
)

// Options configure a Gateway.
type Options struct {
	Store  cas.Store
	Index  index.Index
	Auth   *auth.Authenticator
	Logger *slog.Logger
	// MinPartSize is the smallest part but the last (S3: 5 MiB).
	MinPartSize int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Gateway is Dewar's s3api.Backend and s3api.Credentials.
type Gateway struct {
	store cas.Store
	idx   index.Index
	auth  *auth.Authenticator
	log   *slog.Logger
	opts  Options
}

var (
	_ s3api.Backend     = (*Gateway)(nil)
	_ s3api.Credentials = (*Gateway)(nil)
)

// New returns a Gateway.
func New(o Options) (*Gateway, error) {
	if o.Store == nil || o.Index == nil || o.Auth == nil {
		return nil, errors.New("s3gw: Options need Store, Index and Auth")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MinPartSize <= 0 {
		o.MinPartSize = 5 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Gateway{store: o.Store, idx: o.Index, auth: o.Auth, log: o.Logger, opts: o}, nil
}

// SecretKey implements s3api.Credentials.
func (g *Gateway) SecretKey(ctx context.Context, accessKey string) (string, error) {
	secret, err := g.auth.SecretKey(ctx, accessKey)
	if errors.Is(err, auth.ErrUnknownUser) {
		return "", fmt.Errorf("%w: %v", s3api.ErrUnknownAccessKey, err)
	}
	return secret, err
}

// authorize checks the caller of ctx may perform action.
func (g *Gateway) authorize(ctx context.Context, action auth.Action) (auth.Principal, error) {
	p, err := g.auth.Authorize(ctx, s3api.Info(ctx).AccessKey, action)
	if err != nil {
		return p, s3Error(err)
	}
	return p, nil
}

// now is the timestamp written into the index: UTC, milliseconds.
func (g *Gateway) now() time.Time { return g.opts.Now().UTC().Truncate(time.Millisecond) }

func ownerOf(accessKey string) s3api.Owner {
	return s3api.Owner{ID: s3api.CanonicalID(accessKey), DisplayName: accessKey}
}

// stage spools an upload body into the store and commits it, outside any
// lock; the index later runs the same (then cheap) Commit under the blob's
// lock. A signed payload digest is checked here, where the store hashes
// the body anyway.
func (g *Gateway) stage(ctx context.Context, body s3api.Body) (cas.Staged, error) {
	var opts cas.StageOptions
	if body.ContentSHA256 != nil {
		want, err := cas.RefFromBytes(body.ContentSHA256)
		if err != nil {
			return nil, s3err.Wrap(s3err.InvalidArgument, err)
		}
		opts.Want = want
	}
	st, err := g.store.Stage(ctx, body, opts)
	if err != nil {
		if errors.Is(err, cas.ErrCorrupt) && !opts.Want.IsZero() {
			return nil, s3Error(fmt.Errorf("%w: %v", errPayloadDigest, err))
		}
		return nil, s3Error(err)
	}
	if body.Size >= 0 && st.Ref().Size != body.Size {
		st.Discard()
		return nil, s3err.Newf(s3err.IncompleteBody, "Received %d bytes, expected %d.", st.Ref().Size, body.Size)
	}
	if _, err := st.Commit(ctx); err != nil {
		st.Discard()
		return nil, err
	}
	return st, nil
}

// commitUnderLock is the CommitFunc for a staged blob.
func commitUnderLock(st cas.Staged) index.CommitFunc {
	return func(ctx context.Context) error {
		_, err := st.Commit(ctx)
		return err
	}
}

// ensureExists is the CommitFunc for a blob that is already stored and
// referenced (copies): under the lock, the stat is authoritative.
func (g *Gateway) ensureExists(ref cas.Ref) index.CommitFunc {
	return func(ctx context.Context) error {
		_, err := g.store.Stat(ctx, ref)
		return err
	}
}

// reap removes blobs whose last reference went away. Failures are logged,
// not returned: the write already succeeded, and `dewar gc` reaps what is
// left (the index keeps zero-count rows until reaped).
func (g *Gateway) reap(ctx context.Context, refs []cas.Ref) {
	ctx = context.WithoutCancel(ctx)
	for _, ref := range refs {
		if _, err := g.idx.Reap(ctx, ref, g.store.Remove); err != nil {
			g.log.WarnContext(ctx, "reap failed; gc will retry", "ref", ref.String(), "err", err, "request_id", s3api.Info(ctx).ID)
		}
	}
}

// newUploadID returns a random multipart upload id.
func newUploadID() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
