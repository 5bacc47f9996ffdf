package s3api

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"dewar/s3api/s3err"
)

// request is one authenticated S3 request on its way to an operation.
type request struct {
	w      http.ResponseWriter
	r      *http.Request
	bucket string
	key    string
	auth   authResult
	// closers run when the operation returns (body hashers).
	closers []func()
}

type opFunc func(s *Server, q *request) error

// level says which part of the namespace a route addresses.
type level int

const (
	service level = iota // "/"
	bucket               // "/bucket"
	object               // "/bucket/key"
)

// route is one line of the operation table: method, level, required query
// parameters (present, any value) and optionally a required header.
type route struct {
	name    string
	method  string
	level   level
	queries []string
	header  string
	op      opFunc
}

// routes is the S3 operation table. Within a method and level, more
// specific lines come first (gorilla/mux takes the first match).
var routes = []route{
	{"ListBuckets", http.MethodGet, service, nil, "", (*Server).listBuckets},

	// Bucket side queries answered as AWS answers for a bucket that has no
	// such configuration.
	{"GetBucketLocation", http.MethodGet, bucket, []string{"location"}, "", (*Server).getBucketLocation},
	{"GetBucketVersioning", http.MethodGet, bucket, []string{"versioning"}, "", (*Server).getBucketVersioning},
	{"ListMultipartUploads", http.MethodGet, bucket, []string{"uploads"}, "", (*Server).listMultipartUploads},
	{"GetBucketAcl", http.MethodGet, bucket, []string{"acl"}, "", (*Server).getACL},
	{"GetBucketPolicy", http.MethodGet, bucket, []string{"policy"}, "", notConfigured(s3err.NoSuchBucketPolicy)},
	{"GetBucketCors", http.MethodGet, bucket, []string{"cors"}, "", notConfigured(s3err.NoSuchCORSConfiguration)},
	{"GetBucketTagging", http.MethodGet, bucket, []string{"tagging"}, "", notConfigured(s3err.NoSuchTagSet)},
	{"GetBucketLifecycle", http.MethodGet, bucket, []string{"lifecycle"}, "", notConfigured(s3err.NoSuchLifecycleConfiguration)},
	{"GetBucketWebsite", http.MethodGet, bucket, []string{"website"}, "", notConfigured(s3err.NoSuchWebsiteConfiguration)},
	{"GetBucketEncryption", http.MethodGet, bucket, []string{"encryption"}, "", notConfigured(s3err.SSEConfigNotFound)},
	{"GetObjectLockConfiguration", http.MethodGet, bucket, []string{"object-lock"}, "", notConfigured(s3err.ObjectLockConfigNotFound)},
	{"GetBucketOwnershipControls", http.MethodGet, bucket, []string{"ownershipControls"}, "", notConfigured(s3err.OwnershipControlsNotFound)},
	{"GetPublicAccessBlock", http.MethodGet, bucket, []string{"publicAccessBlock"}, "", notConfigured(s3err.NoSuchPublicAccessBlock)},
	{"GetBucketReplication", http.MethodGet, bucket, []string{"replication"}, "", notConfigured(s3err.ReplicationConfigNotFound)},
	{"GetBucketLogging", http.MethodGet, bucket, []string{"logging"}, "", (*Server).getBucketLogging},
	{"GetBucketNotification", http.MethodGet, bucket, []string{"notification"}, "", (*Server).getBucketNotification},
	{"GetBucketAccelerate", http.MethodGet, bucket, []string{"accelerate"}, "", (*Server).getBucketAccelerate},
	{"GetBucketRequestPayment", http.MethodGet, bucket, []string{"requestPayment"}, "", (*Server).getBucketRequestPayment},
	{"ListObjectsV2", http.MethodGet, bucket, []string{"list-type"}, "", (*Server).listObjectsV2},
	{"ListObjects", http.MethodGet, bucket, nil, "", (*Server).listObjectsV1},
	{"HeadBucket", http.MethodHead, bucket, nil, "", (*Server).headBucket},
	{"PutBucketAcl", http.MethodPut, bucket, []string{"acl"}, "", (*Server).putACL},
	{"PutBucketVersioning", http.MethodPut, bucket, []string{"versioning"}, "", unsupported},
	{"PutBucketPolicy", http.MethodPut, bucket, []string{"policy"}, "", unsupported},
	{"PutBucketCors", http.MethodPut, bucket, []string{"cors"}, "", unsupported},
	{"PutBucketTagging", http.MethodPut, bucket, []string{"tagging"}, "", unsupported},
	{"PutBucketLifecycle", http.MethodPut, bucket, []string{"lifecycle"}, "", unsupported},
	{"PutBucketWebsite", http.MethodPut, bucket, []string{"website"}, "", unsupported},
	{"PutBucketEncryption", http.MethodPut, bucket, []string{"encryption"}, "", unsupported},
	{"CreateBucket", http.MethodPut, bucket, nil, "", (*Server).createBucket},
	{"DeleteBucketPolicy", http.MethodDelete, bucket, []string{"policy"}, "", (*Server).deleteNothing},
	{"DeleteBucketCors", http.MethodDelete, bucket, []string{"cors"}, "", (*Server).deleteNothing},
	{"DeleteBucketTagging", http.MethodDelete, bucket, []string{"tagging"}, "", (*Server).deleteNothing},
	{"DeleteBucketLifecycle", http.MethodDelete, bucket, []string{"lifecycle"}, "", (*Server).deleteNothing},
	{"DeleteBucketWebsite", http.MethodDelete, bucket, []string{"website"}, "", (*Server).deleteNothing},
	{"DeleteBucketEncryption", http.MethodDelete, bucket, []string{"encryption"}, "", (*Server).deleteNothing},
	{"DeleteBucket", http.MethodDelete, bucket, nil, "", (*Server).deleteBucket},
	{"DeleteObjects", http.MethodPost, bucket, []string{"delete"}, "", (*Server).deleteObjects},

	{"UploadPartCopy", http.MethodPut, object, []string{"partNumber", "uploadId"}, "X-Amz-Copy-Source", (*Server).uploadPartCopy},
	{"UploadPart", http.MethodPut, object, []string{"partNumber", "uploadId"}, "", (*Server).uploadPart},
	{"PutObjectAcl", http.MethodPut, object, []string{"acl"}, "", (*Server).putACL},
	{"PutObjectTagging", http.MethodPut, object, []string{"tagging"}, "", unsupported},
	{"PutObjectRetention", http.MethodPut, object, []string{"retention"}, "", unsupported},
	{"PutObjectLegalHold", http.MethodPut, object, []string{"legal-hold"}, "", unsupported},
	{"CopyObject", http.MethodPut, object, nil, "X-Amz-Copy-Source", (*Server).copyObject},
	{"PutObject", http.MethodPut, object, nil, "", (*Server).putObject},
	{"ListParts", http.MethodGet, object, []string{"uploadId"}, "", (*Server).listParts},
	{"GetObjectAcl", http.MethodGet, object, []string{"acl"}, "", (*Server).getACL},
	{"GetObjectTagging", http.MethodGet, object, []string{"tagging"}, "", (*Server).getObjectTagging},
	{"GetObjectAttributes", http.MethodGet, object, []string{"attributes"}, "", unsupported},
	{"GetObjectTorrent", http.MethodGet, object, []string{"torrent"}, "", unsupported},
	{"GetObject", http.MethodGet, object, nil, "", (*Server).getObject},
	{"HeadObject", http.MethodHead, object, nil, "", (*Server).headObject},
	{"AbortMultipartUpload", http.MethodDelete, object, []string{"uploadId"}, "", (*Server).abortMultipartUpload},
	{"DeleteObjectTagging", http.MethodDelete, object, []string{"tagging"}, "", (*Server).deleteNothing},
	{"DeleteObject", http.MethodDelete, object, nil, "", (*Server).deleteObject},
	{"CreateMultipartUpload", http.MethodPost, object, []string{"uploads"}, "", (*Server).createMultipartUpload},
	{"CompleteMultipartUpload", http.MethodPost, object, []string{"uploadId"}, "", (*Server).completeMultipartUpload},
	{"RestoreObject", http.MethodPost, object, []string{"restore"}, "", unsupported},
	{"SelectObjectContent", http.MethodPost, object, []string{"select"}, "", unsupported},
}

