// Package s3err owns the S3 error codes: the one table from code to HTTP
// status and default message, and the one function that writes an error as
// S3's XML body. Every S3 error Dewar sends goes through here; the layers
// below (content store, index) never see these codes.
package s3err

import (
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
)

// Code is an S3 error code as AWS spells it.
type Code string

// The codes Dewar sends. Add new ones to the table below as well.
const (
	AccessDenied                      Code = "AccessDenied"
	AuthorizationHeaderMalformed      Code = "AuthorizationHeaderMalformed"
	AuthorizationQueryParametersError Code = "AuthorizationQueryParametersError"
	BadDigest                         Code = "BadDigest"
	BucketAlreadyExists               Code = "BucketAlreadyExists"
	BucketAlreadyOwnedByYou           Code = "BucketAlreadyOwnedByYou"
	BucketNotEmpty                    Code = "BucketNotEmpty"
	EntityTooLarge                    Code = "EntityTooLarge"
	EntityTooSmall                    Code = "EntityTooSmall"
	IncompleteBody                    Code = "IncompleteBody"
	InternalError                     Code = "InternalError"
	InvalidAccessKeyID                Code = "InvalidAccessKeyId"
	InvalidArgument                   Code = "InvalidArgument"
	InvalidBucketName                 Code = "InvalidBucketName"
	InvalidChunkSizeError             Code = "InvalidChunkSizeError"
	InvalidDigest                     Code = "InvalidDigest"
	InvalidObjectState                Code = "InvalidObjectState"
	InvalidPart                       Code = "InvalidPart"
	InvalidPartNumber                 Code = "InvalidPartNumber"
	InvalidPartOrder                  Code = "InvalidPartOrder"
	InvalidRange                      Code = "InvalidRange"
	InvalidURI                        Code = "InvalidURI"
	InvalidRequest                    Code = "InvalidRequest"
	InvalidStorageClass               Code = "InvalidStorageClass"
	KeyTooLongError                   Code = "KeyTooLongError"
	MalformedXML                      Code = "MalformedXML"
	MetadataTooLarge                  Code = "MetadataTooLarge"
	MethodNotAllowed                  Code = "MethodNotAllowed"
	MissingContentLength              Code = "MissingContentLength"
	MissingRequestBodyError           Code = "MissingRequestBodyError"
	NoSuchBucket                      Code = "NoSuchBucket"
	NoSuchBucketPolicy                Code = "NoSuchBucketPolicy"
	NoSuchCORSConfiguration           Code = "NoSuchCORSConfiguration"
	NoSuchKey                         Code = "NoSuchKey"
	NoSuchLifecycleConfiguration      Code = "NoSuchLifecycleConfiguration"
	NoSuchTagSet                      Code = "NoSuchTagSet"
	NoSuchUpload                      Code = "NoSuchUpload"
	NoSuchWebsiteConfiguration        Code = "NoSuchWebsiteConfiguration"
	NotImplemented                    Code = "NotImplemented"
	NotModified                       Code = "NotModified"
	ObjectLockConfigNotFound          Code = "ObjectLockConfigurationNotFoundError"
	OwnershipControlsNotFound         Code = "OwnershipControlsNotFoundError"
	PreconditionFailed                Code = "PreconditionFailed"
	ReplicationConfigNotFound         Code = "ReplicationConfigurationNotFoundError"
	RequestTimeTooSkewed              Code = "RequestTimeTooSkewed"
	RequestTimeout                    Code = "RequestTimeout"
	SSEConfigNotFound                 Code = "ServerSideEncryptionConfigurationNotFoundError"
	ServiceUnavailable                Code = "ServiceUnavailable"
	SignatureDoesNotMatch             Code = "SignatureDoesNotMatch"
	NoSuchPublicAccessBlock           Code = "NoSuchPublicAccessBlockConfiguration"
	XAmzContentSHA256Mismatch         Code = "XAmzContentSHA256Mismatch"
)

type entry struct {
	status  int
	message string
}

