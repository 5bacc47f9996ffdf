// # Jobs, files and trees (migration 0002)
//
// The job capabilities (index.Jobs, index.Files, index.Queue: together
// index.Ingest) add three tables. Booleans are a dialect's boolean (SQLite
// INTEGER 0/1); raw_path and target hold whatever bytes an archive had, so
// they are binary (BLOB, BYTEA), not text.
//
//	jobs(id PK, name, known_good, status, error, warnings JSON,
//	     submitted_at, collected_at NULL, submitter, notes,
//	     upload -> blobs, upload_size, upload_md5 (the ETag incoming buckets show), source_bucket, source_key,
//	     content_type, files, new_files, bytes, new_bytes, attempts,
//	     run_after, lease_owner, lease_token, lease_until NULL,
//	     updated_at, finished_at NULL)
//	    one row per submission, and the durable ingestion queue itself:
//	    CreateJob inserts it (queued or held) in the transaction that pins
//	    its upload, so an acknowledged upload is never lost. status is
//	    queued, held, processing, done or failed; lease_until is set
//	    exactly while processing (a CHECK). lease_token only grows: each
//	    claim adds one, and it fences Heartbeat, Retry and Finish. The job
//	    holds one reference to its upload blob, forever (jobs are not
//	    deleted). Indexes: (status, id) for Claim and ListJobs by status;
//	    (source_bucket, source_key, id) WHERE status <> 'done' for the
//	    incoming buckets' listings; (upload, id) for foreign-key checks and
//	    JobsOfFile.
//
//	files(ref PK -> blobs, size, sha1, md5, mime, first_seen,
//	      known_good, job_count)
//	    one row per sample, inserted by the first Finish that has it,
//	    holding one reference to its blob (later jobs do not pin again).
//	    job_count counts the finished jobs that had it (once per job);
//	    known_good is true once a known-good job that ended done had it
//	    (derived state that only ever turns true, since jobs are never
//	    deleted). Indexed by sha1 and by md5 for hash lookups.
//
//	tree(job_id -> jobs, path, raw_path, type, blob NULL -> files, size,
//	     target; PK (job_id, path))
//	    the paths of a finished job; blob is set for files only and names a
//	    files row (so a tree never points at a blob nothing pins). Indexed by
//	    (blob, job_id, path) WHERE blob IS NOT NULL, the keyset of
//	    JobsOfFile.
//
// Lock order of the job writes (PostgreSQL row locks): a multipart upload
// that becomes a job, its parts, then blob rows in ascending ref order,
// then the job row (CreateJob); the job row, then the blob rows of its new
// files, then file rows, both ascending, then tree rows (Finish). Claim
// takes candidates with FOR UPDATE SKIP LOCKED and re-checks runnability
// in its UPDATE, so two claimers never get one job while its lease is
// valid, whichever the isolation.
package sqlindex
