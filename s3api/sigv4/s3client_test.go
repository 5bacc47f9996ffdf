package sigv4

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestS3Client drives the real aws-sdk-go-v2 S3 client against the
// verifier. Over plain HTTP it signs the payload digest; over TLS it sends
// STREAMING-UNSIGNED-PAYLOAD-TRAILER with an x-amz-checksum-crc32 trailer,
// which is what aws CLI and boto3 do too (CLIENTS.md).
func TestS3Client(t *testing.T) {
	ctx := context.Background()
	const key = "dir/it's a b+c%d=e&f (1) [2] ü 日本語 ☃.txt"
	for _, useTLS := range []bool{false, true} {
		srv := newServer(t, newVerifier(time.Time{}), useTLS)
		client := s3.New(s3.Options{
			Region:       testRegion,
			BaseEndpoint: aws.String(srv.URL),
			UsePathStyle: true,
			Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSK}, nil
			}),
			HTTPClient:       srv.Client(),
			RetryMaxAttempts: 1,
			// what config.LoadDefaultConfig gives, and what aws CLI v2 does
			RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		})
		small := testData(100_000)
		big := testData(3 << 20) // above the SDK's Expect: 100-continue threshold
		ops := []struct {
			name    string
			call    func() error
			body    []byte // expected payload, nil for none
			tlsOnly bool
		}{
			{"PutObject", func() error {
				_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key),
					Body: bytes.NewReader(small), Metadata: map[string]string{"notes": "x  y"}, ContentType: aws.String("text/plain")})
				return err
			}, small, false},
			{"PutObject 3MiB", func() error {
				_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String("big"),
					Body: bytes.NewReader(big)})
				return err
			}, big, false},
			{"PutObject unknown length", func() error {
				_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String("stream"),
					Body: io.LimitReader(bytes.NewReader(small), int64(len(small)))})
				return err
			}, small, true},
			{"UploadPart", func() error {
				_, err := client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("bucket"), Key: aws.String(key),
					PartNumber: aws.Int32(2), UploadId: aws.String("up+id/=="), Body: bytes.NewReader(small)})
				return err
			}, small, false},
			{"GetObject", func() error {
				_, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key),
					Range: aws.String("bytes=0-9"), IfMatch: aws.String(`"etag"`)})
				return err
			}, nil, false},
			{"HeadObject", func() error {
				_, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key)})
				return err
			}, nil, false},
			{"ListObjectsV2", func() error {
				_, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bucket"),
					Prefix: aws.String("dir/a b+c"), Delimiter: aws.String("/"), StartAfter: aws.String("ü"),
					ContinuationToken: aws.String("tok+/="), EncodingType: types.EncodingTypeUrl})
				return err
			}, nil, false},
			{"DeleteObjects", func() error {
				_, err := client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("bucket"),
					Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String(key)}}}})
				return err
			}, nil, false},
			{"CreateMultipartUpload", func() error {
				_, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("bucket"),
					Key: aws.String(key), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
				return err
			}, nil, false},
			{"CopyObject", func() error {
				_, err := client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("bucket"), Key: aws.String("copy"),
					CopySource: aws.String("bucket/" + key), MetadataDirective: types.MetadataDirectiveReplace})
				return err
			}, nil, false},
			{"DeleteObject", func() error {
				_, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key)})
				return err
			}, nil, false},
		}
		for _, op := range ops {
			if op.tlsOnly && !useTLS {
				continue // the SDK refuses unseekable bodies without TLS
			}
			name := op.name + map[bool]string{false: " http", true: " https"}[useTLS]
			t.Run(name, func(t *testing.T) {
				callErr := op.call() // responses are empty; only the server side matters
				o := srv.wait(t)
				if o.err != nil {
					t.Fatalf("verify: %v (client: %v)", o.err, callErr)
				}
				if op.body == nil {
					if o.res.PayloadMode == StreamingUnsignedTrailer {
						t.Errorf("mode %v for a request without payload", o.res.PayloadMode)
					}
					return
				}
				if !bytes.Equal(o.body, op.body) {
					t.Fatalf("body: %d bytes, want %d", len(o.body), len(op.body))
				}
				if useTLS {
					wantLen := int64(len(op.body))
					if op.tlsOnly {
						wantLen = -1 // no x-amz-decoded-content-length
					}
					if o.res.PayloadMode != StreamingUnsignedTrailer || o.res.ContentLength != wantLen {
						t.Errorf("mode %v length %d", o.res.PayloadMode, o.res.ContentLength)
					}
					if got := trailerValue(o.trailer, "x-amz-checksum-crc32"); got != crc32Base64(op.body) {
						t.Errorf("trailer crc32 = %q, want %q", got, crc32Base64(op.body))
					}
				} else if o.res.PayloadMode != SignedHex && o.res.PayloadMode != Unsigned {
					t.Errorf("mode %v", o.res.PayloadMode)
				}
			})
		}
	}
}

// TestS3PresignClient: URLs from the SDK's presign client, fetched with a
// plain HTTP client.
func TestS3PresignClient(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t, newVerifier(time.Time{}), false)
	client := s3.New(s3.Options{
		Region: testRegion, BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSK}, nil
		}),
	})
	pc := s3.NewPresignClient(client)
	const key = "a b+c/ü☃%.txt"
	get, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key),
		ResponseContentDisposition: aws.String(`attachment; filename="x y.txt"`)})
	if err != nil {
		t.Fatal(err)
	}
	put, err := pc.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("presigned body")
	for _, p := range []struct {
		method, url string
		hdr         map[string][]string
		body        []byte
	}{{get.Method, get.URL, get.SignedHeader, nil}, {put.Method, put.URL, put.SignedHeader, body}} {
		req := newRequest(t, p.method, "http://x", "/", "", p.body)
		req.URL, _ = req.URL.Parse(p.url)
		req.Host = req.URL.Host
		for k, vs := range p.hdr {
			if !strings.EqualFold(k, "host") {
				req.Header[k] = vs
			}
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // urllib's default, unsigned
		o := srv.do(t, req)
		if o.err != nil {
			t.Fatalf("%s %s: %v", p.method, p.url, o.err)
		}
		if !o.res.Presigned || !bytes.Equal(o.body, p.body) {
			t.Errorf("%s: presigned=%v body=%q", p.method, o.res.Presigned, o.body)
		}
	}
}
