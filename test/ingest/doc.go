// Package ingest is the end-to-end suite of ingestion (issue 3): every
// fixture of test/fixtures (known-good release, kits, every archive format,
// the hostile cases) uploaded into the incoming buckets of a real
// `dewar serve` with the AWS CLI, boto3, aws-sdk-go-v2 and the JSON API,
// each job's tree and stats compared with what the generator knows; the
// trees read back with rclone and s3fs; crashes (kill -9) during and right
// after an upload; the watched folders. The tests live in the _test.go
// files; this file only names the package.
package ingest
