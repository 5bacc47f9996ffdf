-- Dewar index schema, version 5 (SQLite): a done job's tokens are counted
-- in their job frequencies (tokens.jobs) after its Finish, not inside it:
-- Finish queues the job here, and CountJobTokens counts and dequeues it in
-- one transaction, so each job counts exactly once, while the job's result
-- is visible a second or more sooner for a large kit.
CREATE TABLE token_counts_pending (
	job_id TEXT NOT NULL PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE
);
-- Done jobs of an earlier version were counted in their Finish.
