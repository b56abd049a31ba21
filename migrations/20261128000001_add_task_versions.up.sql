-- Every task has a version: 1 when created, one more with every change. Its entity tag
-- (`ETag: "<version>"`) lets clients make conditional requests against lost updates.
ALTER TABLE tasks ADD COLUMN version bigint NOT NULL DEFAULT 1;
