package s3api

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"dewar/s3api/s3err"
	"dewar/s3api/s3xml"
)

// maxListKeys is S3's page size cap.
const maxListKeys = 1000

// maxKeysParam parses max-keys / max-uploads / max-parts: default and cap
// 1000, negative or non-numeric is InvalidArgument.
func maxKeysParam(query url.Values, name string) (int, error) {
	v := query.Get(name)
	if v == "" {
		return maxListKeys, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, s3err.Newf(s3err.InvalidArgument, "Provided %s not an integer or within integer range", name).With("ArgumentName", name).With("ArgumentValue", v)
	}
	return min(n, maxListKeys), nil
}

// encodingType reads encoding-type; only "url" exists.
func encodingType(query url.Values) (bool, error) {
	switch v := query.Get("encoding-type"); v {
	case "":
		return false, nil
	case "url":
		return true, nil
	default:
		return false, s3err.Newf(s3err.InvalidArgument, "Invalid Encoding Method specified in Request").With("ArgumentName", "encoding-type")
	}
}

// s3URLEncode encodes a key the way S3 does for encoding-type=url: form
// encoding (space as '+', '+' as %2B) with '/' left alone. botocore decodes
// it with unquote_plus, so '+' and '%' in keys survive.
func s3URLEncode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/")
}

type listParams struct {
	prefix, delimiter string
	max               int
	encode            bool
}

func readListParams(query url.Values, maxName string) (listParams, error) {
	p := listParams{prefix: query.Get("prefix"), delimiter: query.Get("delimiter")}
	var err error
	if p.max, err = maxKeysParam(query, maxName); err != nil {
		return p, err
	}
	if p.encode, err = encodingType(query); err != nil {
		return p, err
	}
	return p, nil
}

func (p listParams) enc(s string) string {
	if p.encode {
		return s3URLEncode(s)
	}
	return s
}

func (p listParams) xmlObjects(objs []ObjectInfo, withOwner bool) []s3xml.Object {
	out := make([]s3xml.Object, 0, len(objs))
	for _, o := range objs {
		xo := s3xml.Object{
			Key: p.enc(o.Key), LastModified: s3xml.Time(o.LastModified), ETag: quoteETag(o.ETag),
			Size: o.Size, StorageClass: "STANDARD",
		}
		for alg := range o.Checksums {
			xo.ChecksumAlgorithm = alg
			xo.ChecksumType = o.ChecksumType
			break
		}
		if withOwner {
			owner := xmlOwner(o.Owner)
			xo.Owner = &owner
		}
		out = append(out, xo)
	}
	return out
}

func (p listParams) xmlPrefixes(prefixes []string) []s3xml.CommonPrefix {
	out := make([]s3xml.CommonPrefix, 0, len(prefixes))
	for _, cp := range prefixes {
		out = append(out, s3xml.CommonPrefix{Prefix: p.enc(cp)})
	}
	return out
}

func (s *Server) listObjectsV1(q *request) error {
	query := q.r.URL.Query()
	p, err := readListParams(query, "max-keys")
	if err != nil {
		return err
	}
	marker := query.Get("marker")
	out, err := s.list(q, p, marker)
	if err != nil {
		return err
	}
	res := s3xml.ListBucketResult{
		Xmlns: s3xml.Namespace, Name: q.bucket, Prefix: p.enc(p.prefix), Marker: p.enc(marker),
		MaxKeys: p.max, Delimiter: p.enc(p.delimiter), IsTruncated: out.Truncated,
		Contents: p.xmlObjects(out.Objects, true), CommonPrefixes: p.xmlPrefixes(out.CommonPrefixes),
	}
	if p.encode {
		res.EncodingType = "url"
	}
	// AWS sends NextMarker only with a delimiter; without one, clients
	// continue from the last key.
	if out.Truncated && p.delimiter != "" {
		res.NextMarker = p.enc(out.Next)
	}
	return writeXML(q.w, http.StatusOK, res)
}

func (s *Server) listObjectsV2(q *request) error {
	query := q.r.URL.Query()
	if query.Get("list-type") != "2" {
		return s3err.Newf(s3err.InvalidArgument, "Invalid List Type specified in Request").With("ArgumentName", "list-type")
	}
	p, err := readListParams(query, "max-keys")
	if err != nil {
		return err
	}
	startAfter := query.Get("start-after")
	after := startAfter
	token, hasToken := query["continuation-token"]
	if hasToken {
		if after, err = decodeContinuation(token[0]); err != nil {
			return err
		}
	}
	out, err := s.list(q, p, after)
	if err != nil {
		return err
	}
	res := s3xml.ListBucketResultV2{
		Xmlns: s3xml.Namespace, Name: q.bucket, Prefix: p.enc(p.prefix), StartAfter: p.enc(startAfter),
		KeyCount: len(out.Objects) + len(out.CommonPrefixes), MaxKeys: p.max, Delimiter: p.enc(p.delimiter),
		IsTruncated: out.Truncated, Contents: p.xmlObjects(out.Objects, query.Get("fetch-owner") == "true"),
		CommonPrefixes: p.xmlPrefixes(out.CommonPrefixes),
	}
	if hasToken {
		res.ContinuationToken = token[0]
	}
	if p.encode {
		res.EncodingType = "url"
	}
	if out.Truncated {
		res.NextContinuationToken = encodeContinuation(out.Next)
	}
	return writeXML(q.w, http.StatusOK, res)
}

func (s *Server) list(q *request, p listParams, after string) (*ListObjectsOutput, error) {
	if p.max == 0 {
		// S3 answers max-keys=0 with an empty, untruncated page, after
		// checking the bucket.
		if err := s.cfg.Backend.HeadBucket(q.r.Context(), q.bucket); err != nil {
			return nil, err
		}
		return &ListObjectsOutput{}, nil
	}
	return s.cfg.Backend.ListObjects(q.r.Context(), &ListObjectsInput{
		Bucket: q.bucket, Prefix: p.prefix, Delimiter: p.delimiter, After: after, Max: p.max,
	})
}

// Continuation tokens are opaque to clients; Dewar's carry the last key.
func encodeContinuation(after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(after))
}

func decodeContinuation(token string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || token == "" {
		return "", s3err.Newf(s3err.InvalidArgument, "The continuation token provided is incorrect").With("ArgumentName", "continuation-token")
	}
	return string(b), nil
}