func notConfigured(code s3err.Code) opFunc {
	return func(s *Server, q *request) error {
		if err := s.cfg.Backend.HeadBucket(q.r.Context(), q.bucket); err != nil {
			return err
		}
		return s3err.New(code)
	}
}

func unsupported(*Server, *request) error { return s3err.New(s3err.NotImplemented) }

// newRouter builds the gorilla/mux router for one addressing style. Keys
// are opaque strings: SkipClean keeps "a//b" and "../x" as sent and
// UseEncodedPath matches on the escaped path, so "%2F" stays in the key.
func (s *Server) newRouter(virtualHost bool) *mux.Router {
	m := mux.NewRouter().SkipClean(true).UseEncodedPath()
	paths := map[level][]string{
		service: {"/"},
		bucket:  {"/{bucket}", "/{bucket}/"},
		object:  {"/{bucket}/{key:.+}"},
	}
	if virtualHost {
		paths = map[level][]string{bucket: {"/"}, object: {"/{key:.+}"}}
	}
	for _, rt := range routes {
		for _, p := range paths[rt.level] {
			mr := m.Methods(rt.method).Path(p)
			for _, qn := range rt.queries {
				mr = mr.Queries(qn, "{"+qn+":.*}")
			}
			if rt.header != "" {
				mr = mr.HeadersRegexp(rt.header, ".*")
			}
			mr.Handler(s.handle(rt))
		}
	}
	m.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, s3err.New(s3err.MethodNotAllowed))
	})
	m.MethodNotAllowedHandler = m.NotFoundHandler
	return m
}

