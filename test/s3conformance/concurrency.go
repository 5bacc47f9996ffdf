package s3conformance

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

var concurrencyCases = []testCase{
	{"ConcurrentOverwritesOfOneKey", testConcurrentOverwrites},
	{"DedupUnderConcurrency", testDedupConcurrency},
}

// testConcurrentOverwrites: many writers on one key; every read sees one
// whole version whose ETag matches its bytes, never a mix.
func testConcurrentOverwrites(t *testing.T, e *env) {
	b := e.bucket(t)
	bodies := map[string][]byte{}
	var list [][]byte
	for i := range 6 {
		body := data(50_000 + i)
		bodies[quotedMD5(body)] = body
		list = append(list, body)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 8 {
				body := list[(w+i)%len(list)]
				if _, err := e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: aws.String("k"), Body: bytes.NewReader(body)}); err != nil {
					errs <- fmt.Errorf("PutObject: %w", err)
					return
				}
				if err := readConsistent(t, e, b, "k", bodies); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := readConsistent(t, e, b, "k", bodies); err != nil {
		t.Fatal(err)
	}
}

// readConsistent GETs key and checks the bytes are one of bodies, the one
// the ETag names. A missing key is fine.
func readConsistent(t *testing.T, e *env, bucket, key string, bodies map[string][]byte) error {
	out, err := e.s3.GetObject(ctx(t), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if code, st := errInfo(err); err != nil && st == http.StatusNotFound && code == "NoSuchKey" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("GetObject %s: %w", key, err)
	}
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil {
		return fmt.Errorf("GetObject %s: body: %w", key, err)
	}
	want, ok := bodies[aws.ToString(out.ETag)]
	if !ok {
		return fmt.Errorf("GetObject %s: unknown ETag %s", key, aws.ToString(out.ETag))
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("GetObject %s: %d bytes do not match ETag %s", key, len(got), aws.ToString(out.ETag))
	}
	return nil
}

// testDedupConcurrency races puts, copies, deletes and reads of keys that
// share two bodies: a body must stay readable while any key holds it,
// however the last references come and go.
func testDedupConcurrency(t *testing.T, e *env) {
	b := e.bucket(t)
	shared := [][]byte{data(70_000), data(70_001)}
	bodies := map[string][]byte{quotedMD5(shared[0]): shared[0], quotedMD5(shared[1]): shared[1]}
	keys := []string{"k0", "k1", "k2", "k3", "k4"}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for range 25 {
				k := keys[r.IntN(len(keys))]
				var err error
				switch r.IntN(4) {
				case 0:
					body := shared[r.IntN(2)]
					_, err = e.s3.PutObject(ctx(t), &s3.PutObjectInput{Bucket: &b, Key: &k, Body: bytes.NewReader(body)})
				case 1:
					_, err = e.s3.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: &k})
				case 2:
					src := keys[r.IntN(len(keys))]
					if src == k {
						continue
					}
					_, err = e.s3.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: &b, Key: &k, CopySource: copySource(b, src)})
					if code, _ := errInfo(err); code == "NoSuchKey" {
						err = nil
					}
				case 3:
					err = readConsistent(t, e, b, k, bodies)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, k := range keys {
		if err := readConsistent(t, e, b, k, bodies); err != nil {
			t.Error(err)
		}
	}
	// Finally: both bodies under fresh keys, then everything else deleted;
	// the fresh keys still read.
	e.put(t, b, "last0", shared[0])
	e.put(t, b, "last1", shared[1])
	for _, k := range keys {
		_, err := e.s3.DeleteObject(ctx(t), &s3.DeleteObjectInput{Bucket: &b, Key: aws.String(k)})
		must(t, err, "DeleteObject")
	}
	e.wantBody(t, b, "last0", shared[0])
	e.wantBody(t, b, "last1", shared[1])
}
