// Package e2e drives the real S3 command-line clients (AWS CLI, rclone,
// s3cmd, s3fs, boto3, curl with presigned URLs) against a real
// `dewar serve`, over HTTP and HTTPS, and checks every result against the
// server's own state with an independent signed Go client. The tests live
// in the _test.go files, one per client; this file only names the package.
package e2e
