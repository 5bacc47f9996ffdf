-- Dewar index schema, version 6 (SQLite): a job's token count runs in
-- chunks of token ids, each its own transaction that also records how far
-- it got, so a large job never holds the writer for long and a count cut
-- short resumes after the last token it counted.
ALTER TABLE token_counts_pending ADD COLUMN done_upto INTEGER NOT NULL DEFAULT 0;
