package s3conformance

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

var bucketCases = []testCase{
	{"ListBuckets", testListBuckets},
	{"CreateBucketTwiceIsOwnedByYou", testCreateBucketTwice},
	{"CreateBucketInvalidNames", testCreateBucketInvalidNames},
	{"CreateBucketLocationConstraint", testCreateBucketLocation},
	{"HeadBucket", testHeadBucket},
	{"DeleteBucket", testDeleteBucket},
	{"GetBucketLocation", testGetBucketLocation},
	{"GetBucketVersioningUnversioned", testGetBucketVersioning},
	{"BucketSideQueries", testBucketSideQueries},
	{"PutObjectPrivateACLStandardClass", testPutObjectACLStorageClass},
}

func testListBuckets(t *testing.T, e *env) {
	a, b := e.bucket(t), e.bucket(t)
	out, err := e.s3.ListBuckets(ctx(t), &s3.ListBucketsInput{})
	must(t, err, "ListBuckets")
	seen := map[string]bool{}
	var names []string
	for _, bk := range out.Buckets {
		seen[aws.ToString(bk.Name)] = true
		names = append(names, aws.ToString(bk.Name))
		if bk.CreationDate == nil || bk.CreationDate.IsZero() {
			t.Errorf("bucket %s has no CreationDate", aws.ToString(bk.Name))
		}
	}
	if !seen[a] || !seen[b] {
		t.Fatalf("ListBuckets %v lacks %s or %s", names, a, b)
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Errorf("buckets not in name order: %q before %q", names[i-1], names[i])
		}
	}
	if out.Owner == nil || aws.ToString(out.Owner.ID) == "" {
		t.Errorf("ListBuckets has no Owner")
	}
}

func testCreateBucketTwice(t *testing.T, e *env) {
	name := e.bucket(t)
	_, err := e.s3.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: &name})
	wantErr(t, err, http.StatusConflict, "BucketAlreadyOwnedByYou")
	// The bucket and its contents are untouched.
	e.put(t, name, "k", []byte("v"))
	_, err = e.s3.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: &name})
	wantErr(t, err, http.StatusConflict, "BucketAlreadyOwnedByYou")
	e.wantBody(t, name, "k", []byte("v"))
}

func testCreateBucketInvalidNames(t *testing.T, e *env) {
	for _, name := range []string{
		"ab",                    // too short
		strings.Repeat("a", 64), // too long
		"UpperCase",             // capitals
		"under_score",           // underscore
		"-leading-hyphen",       // must start with a letter or digit
		"trailing-hyphen-",      // must end with a letter or digit
		"double..dot",           // adjacent periods
		"dot.-hyphen",           // period next to hyphen
		"192.168.5.4",           // an IP address
		"xn--punycode",          // reserved prefix
		"bucket-s3alias",        // reserved suffix
		"has space",             // space
		"exclaim!",              // punctuation
	} {
		t.Run(name, func(t *testing.T) {
			// The SDK refuses some names itself; send them by hand.
			req := e.newRequest(t, http.MethodPut, name, "", nil, nil)
			if strings.ContainsAny(name, " !") {
				req.URL.RawPath = "/" + awsEscape(name)
			}
			e.signBody(t, req, nil, signOpts{})
			r := e.send(t, req)
			wantRaw(t, r, http.StatusBadRequest, "InvalidBucketName")
		})
	}
	// The longest and shortest valid names work.
	for _, name := range []string{"s3c" + strings.Repeat("x", 60), "s3c"} {
		_, err := e.s3.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String(name)})
		if err != nil {
			if code, _ := errInfo(err); code != "BucketAlreadyOwnedByYou" {
				t.Fatalf("CreateBucket %q: %v", name, err)
			}
		}
		_, err = e.s3.DeleteBucket(ctx(t), &s3.DeleteBucketInput{Bucket: aws.String(name)})
		must(t, err, "DeleteBucket "+name)
	}
}

