package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"time"

	"dewar/gateway"
	"dewar/gateway/auth"
	"dewar/gateway/ingest"
	"dewar/gateway/s3gw"
	"dewar/gateway/watch"
	"dewar/gateway/web"
	"dewar/gateway/web/api"
	"dewar/s3api"
)

type serveFlags struct {
	storage         storageFlags
	s3Addr          string
	uiAddr          string
	workers         int
	node            string
	watchKnownGood  string
	watchOther      string
	watchStable     time.Duration
	domains         string
	tlsCert, tlsKey string
	region          string
	logLevel        string
	logFormat       string
	shutdownTimeout time.Duration
	debugAddr       string
}

func runServe(ctx context.Context, args []string) error {
	var f serveFlags
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	f.storage.register(fs)
	fs.StringVar(&f.s3Addr, "s3-addr", envOr("DEWAR_S3_ADDR", "127.0.0.1:9000"), "S3 listen address (env DEWAR_S3_ADDR)")
	fs.StringVar(&f.uiAddr, "ui-addr", envOr("DEWAR_UI_ADDR", "127.0.0.1:9001"), "web UI and JSON API listen address (env DEWAR_UI_ADDR)")
	fs.IntVar(&f.workers, "workers", envInt("DEWAR_WORKERS", 2), "ingestion workers (env DEWAR_WORKERS)")
	fs.StringVar(&f.watchKnownGood, "watch-knowngood", envOr("DEWAR_WATCH_KNOWNGOOD", ""), "folder whose files become known-good jobs (env DEWAR_WATCH_KNOWNGOOD)")
	fs.StringVar(&f.watchOther, "watch-other", envOr("DEWAR_WATCH_OTHER", ""), "folder whose files become ordinary jobs (env DEWAR_WATCH_OTHER)")
	fs.DurationVar(&f.watchStable, "watch-stable", 5*time.Second, "how long a watched file must stop changing before it is submitted")
	host, _ := os.Hostname()
	fs.StringVar(&f.node, "node", envOr("DEWAR_NODE", host), "this node's name in job leases; unique per node (env DEWAR_NODE)")
	fs.StringVar(&f.domains, "domain", envOr("DEWAR_DOMAIN", ""), "comma-separated base domains for virtual-hosted-style requests, e.g. s3.example.org (env DEWAR_DOMAIN)")
	fs.StringVar(&f.tlsCert, "tls-cert", envOr("DEWAR_TLS_CERT", ""), "PEM certificate: serve HTTPS (env DEWAR_TLS_CERT)")
	fs.StringVar(&f.tlsKey, "tls-key", envOr("DEWAR_TLS_KEY", ""), "PEM private key for --tls-cert (env DEWAR_TLS_KEY)")
	fs.StringVar(&f.region, "region", envOr("DEWAR_REGION", "us-east-1"), "region clients sign for (env DEWAR_REGION)")
	fs.StringVar(&f.logLevel, "log-level", envOr("DEWAR_LOG_LEVEL", "info"), "debug, info, warn or error (env DEWAR_LOG_LEVEL)")
	fs.StringVar(&f.logFormat, "log-format", envOr("DEWAR_LOG_FORMAT", "text"), "text or json (env DEWAR_LOG_FORMAT)")
	fs.StringVar(&f.debugAddr, "debug-addr", envOr("DEWAR_DEBUG_ADDR", ""), "serve Go profiles (net/http/pprof) on this address, unauthenticated: keep it on loopback (env DEWAR_DEBUG_ADDR)")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 2*time.Minute, "how long in-flight requests may finish after SIGTERM")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	log, err := newLogger(f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	slog.SetDefault(log)

	store, idx, err := f.storage.open()
	if err != nil {
		return err
	}
	defer idx.Close()

	root, generated, err := auth.LoadRoot(f.storage.dataDir, os.Getenv("DEWAR_ROOT_ACCESS_KEY"), os.Getenv("DEWAR_ROOT_SECRET_KEY"))
	if err != nil {
		return err
	}
	if generated {
		fmt.Printf("Generated root credentials (kept in %s, mode 0600; shown only now):\n  access key: %s\n  secret key: %s\n",
			filepath.Join(f.storage.dataDir, auth.RootCredentialsFile), root.AccessKey, root.SecretKey)
	}
	authn := auth.New(idx, root)
	gidx, ok := idx.(gateway.Index)
	if !ok {
		return errors.New("this index cannot hold jobs yet")
	}
	svc, err := gateway.New(ctx, gateway.Options{Store: store, Index: gidx, Logger: log})
	if err != nil {
		return err
	}
	runner, err := ingest.New(ingest.Options{
		Store: store, Index: gidx, Workers: f.workers, Node: f.node, Logger: log,
		TempDir: filepath.Join(f.storage.dataDir, "tmp"),
	})
	if err != nil {
		return err
	}
	svc.SetNotify(runner.Notify)

	gw, err := s3gw.New(s3gw.Options{Store: store, Index: idx, Auth: authn, Logger: log})
	if err != nil {
		return err
	}
	// x-amz-id-2 names the node that answered.
	s3srv, err := s3api.New(s3api.Config{
		Backend: s3gw.NewDewar(gw, svc), Credentials: gw, Region: f.region, Domains: splitList(f.domains),
		Logger: log, DeferPayloadHash: true, HostID: f.node,
	})
	if err != nil {
		return err
	}
	webHandler := web.Handler(web.Options{Auth: authn, API: api.New(svc, log), Logger: log})

	s3ln, err := net.Listen("tcp", f.s3Addr)
	if err != nil {
		return err
	}
	uiln, err := net.Listen("tcp", f.uiAddr)
	if err != nil {
		s3ln.Close()
		return err
	}
	servers := []*http.Server{newHTTPServer(s3srv, log), newHTTPServer(webHandler, log)}
	scheme := "http"
	if f.tlsCert != "" {
		scheme = "https"
	}
	log.Info("dewar serving", "s3", scheme+"://"+s3ln.Addr().String(), "ui", scheme+"://"+uiln.Addr().String(),
		"data_dir", f.storage.dataDir, "region", f.region, "workers", f.workers)

	errc := make(chan error, 3)
	for i, ln := range []net.Listener{s3ln, uiln} {
		srv := servers[i]
		go func() {
			var err error
			if f.tlsCert != "" {
				err = srv.ServeTLS(ln, f.tlsCert, f.tlsKey)
			} else {
				err = srv.Serve(ln)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	if f.debugAddr != "" {
		dln, err := net.Listen("tcp", f.debugAddr)
		if err != nil {
			return err
		}
		defer dln.Close()
		log.Info("serving Go profiles", "debug", "http://"+dln.Addr().String()+"/debug/pprof/")
		go func() { _ = http.Serve(dln, debugHandler()) }()
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	workDone := make(chan struct{})
	go func() {
		defer close(workDone)
		if err := runner.Run(workCtx); err != nil {
			errc <- err
		}
	}()

	var watchDirs []watch.Dir
	if f.watchKnownGood != "" {
		watchDirs = append(watchDirs, watch.Dir{Path: f.watchKnownGood, KnownGood: true})
	}
	if f.watchOther != "" {
		watchDirs = append(watchDirs, watch.Dir{Path: f.watchOther})
	}
	if len(watchDirs) > 0 {
		go func() {
			err := watch.Run(workCtx, watch.Options{Dirs: watchDirs, Submitter: svc, StableFor: f.watchStable, Logger: log})
			if err != nil {
				errc <- err
			}
		}()
	}

	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	log.Info("shutting down: waiting for in-flight requests", "timeout", f.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(sctx); err != nil && serveErr == nil {
			serveErr = fmt.Errorf("shutdown: %w", err)
		}
	}
	// Jobs in flight go back to the queue for the next start.
	stopWork()
	<-workDone
	log.Info("stopped")
	return serveErr
}

func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format %q: use text or json", format)
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// debugHandler serves net/http/pprof: heap and CPU profiles of a running
// server, for finding where memory or time goes in production.
func debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
