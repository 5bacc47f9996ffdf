// Package s3api is the S3 protocol: addressing, routing, authentication
// (SigV4 and SigV2), request parsing, conditional requests and ranges,
// XML responses and errors. It knows nothing of Dewar: it serves any Backend.
//
// A request flows through ServeHTTP as: request id → route (path-style or
// virtual-hosted) → authenticate → parse into the operation's input type →
// Backend → response. Backends return *s3err.Error for S3 outcomes; any
// other error is logged with the request id and sent as InternalError.
package s3api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"dewar/s3api/s3err"
	"dewar/s3api/sigv2"
	"dewar/s3api/sigv4"
)

// Credentials look up the secret of an access key. Unknown keys return an
// error wrapping ErrUnknownAccessKey.
type Credentials interface {
	SecretKey(ctx context.Context, accessKey string) (string, error)
}

// ErrUnknownAccessKey is what Credentials return for keys they do not know.
var ErrUnknownAccessKey = errors.New("s3api: unknown access key")

// Config configures a Server.
type Config struct {
	Backend     Backend
	Credentials Credentials
	// Region is the SigV4 signing region and the GetBucketLocation answer.
	Region string
	// Domains enable virtual-hosted-style addressing: a request for
	// "<bucket>.<domain>" addresses <bucket>. Path-style always works.
	Domains []string
	Logger  *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// MaxObjectSize caps a single PUT (default 5 GiB, as S3).
	MaxObjectSize int64
	// MinPartSize is the smallest part but the last (default 5 MiB, as S3).
	MinPartSize int64
	// DeferPayloadHash passes a signed payload digest to the backend in
	// Body.ContentSHA256 instead of hashing the body here; for backends
	// that hash the body anyway (a content-addressed store), so each byte is
	// hashed once.
	DeferPayloadHash bool
	// HostID is sent as x-amz-id-2 (a node name, for logs).
	HostID string
}

// Server is the S3 http.Handler.
type Server struct {
	cfg    Config
	log    *slog.Logger
	path   *mux.Router
	vhost  *mux.Router
	v4     *sigv4.Verifier
	v2     *sigv2.Verifier
	bodies bodyLimits
}

type bodyLimits struct {
	maxObject, minPart int64
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Backend == nil || cfg.Credentials == nil {
		return nil, errors.New("s3api: Config needs a Backend and Credentials")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxObjectSize <= 0 {
		cfg.MaxObjectSize = 5 << 30
	}
	if cfg.MinPartSize <= 0 {
		cfg.MinPartSize = 5 << 20
	}
	creds := credentialAdapter{cfg.Credentials}
	s := &Server{
		cfg: cfg,
		log: cfg.Logger,
		v4: &sigv4.Verifier{
			Region:           cfg.Region,
			Credentials:      creds,
			Now:              cfg.Now,
			DeferPayloadHash: cfg.DeferPayloadHash,
		},
		v2:     &sigv2.Verifier{Credentials: creds, Now: cfg.Now},
		bodies: bodyLimits{maxObject: cfg.MaxObjectSize, minPart: cfg.MinPartSize},
	}
	s.path = s.newRouter(false)
	s.vhost = s.newRouter(true)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := newRequestID()
	rw := &responseWriter{ResponseWriter: w}
	h := rw.Header()
	h.Set("x-amz-request-id", id)
	h.Set("x-amz-id-2", s.cfg.HostID)
	h.Set("Server", "Dewar")
	info := &RequestInfo{ID: id}
	r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))

	if bucket, ok := s.virtualHostBucket(r.Host); ok {
		info.VirtualHostBucket = bucket
		s.vhost.ServeHTTP(rw, r)
	} else {
		s.path.ServeHTTP(rw, r)
	}

	level := slog.LevelInfo
	if rw.status >= 500 {
		level = slog.LevelError
	}
	s.log.LogAttrs(r.Context(), level, "s3",
		slog.String("request_id", id),
		slog.String("op", info.Operation),
		slog.String("method", r.Method),
		slog.String("bucket", info.Bucket),
		slog.String("key", info.Key),
		slog.String("access_key", info.AccessKey),
		slog.Int("status", rw.statusOrOK()),
		slog.Int64("bytes_out", rw.written),
		slog.Duration("duration", time.Since(start)),
		slog.String("remote", r.RemoteAddr),
	)
}

// virtualHostBucket returns the bucket named by a "<bucket>.<domain>" host.
func (s *Server) virtualHostBucket(host string) (string, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	for _, d := range s.cfg.Domains {
		d = strings.ToLower(d)
		if strings.HasSuffix(host, "."+d) {
			b := strings.TrimSuffix(host, "."+d)
			if b != "" {
				return b, true
			}
		}
	}
	return "", false
}

// RequestInfo is what s3api knows about the request being served; backends
// read it with Info(ctx).
type RequestInfo struct {
	ID                string
	Operation         string
	AccessKey         string
	Bucket            string
	Key               string
	VirtualHostBucket string
}

type requestInfoKey struct{}

// Info returns the RequestInfo of a request context (zero value outside one).
func Info(ctx context.Context) RequestInfo {
	if i, ok := ctx.Value(requestInfoKey{}).(*RequestInfo); ok {
		return *i
	}
	return RequestInfo{}
}

// WithAccessKey returns ctx as if authenticated as accessKey; for backends'
// tests and internal calls.
func WithAccessKey(ctx context.Context, accessKey string) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, &RequestInfo{AccessKey: accessKey})
}

func infoOf(ctx context.Context) *RequestInfo {
	if i, ok := ctx.Value(requestInfoKey{}).(*RequestInfo); ok {
		return i
	}
	return &RequestInfo{}
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// responseWriter records the status and byte count for the access log.
type responseWriter struct {
	http.ResponseWriter
	status  int
	written int64
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.written += int64(n)
	return n, err
}

// ReadFrom keeps net/http's sendfile path open for file-backed bodies.
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, src)
	}
	w.written += n
	return n, err
}

func (w *responseWriter) statusOrOK() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Flush lets long operations (CompleteMultipartUpload) send keep-alive
// whitespace.
func (w *responseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writeError sends err as an S3 error, logging faults.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e, known := s3err.From(err)
	info := infoOf(r.Context())
	if !known || e.Status >= 500 {
		s.log.ErrorContext(r.Context(), "s3 request failed",
			slog.String("request_id", info.ID), slog.String("op", info.Operation),
			slog.String("code", string(e.Code)), slog.Any("err", err))
	}
	resource := r.URL.EscapedPath()
	s3err.Write(w, r, e, resource, info.ID, s.cfg.HostID)
}