func testHeadBucket(t *testing.T, e *env) {
	name := e.bucket(t)
	out, err := e.s3.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: &name})
	must(t, err, "HeadBucket")
	if r := aws.ToString(out.BucketRegion); r != "" && r != e.tg.Region {
		t.Errorf("x-amz-bucket-region = %q, want %q", r, e.tg.Region)
	}
	_, err = e.s3.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String(name + "-missing")})
	wantStatus(t, err, http.StatusNotFound)
}

func testDeleteBucket(t *testing.T, e *env) {
	name := e.bucket(t)
	e.put(t, name, "dir/k", []byte("v"))
	_, err := e.s3.DeleteBucket(ctx(t), &s3.DeleteBucketInput{Bucket: &name})
	wantErr(t, err, http.StatusConflict, "BucketNotEmpty")
	e.wantBody(t, name, "dir/k", []byte("v"))

	_, err = e.s3.DeleteBucket(ctx(t), &s3.DeleteBucketInput{Bucket: aws.String(name + "-missing")})
	wantErr(t, err, http.StatusNotFound, "NoSuchBucket")

	// An empty bucket goes away with 204, and is then missing.
	other := e.bucket(t)
	req := e.newRequest(t, http.MethodDelete, other, "", nil, nil)
	e.signBody(t, req, nil, signOpts{})
	wantRaw(t, e.send(t, req), http.StatusNoContent, "")
	_, err = e.s3.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: &other})
	wantStatus(t, err, http.StatusNotFound)
	_, err = e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &other, Key: aws.String("k"), Body: bytes.NewReader([]byte("x"))})
	wantErr(t, err, http.StatusNotFound, "NoSuchBucket")
	// It can be created again.
	_, err = e.s3.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: &other})
	must(t, err, "CreateBucket again")
}

func testGetBucketLocation(t *testing.T, e *env) {
	name := e.bucket(t)
	out, err := e.s3.GetBucketLocation(ctx(t), &s3.GetBucketLocationInput{Bucket: &name})
	must(t, err, "GetBucketLocation")
	want := types.BucketLocationConstraint(e.tg.Region)
	if e.tg.Region == "us-east-1" {
		want = "" // as AWS answers for us-east-1
	}
	eq(t, "LocationConstraint", out.LocationConstraint, want)
	_, err = e.s3.GetBucketLocation(ctx(t), &s3.GetBucketLocationInput{Bucket: aws.String(name + "-missing")})
	wantErr(t, err, http.StatusNotFound, "NoSuchBucket")
}

func testGetBucketVersioning(t *testing.T, e *env) {
	name := e.bucket(t)
	out, err := e.s3.GetBucketVersioning(ctx(t), &s3.GetBucketVersioningInput{Bucket: &name})
	must(t, err, "GetBucketVersioning")
	eq(t, "Status", out.Status, "")
	eq(t, "MFADelete", out.MFADelete, "")
	_, err = e.s3.GetBucketVersioning(ctx(t), &s3.GetBucketVersioningInput{Bucket: aws.String(name + "-missing")})
	wantErr(t, err, http.StatusNotFound, "NoSuchBucket")
}

