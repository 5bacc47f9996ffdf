package gateway

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"dewar/cas"
	"dewar/cas/s3store"
	"dewar/index"
	"dewar/index/postgres"
	"dewar/index/postgres/pgtest"
	"dewar/s3api"
	"dewar/s3api/s3mem"
	"dewar/test/harness"
)

// TestGCAndVerifyUpstreamPostgres runs verify and gc on the scale-out
// pair: an upstream S3 store (Dewar's S3 layer over memory, on
// 127.0.0.1) and a PostgreSQL index. gc frees the orphan and the dropped
// blob and keeps the referenced one; verify then sees a healthy store,
// and reports a blob removed upstream behind the index's back as missing.
func TestGCAndVerifyUpstreamPostgres(t *testing.T) {
	ctx := context.Background()
	h, err := s3api.New(s3api.Config{
		Backend: s3mem.New(), Credentials: s3mem.Credentials{harness.AccessKey: harness.SecretKey},
		Region: harness.Region, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	direct := s3.New(s3.Options{Region: harness.Region, BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(harness.AccessKey, harness.SecretKey, "")})
	if _, err := direct.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("blobs")}); err != nil {
		t.Fatal(err)
	}
	q := url.Values{"endpoint": {srv.URL}, "region": {harness.Region}, "access_key": {harness.AccessKey}, "secret_key": {harness.SecretKey}}
	st, err := s3store.Open(ctx, "s3://blobs/node?"+q.Encode(), s3store.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := postgres.Open(ctx, pgtest.NewSchema(t, pgtest.NewDatabase(t)), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	if err := idx.CreateBucket(ctx, index.Bucket{Name: "b", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	put := func(key, data string) cas.Ref {
		s, err := st.Stage(ctx, strings.NewReader(data), cas.StageOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Discard()
		commit := func(ctx context.Context) error { _, err := s.Commit(ctx); return err }
		if _, err := idx.PutObject(ctx, index.Object{Bucket: "b", Key: key, Blob: s.Ref().Ref, Size: s.Ref().Size}, commit); err != nil {
			t.Fatal(err)
		}
		return s.Ref().Ref
	}
	kept := put("kept", "still referenced")
	gone := put("gone", "removed upstream behind the index's back")
	dropped := put("dropped", "dropped but not reaped")
	if _, err := idx.DeleteObject(ctx, "b", "dropped"); err != nil {
		t.Fatal(err)
	}
	orphan, _, err := st.Put(ctx, strings.NewReader("nobody refers to me"), cas.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	later := func() time.Time { return time.Now().Add(2 * time.Hour) } // everything is past the grace period

	// The dropped blob's index row says nothing refers to it (Reap
	// re-checks under its lock): freed at once. The orphan the index never
	// knew waits out the grace period, as an upload in flight would.
	r, err := GC(ctx, st, idx, GCOptions{Grace: time.Hour})
	if err != nil || r.Removed != 1 || r.Young != 1 || r.Freed != int64(len("dropped but not reaped")) {
		t.Fatalf("gc within the grace period: %+v, %v (want the dropped blob freed, the orphan young)", r, err)
	}
	r, err = GC(ctx, st, idx, GCOptions{Grace: time.Hour, Now: later})
	if err != nil || r.Removed != 1 || r.Young != 0 || r.Freed != int64(len("nobody refers to me")) {
		t.Fatalf("gc past the grace period: %+v, %v (want the orphan freed)", r, err)
	}
	for ref, want := range map[cas.Ref]bool{kept: true, gone: true, orphan.Ref: false, dropped: false} {
		if _, err := st.Stat(ctx, ref); (err == nil) != want {
			t.Errorf("after gc, blob %s present=%v, want %v", ref, err == nil, want)
		}
	}
	if v, err := Verify(ctx, st, idx, nil); err != nil || v.Damaged() || v.Blobs != 2 {
		t.Fatalf("verify after gc: %+v, %v", v, err)
	}
	if err := st.Remove(ctx, gone); err != nil {
		t.Fatal(err)
	}
	v, err := Verify(ctx, st, idx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Damaged() || len(v.Missing) != 1 || v.Missing[0] != gone {
		t.Fatalf("verify with a blob removed upstream: %+v (want %s missing)", v, gone)
	}
}
