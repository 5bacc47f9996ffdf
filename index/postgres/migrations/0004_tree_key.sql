-- Dewar index schema, version 4 (PostgreSQL): a job's tree lists in S3 key
-- order, where a directory sorts as its path plus "/" (its key
-- jobs/<id>/files/<path>/), so the jobs bucket pages like any listing.
ALTER TABLE tree ADD COLUMN tkey TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE tree SET tkey = CASE WHEN type = 'dir' THEN path || '/' ELSE path END;
CREATE INDEX tree_tkey ON tree (job_id, tkey);
