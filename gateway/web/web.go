// Package web is Dewar's second listener: the JSON API under /api/v1 (and,
// later, the web UI), /healthz, with HTTP Basic authentication (access key
// as user name, secret as password) and strict security headers.
package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"dewar/gateway/auth"
)

type principalKey struct{}

// Principal returns the authenticated caller of an API request.
func Principal(ctx context.Context) (auth.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(auth.Principal)
	return p, ok
}

// WithPrincipal returns ctx carrying p (tests and internal calls).
func WithPrincipal(ctx context.Context, p auth.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// Options configure the handler.
type Options struct {
	Auth   *auth.Authenticator
	API    http.Handler // mounted at /api/v1/
	Logger *slog.Logger
}

// Handler returns the listener's handler.
func Handler(o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("/api/v1/", basicAuth(o.Auth, o.API))
	return securityHeaders(logRequests(o.Logger, mux))
}

// basicAuth authenticates every request with HTTP Basic credentials.
func basicAuth(a *auth.Authenticator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ak, secret, ok := r.BasicAuth()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="dewar"`)
			http.Error(w, `{"error":{"code":"unauthorized","message":"HTTP Basic credentials required (access key and secret)"}}`, http.StatusUnauthorized)
			return
		}
		u, root, err := a.Lookup(r.Context(), ak)
		if err != nil || subtle.ConstantTimeCompare([]byte(u.SecretKey), []byte(secret)) != 1 {
			if err != nil && !errors.Is(err, auth.ErrUnknownUser) {
				http.Error(w, `{"error":{"code":"internal","message":"authentication failed"}}`, http.StatusInternalServerError)
				return
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="dewar"`)
			http.Error(w, `{"error":{"code":"unauthorized","message":"wrong access key or secret"}}`, http.StatusUnauthorized)
			return
		}
		p := auth.Principal{AccessKey: u.AccessKey, Name: u.Name, Role: u.Role, Root: root}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// securityHeaders: no scripts, styles or frames from anywhere else, no
// sniffing, no referrers.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		log.Info("http", "method", r.Method, "path", r.URL.Path, "status", sw.status, "duration", time.Since(start), "remote", r.RemoteAddr)
	})
}
