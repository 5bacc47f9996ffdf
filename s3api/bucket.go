package s3api

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"

	"dewar/s3api/s3err"
	"dewar/s3api/s3xml"
)

func (s *Server) listBuckets(q *request) error {
	buckets, owner, err := s.cfg.Backend.ListBuckets(q.r.Context())
	if err != nil {
		return err
	}
	res := s3xml.ListAllMyBucketsResult{Xmlns: s3xml.Namespace, Owner: xmlOwner(owner)}
	for _, b := range buckets {
		res.Buckets = append(res.Buckets, s3xml.Bucket{Name: b.Name, CreationDate: s3xml.Time(b.CreatedAt)})
	}
	return writeXML(q.w, http.StatusOK, res)
}

func (s *Server) createBucket(q *request) error {
	if err := ValidBucketName(q.bucket); err != nil {
		return err
	}
	if err := checkStorageClassAndACL(q.r.Header); err != nil {
		return err
	}
	if q.r.Header.Get("X-Amz-Bucket-Object-Lock-Enabled") == "true" {
		return s3err.Newf(s3err.NotImplemented, "Object lock is not supported.")
	}
	var cfg s3xml.CreateBucketConfiguration
	if err := readXML(q, &cfg, false); err != nil && !errors.Is(err, errEmptyBody) {
		return err
	}
	if lc := cfg.LocationConstraint; lc != "" && lc != s.cfg.Region && !(lc == "US" && s.cfg.Region == "us-east-1") {
		return s3err.Newf(s3err.InvalidArgument, "The specified location-constraint %q is not valid; this server is in %q.", lc, s.cfg.Region).With("ArgumentName", "LocationConstraint")
	}
	if err := s.cfg.Backend.CreateBucket(q.r.Context(), q.bucket); err != nil {
		return err
	}
	q.w.Header().Set("Location", "/"+q.bucket)
	q.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) headBucket(q *request) error {
	if err := s.cfg.Backend.HeadBucket(q.r.Context(), q.bucket); err != nil {
		return err
	}
	setRaw(q.w.Header(), "x-amz-bucket-region", s.cfg.Region)
	q.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) deleteBucket(q *request) error {
	if err := s.cfg.Backend.DeleteBucket(q.r.Context(), q.bucket); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) getBucketLocation(q *request) error {
	if err := s.cfg.Backend.HeadBucket(q.r.Context(), q.bucket); err != nil {
		return err
	}
	loc := s.cfg.Region
	if loc == "us-east-1" {
		loc = "" // as AWS answers for us-east-1
	}
	return writeXML(q.w, http.StatusOK, s3xml.LocationConstraint{Xmlns: s3xml.Namespace, Value: loc})
}

func (s *Server) getBucketVersioning(q *request) error {
	if err := s.cfg.Backend.HeadBucket(q.r.Context(), q.bucket); err != nil {
		return err
	}
	return writeXML(q.w, http.StatusOK, s3xml.VersioningConfiguration{Xmlns: s3xml.Namespace})
}

func (s *Server) getBucketLogging(q *request) error {
	return s.bucketDocument(q, s3xml.BucketLoggingStatus{Xmlns: s3xml.Namespace})
}

func (s *Server) getBucketNotification(q *request) error {
	return s.bucketDocument(q, s3xml.NotificationConfiguration{Xmlns: s3xml.Namespace})
}

func (s *Server) getBucketAccelerate(q *request) error {
	return s.bucketDocument(q, s3xml.AccelerateConfiguration{Xmlns: s3xml.Namespace})
}

func (s *Server) getBucketRequestPayment(q *request) error {
	return s.bucketDocument(q, s3xml.RequestPaymentConfiguration{Xmlns: s3xml.Namespace, Payer: "BucketOwner"})
}

func (s *Server) bucketDocument(q *request, doc any) error {
	if err := s.cfg.Backend.HeadBucket(q.r.Context(), q.bucket); err != nil {
		return err
	}
	return writeXML(q.w, http.StatusOK, doc)
}

// getACL answers ?acl on a bucket or object: the caller has FULL_CONTROL.
func (s *Server) getACL(q *request) error {
	ctx := q.r.Context()
	if q.key == "" {
		if err := s.cfg.Backend.HeadBucket(ctx, q.bucket); err != nil {
			return err
		}
	} else if _, err := s.cfg.Backend.GetObject(ctx, q.bucket, q.key); err != nil {
		return err
	}
	owner := Owner{ID: CanonicalID(q.auth.accessKey), DisplayName: q.auth.accessKey}
	var g s3xml.Grant
	g.Grantee.XMLNSXSI = "http://www.w3.org/2001/XMLSchema-instance"
	g.Grantee.XSIType = "CanonicalUser"
	g.Grantee.ID = owner.ID
	g.Grantee.DisplayName = owner.DisplayName
	g.Permission = "FULL_CONTROL"
	doc := s3xml.AccessControlPolicy{Xmlns: s3xml.Namespace, Owner: xmlOwner(owner)}
	doc.AccessControlList.Grant = []s3xml.Grant{g}
	return writeXML(q.w, http.StatusOK, doc)
}

// putACL accepts the private canned ACL (rclone sends x-amz-acl: private)
// and refuses anything else.
func (s *Server) putACL(q *request) error {
	ctx := q.r.Context()
	if err := checkStorageClassAndACL(q.r.Header); err != nil {
		return err
	}
	if q.key == "" {
		if err := s.cfg.Backend.HeadBucket(ctx, q.bucket); err != nil {
			return err
		}
	} else if _, err := s.cfg.Backend.GetObject(ctx, q.bucket, q.key); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) getObjectTagging(q *request) error {
	if _, err := s.cfg.Backend.GetObject(q.r.Context(), q.bucket, q.key); err != nil {
		return err
	}
	return writeXML(q.w, http.StatusOK, s3xml.Tagging{Xmlns: s3xml.Namespace})
}

// deleteNothing answers DELETE of a configuration that was never set.
func (s *Server) deleteNothing(q *request) error {
	ctx := q.r.Context()
	if q.key == "" {
		if err := s.cfg.Backend.HeadBucket(ctx, q.bucket); err != nil {
			return err
		}
	} else if _, err := s.cfg.Backend.GetObject(ctx, q.bucket, q.key); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

func xmlOwner(o Owner) s3xml.Owner { return s3xml.Owner{ID: o.ID, DisplayName: o.DisplayName} }

// ValidBucketName applies S3's bucket naming rules: 3-63 characters of
// lowercase letters, digits, '.' and '-', starting and ending with a letter
// or digit, not shaped like an IP address, no "..", ".-" or "-.", and none
// of the reserved prefixes and suffixes.
func ValidBucketName(name string) error {
	bad := func(why string) error {
		return s3err.Newf(s3err.InvalidBucketName, "The specified bucket is not valid: %s.", why).With("BucketName", name)
	}
	if len(name) < 3 || len(name) > 63 {
		return bad("names are 3 to 63 characters long")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return bad("only lowercase letters, digits, '.' and '-' are allowed")
		}
	}
	if !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		return bad("names start and end with a letter or digit")
	}
	if strings.Contains(name, "..") || strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return bad("no adjacent periods or period-hyphen pairs")
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return bad("names must not be IP addresses")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return bad("the prefix " + p + " is reserved")
		}
	}
	for _, sfx := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3"} {
		if strings.HasSuffix(name, sfx) {
			return bad("the suffix " + sfx + " is reserved")
		}
	}
	return nil
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
