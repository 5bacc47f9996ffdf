package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"dewar/gateway/auth"
	"dewar/gateway/s3gw"
	"dewar/s3api"
)

type serveFlags struct {
	storage         storageFlags
	s3Addr          string
	domains         string
	tlsCert, tlsKey string
	region          string
	logLevel        string
	logFormat       string
	shutdownTimeout time.Duration
}

func runServe(ctx context.Context, args []string) error {
	var f serveFlags
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	f.storage.register(fs)
	fs.StringVar(&f.s3Addr, "s3-addr", envOr("DEWAR_S3_ADDR", "127.0.0.1:9000"), "S3 listen address (env DEWAR_S3_ADDR)")
	fs.StringVar(&f.domains, "domain", envOr("DEWAR_DOMAIN", ""), "comma-separated base domains for virtual-hosted-style requests, e.g. s3.example.org (env DEWAR_DOMAIN)")
	fs.StringVar(&f.tlsCert, "tls-cert", envOr("DEWAR_TLS_CERT", ""), "PEM certificate: serve HTTPS (env DEWAR_TLS_CERT)")
	fs.StringVar(&f.tlsKey, "tls-key", envOr("DEWAR_TLS_KEY", ""), "PEM private key for --tls-cert (env DEWAR_TLS_KEY)")
	fs.StringVar(&f.region, "region", envOr("DEWAR_REGION", "us-east-1"), "region clients sign for (env DEWAR_REGION)")
	fs.StringVar(&f.logLevel, "log-level", envOr("DEWAR_LOG_LEVEL", "info"), "debug, info, warn or error (env DEWAR_LOG_LEVEL)")
	fs.StringVar(&f.logFormat, "log-format", envOr("DEWAR_LOG_FORMAT", "text"), "text or json (env DEWAR_LOG_FORMAT)")
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

	gw, err := s3gw.New(s3gw.Options{Store: store, Index: idx, Auth: authn, Logger: log})
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	s3srv, err := s3api.New(s3api.Config{
		Backend: gw, Credentials: gw, Region: f.region, Domains: splitList(f.domains),
		Logger: log, DeferPayloadHash: true, HostID: host,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", f.s3Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           s3srv,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if f.tlsCert != "" {
		scheme = "https"
	}
	log.Info("dewar serving S3", "url", scheme+"://"+ln.Addr().String(), "data_dir", f.storage.dataDir, "region", f.region)

	errc := make(chan error, 1)
	go func() {
		if f.tlsCert != "" {
			errc <- srv.ServeTLS(ln, f.tlsCert, f.tlsKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: waiting for in-flight requests", "timeout", f.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
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