// handle wraps an operation: names it, extracts bucket and key, checks
// them, authenticates, and turns the returned error into an S3 error.
func (s *Server) handle(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoOf(r.Context())
		info.Operation = rt.name
		vars := mux.Vars(r)
		q := &request{w: w, r: r}
		var err error
		if info.VirtualHostBucket != "" {
			q.bucket = info.VirtualHostBucket
		} else if q.bucket, err = url.PathUnescape(vars["bucket"]); err != nil {
			s.writeError(w, r, s3err.Newf(s3err.InvalidURI, "Couldn't parse the specified URI."))
			return
		}
		if q.key, err = url.PathUnescape(vars["key"]); err != nil {
			s.writeError(w, r, s3err.Newf(s3err.InvalidURI, "Couldn't parse the specified URI."))
			return
		}
		info.Bucket, info.Key = q.bucket, q.key
		if err := checkKey(q.key); err != nil {
			s.writeError(w, r, err)
			return
		}
		if q.auth, err = s.authenticate(r, info.VirtualHostBucket); err != nil {
			s.writeError(w, r, err)
			return
		}
		info.AccessKey = q.auth.accessKey
		err = rt.op(s, q)
		for _, c := range q.closers {
			c()
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// checkKey applies S3's limits on keys: at most 1024 bytes of UTF-8, and
// no NUL (neither index can store it).
func checkKey(key string) error {
	if len(key) > 1024 {
		return s3err.New(s3err.KeyTooLongError)
	}
	if !utf8.ValidString(key) {
		return s3err.Newf(s3err.InvalidArgument, "Object key is not valid UTF-8.")
	}
	if strings.IndexByte(key, 0) >= 0 {
		return s3err.Newf(s3err.InvalidArgument, "Object key must not contain NUL.")
	}
	return nil
}