func testBucketSideQueries(t *testing.T, e *env) {
	name := e.bucket(t)
	missing := name + "-missing"
	c := e.s3
	notConfigured := []struct {
		name string
		call func(bucket string) error
		code string
	}{
		{"policy", func(b string) error {
			_, err := c.GetBucketPolicy(ctx(t), &s3.GetBucketPolicyInput{Bucket: &b})
			return err
		}, "NoSuchBucketPolicy"},
		{"cors", func(b string) error {
			_, err := c.GetBucketCors(ctx(t), &s3.GetBucketCorsInput{Bucket: &b})
			return err
		}, "NoSuchCORSConfiguration"},
		{"tagging", func(b string) error {
			_, err := c.GetBucketTagging(ctx(t), &s3.GetBucketTaggingInput{Bucket: &b})
			return err
		}, "NoSuchTagSet"},
		{"lifecycle", func(b string) error {
			_, err := c.GetBucketLifecycleConfiguration(ctx(t), &s3.GetBucketLifecycleConfigurationInput{Bucket: &b})
			return err
		}, "NoSuchLifecycleConfiguration"},
	}
	for _, q := range notConfigured {
		t.Run(q.name, func(t *testing.T) {
			wantErr(t, q.call(name), http.StatusNotFound, q.code)
			wantErr(t, q.call(missing), http.StatusNotFound, "NoSuchBucket")
		})
	}
	t.Run("acl", func(t *testing.T) {
		out, err := c.GetBucketAcl(ctx(t), &s3.GetBucketAclInput{Bucket: &name})
		must(t, err, "GetBucketAcl")
		if out.Owner == nil || aws.ToString(out.Owner.ID) == "" {
			t.Fatalf("no owner in the ACL")
		}
		full := false
		for _, g := range out.Grants {
			if g.Permission == types.PermissionFullControl && g.Grantee != nil && aws.ToString(g.Grantee.ID) == aws.ToString(out.Owner.ID) {
				full = true
			}
		}
		if !full {
			t.Errorf("the owner has no FULL_CONTROL grant: %+v", out.Grants)
		}
		_, err = c.GetBucketAcl(ctx(t), &s3.GetBucketAclInput{Bucket: &missing})
		wantErr(t, err, http.StatusNotFound, "NoSuchBucket")
	})
}

func testPutObjectACLStorageClass(t *testing.T, e *env) {
	name := e.bucket(t)
	body := []byte("private standard")
	_, err := e.s3.PutObject(ctx(t), &s3.PutObjectInput{
		Bucket: &name, Key: aws.String("k"), Body: bytes.NewReader(body),
		ACL: types.ObjectCannedACLPrivate, StorageClass: types.StorageClassStandard,
	})
	must(t, err, "PutObject with ACL private and StorageClass STANDARD")
	e.wantBody(t, name, "k", body)
	out, err := e.s3.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: &name})
	must(t, err, "ListObjectsV2")
	if len(out.Contents) != 1 || out.Contents[0].StorageClass != types.ObjectStorageClassStandard {
		t.Errorf("listing: %+v", out.Contents)
	}
	// PutObjectAcl private is accepted too (rclone, s3cmd).
	_, err = e.s3.PutObjectAcl(ctx(t), &s3.PutObjectAclInput{Bucket: &name, Key: aws.String("k"), ACL: types.ObjectCannedACLPrivate})
	must(t, err, "PutObjectAcl private")
}

func testCreateBucketLocation(t *testing.T, e *env) {
	name := fmt.Sprintf("s3c-loc-%d", bucketSeq.Add(1))
	_, err := e.s3.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String(name),
		CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: "ap-south-2"}})
	if err == nil {
		t.Fatal("a bucket in another region was created")
	}
	if _, st := errInfo(err); st != http.StatusBadRequest {
		t.Fatalf("other region: %v", err)
	}
	_, err = e.s3.HeadBucket(ctx(t), &s3.HeadBucketInput{Bucket: aws.String(name)})
	wantStatus(t, err, http.StatusNotFound)
	if e.tg.Region != "us-east-1" {
		_, err = e.s3.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String(name),
			CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(e.tg.Region)}})
		must(t, err, "CreateBucket in the server's region")
		t.Cleanup(func() { e.removeBucket(t, name) })
	}
	// A malformed configuration document.
	req := e.newRequest(t, http.MethodPut, name, "", nil, []byte("<CreateBucketConfiguration>"))
	e.signBody(t, req, []byte("<CreateBucketConfiguration>"), signOpts{})
	wantRaw(t, e.send(t, req), http.StatusBadRequest, "MalformedXML")
}