// table is the single mapping from code to HTTP status and AWS's message.
var table = map[Code]entry{
	AccessDenied:                      {http.StatusForbidden, "Access Denied"},
	AuthorizationHeaderMalformed:      {http.StatusBadRequest, "The authorization header is malformed."},
	AuthorizationQueryParametersError: {http.StatusBadRequest, "Error parsing the X-Amz-Credential parameter."},
	BadDigest:                         {http.StatusBadRequest, "The Content-MD5 you specified did not match what we received."},
	BucketAlreadyExists:               {http.StatusConflict, "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."},
	BucketAlreadyOwnedByYou:           {http.StatusConflict, "Your previous request to create the named bucket succeeded and you already own it."},
	BucketNotEmpty:                    {http.StatusConflict, "The bucket you tried to delete is not empty"},
	EntityTooLarge:                    {http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed object size."},
	EntityTooSmall:                    {http.StatusBadRequest, "Your proposed upload is smaller than the minimum allowed object size."},
	IncompleteBody:                    {http.StatusBadRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header."},
	InternalError:                     {http.StatusInternalServerError, "We encountered an internal error. Please try again."},
	InvalidAccessKeyID:                {http.StatusForbidden, "The AWS Access Key Id you provided does not exist in our records."},
	InvalidArgument:                   {http.StatusBadRequest, "Invalid Argument"},
	InvalidBucketName:                 {http.StatusBadRequest, "The specified bucket is not valid."},
	InvalidChunkSizeError:             {http.StatusBadRequest, "Only the last chunk is allowed to have a size less than 8192 bytes"},
	InvalidDigest:                     {http.StatusBadRequest, "The Content-MD5 you specified is not valid."},
	InvalidObjectState:                {http.StatusForbidden, "The operation is not valid for the current state of the object."},
	InvalidPart:                       {http.StatusBadRequest, "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag."},
	InvalidPartNumber:                 {http.StatusRequestedRangeNotSatisfiable, "The requested partnumber is not satisfiable"},
	InvalidPartOrder:                  {http.StatusBadRequest, "The list of parts was not in ascending order. The parts list must be specified in order by part number."},
	InvalidURI:                        {http.StatusBadRequest, "Couldn't parse the specified URI."},
	InvalidRange:                      {http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable"},
	InvalidRequest:                    {http.StatusBadRequest, "Invalid Request"},
	InvalidStorageClass:               {http.StatusBadRequest, "The storage class you specified is not valid"},
	KeyTooLongError:                   {http.StatusBadRequest, "Your key is too long"},
	MalformedXML:                      {http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema."},
	MetadataTooLarge:                  {http.StatusBadRequest, "Your metadata headers exceed the maximum allowed metadata size."},
	MethodNotAllowed:                  {http.StatusMethodNotAllowed, "The specified method is not allowed against this resource."},
	MissingContentLength:              {http.StatusLengthRequired, "You must provide the Content-Length HTTP header."},
	MissingRequestBodyError:           {http.StatusBadRequest, "Request Body is empty."},
	NoSuchBucket:                      {http.StatusNotFound, "The specified bucket does not exist"},
	NoSuchBucketPolicy:                {http.StatusNotFound, "The bucket policy does not exist"},
	NoSuchCORSConfiguration:           {http.StatusNotFound, "The CORS configuration does not exist"},
	NoSuchKey:                         {http.StatusNotFound, "The specified key does not exist."},
	NoSuchLifecycleConfiguration:      {http.StatusNotFound, "The lifecycle configuration does not exist"},
	NoSuchTagSet:                      {http.StatusNotFound, "The TagSet does not exist"},
	NoSuchUpload:                      {http.StatusNotFound, "The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."},
	NoSuchWebsiteConfiguration:        {http.StatusNotFound, "The specified bucket does not have a website configuration"},
	NotImplemented:                    {http.StatusNotImplemented, "A header you provided implies functionality that is not implemented"},
	NotModified:                       {http.StatusNotModified, "Not Modified"},
	ObjectLockConfigNotFound:          {http.StatusNotFound, "Object Lock configuration does not exist for this bucket"},
	OwnershipControlsNotFound:         {http.StatusNotFound, "The bucket ownership controls were not found"},
	PreconditionFailed:                {http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold"},
	ReplicationConfigNotFound:         {http.StatusNotFound, "The replication configuration was not found"},
	RequestTimeTooSkewed:              {http.StatusForbidden, "The difference between the request time and the server's time is too large."},
	RequestTimeout:                    {http.StatusBadRequest, "Your socket connection to the server was not read from or written to within the timeout period."},
	SSEConfigNotFound:                 {http.StatusNotFound, "The server side encryption configuration was not found"},
	ServiceUnavailable:                {http.StatusServiceUnavailable, "Please reduce your request rate."},
	SignatureDoesNotMatch:             {http.StatusForbidden, "The request signature we calculated does not match the signature you provided. Check your key and signing method."},
	NoSuchPublicAccessBlock:           {http.StatusNotFound, "The public access block configuration was not found"},
	XAmzContentSHA256Mismatch:         {http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed."},
}

// Error is an S3 error ready to be sent. Create it with New or Newf.
type Error struct {
	Code    Code
	Message string
	Status  int
	// Extra holds additional XML elements AWS adds for some codes (e.g.
	// Region on a wrong-region signature, BucketName on NoSuchBucket).
	Extra map[string]string
	// Err is the underlying cause, kept for logs and errors.Is; never sent.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap exposes the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns the error for code with AWS's default message and status.
// An unknown code becomes InternalError, so a typo cannot send a 200.
func New(code Code) *Error {
	ent, ok := table[code]
	if !ok {
		ent = table[InternalError]
		return &Error{Code: InternalError, Message: ent.message, Status: ent.status, Err: fmt.Errorf("s3err: unknown code %q", code)}
	}
	return &Error{Code: code, Message: ent.message, Status: ent.status}
}

// Newf is New with a specific message.
func Newf(code Code, format string, args ...any) *Error {
	e := New(code)
	e.Message = fmt.Sprintf(format, args...)
	return e
}

// Wrap is New carrying cause (for logs), keeping the default message.
func Wrap(code Code, cause error) *Error {
	e := New(code)
	e.Err = cause
	return e
}

// With returns e with an extra XML element.
func (e *Error) With(name, value string) *Error {
	if e.Extra == nil {
		e.Extra = map[string]string{}
	}
	e.Extra[name] = value
	return e
}

// From returns the *Error inside err, or InternalError wrapping err, and
// reports whether err was one of ours (false means: log it).
func From(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	ie := New(InternalError)
	ie.Err = err
	return ie, false
}

// Status returns the HTTP status of code (500 for unknown codes).
func Status(code Code) int {
	if ent, ok := table[code]; ok {
		return ent.status
	}
	return http.StatusInternalServerError
}

type xmlExtra struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

type xmlError struct {
	XMLName   xml.Name `xml:"Error"`
	Code      Code     `xml:"Code"`
	Message   string   `xml:"Message"`
	Extra     []xmlExtra
	Resource  string `xml:"Resource,omitempty"`
	RequestID string `xml:"RequestId"`
	HostID    string `xml:"HostId"`
}

// Body renders the XML document for e (with the XML declaration).
func Body(e *Error, resource, requestID, hostID string) []byte {
	doc := xmlError{Code: e.Code, Message: e.Message, Resource: resource, RequestID: requestID, HostID: hostID}
	for _, k := range slices.Sorted(maps.Keys(e.Extra)) {
		doc.Extra = append(doc.Extra, xmlExtra{XMLName: xml.Name{Local: k}, Value: e.Extra[k]})
	}
	out, err := xml.Marshal(doc)
	if err != nil { // cannot happen for these types
		out = []byte("<Error><Code>InternalError</Code></Error>")
	}
	return append([]byte(xml.Header), out...)
}

// Write sends e: status, and for methods that carry a body (all but HEAD,
// and not 304) the XML document. Callers set x-amz-request-id before.
func Write(w http.ResponseWriter, r *http.Request, e *Error, resource, requestID, hostID string) {
	if r.Method == http.MethodHead || e.Status == http.StatusNotModified {
		w.WriteHeader(e.Status)
		return
	}
	body := Body(e, resource, requestID, hostID)
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}
