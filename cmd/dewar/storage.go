package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"dewar/cas"
	"dewar/cas/filestore"
	"dewar/cas/s3store"
	"dewar/index"
	"dewar/index/postgres"
	"dewar/index/sqlite"
)

// storageFlags are the flags every command that opens storage takes
// (serve and the maintenance commands).
type storageFlags struct {
	dataDir  string
	index    string
	store    string
	compress bool
}

func (s *storageFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.dataDir, "data-dir", envOr("DEWAR_DATA_DIR", "./dewar-data"), "data directory (env DEWAR_DATA_DIR)")
	fs.StringVar(&s.index, "index", envOr("DEWAR_INDEX", ""), "index: SQLite file path, or postgres://… (env DEWAR_INDEX; default <data-dir>/index.db)")
	fs.StringVar(&s.store, "store", envOr("DEWAR_STORE", ""), "content store: file://DIR or s3://bucket/prefix?endpoint=… (env DEWAR_STORE; default file://<data-dir>/store)")
	compress, _ := strconv.ParseBool(os.Getenv("DEWAR_COMPRESS"))
	fs.BoolVar(&s.compress, "compress", compress, "file:// store: keep blobs zstd-compressed when that saves at least 10% (env DEWAR_COMPRESS)")
}

// open opens the content store and the index named by the flags. This is
// the one switch that chooses implementations.
func (s *storageFlags) open() (cas.Store, index.Index, error) {
	if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
		return nil, nil, err
	}
	store, err := openStore(s.store, s.dataDir, s.compress)
	if err != nil {
		return nil, nil, err
	}
	idx, err := openIndex(s.index, s.dataDir)
	if err != nil {
		return nil, nil, err
	}
	return store, idx, nil
}

func openStore(spec, dataDir string, compress bool) (cas.Store, error) {
	if spec == "" {
		spec = "file://" + filepath.Join(dataDir, "store")
	}
	u, err := url.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("--store: %w", err)
	}
	switch u.Scheme {
	case "file":
		dir := u.Path
		if u.Host != "" && u.Host != "localhost" { // file://relative/dir
			dir = filepath.Join(u.Host, u.Path)
		}
		return filestore.Open(dir, filestore.Options{Compress: compress})
	case "s3":
		tmp := filepath.Join(dataDir, "tmp")
		if err := os.MkdirAll(tmp, 0o700); err != nil {
			return nil, err
		}
		st, err := s3store.Open(context.Background(), spec, s3store.Options{TempDir: tmp})
		if err != nil {
			return nil, fmt.Errorf("--store: %w", err)
		}
		return st, nil
	default:
		return nil, fmt.Errorf("--store: unsupported scheme %q (use file://DIR or s3://bucket/prefix?endpoint=…)", u.Scheme)
	}
}

func openIndex(spec, dataDir string) (index.Index, error) {
	switch {
	case spec == "":
		return sqlite.Open(filepath.Join(dataDir, "index.db"), sqlite.Options{})
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		ix, err := postgres.Open(context.Background(), spec, postgres.Options{})
		if err != nil {
			return nil, fmt.Errorf("--index %s: %w", redact(spec), err)
		}
		return ix, nil
	default:
		return sqlite.Open(strings.TrimPrefix(spec, "sqlite://"), sqlite.Options{})
	}
}

// redact hides a password in a connection URL for messages.
func redact(spec string) string {
	u, err := url.Parse(spec)
	if err != nil {
		return "(unparseable)"
	}
	return u.Redacted()
}
