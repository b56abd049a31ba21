-- Tags, full-text search, sort orders and idempotent creates for tasks.
--
-- btree_gin lets the tags' GIN index hold `owner_id` too, so a tag filter intersects the
-- owner's entries with the tag's inside one index.
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- Each user's tag vocabulary: one spelling per case-insensitive key, kept as first typed.
-- Task rows hold the spelling; this table makes every task of one owner use the same one.
CREATE TABLE tags (
    owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key      text NOT NULL,
    name     text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 50),
    PRIMARY KEY (owner_id, key)
);

-- The text search reads title, description and tags, as the `simple` configuration splits
-- and lower-cases them. Each word is stored with its owner's id in front
-- (`<owner hex>_<word>`), so a prefix search for one owner reads that owner's index
-- entries only: in a GIN index, a common word prefix of every user would otherwise be read
-- for each search. (An SQL function marked immutable, because a generated column needs
-- an immutable expression and array_to_string is only stable.)
CREATE FUNCTION tasks_search_document(owner uuid, title text, description text, tags text[])
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN array_to_tsvector(ARRAY(
    SELECT replace(owner::text, '-', '') || '_' || word.lexeme
    FROM unnest(to_tsvector('simple'::regconfig,
        title || ' ' || coalesce(description, '') || ' ' || array_to_string(tags, ' '))) AS word
));

ALTER TABLE tasks
    ADD COLUMN tags text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20),
    -- Sort keys: urgent first is the highest rank; no due date sorts after every date.
    ADD COLUMN priority_rank smallint NOT NULL GENERATED ALWAYS AS (
        CASE priority WHEN 'low' THEN 0 WHEN 'normal' THEN 1 WHEN 'high' THEN 2 ELSE 3 END
    ) STORED,
    ADD COLUMN due_key timestamptz NOT NULL GENERATED ALWAYS AS (
        coalesce(due_at, 'infinity'::timestamptz)
    ) STORED,
    ADD COLUMN search tsvector NOT NULL GENERATED ALWAYS AS (
        tasks_search_document(owner_id, title, description, tags)
    ) STORED;

-- One index per sort order, each led by the owner; scanned backwards for the reverse.
CREATE INDEX tasks_owner_due_idx ON tasks (owner_id, due_key, id);
CREATE INDEX tasks_owner_priority_idx ON tasks (owner_id, priority_rank, id);
CREATE INDEX tasks_owner_updated_idx ON tasks (owner_id, updated_at, id);
CREATE INDEX tasks_owner_title_idx ON tasks (owner_id, lower(title), id);
CREATE INDEX tasks_owner_tags_idx ON tasks USING gin (owner_id, tags);
CREATE INDEX tasks_search_idx ON tasks USING gin (search);

-- Idempotency-Key on POST /tasks: the first response to each key, per user, for a while.
CREATE TABLE idempotency_keys (
    owner_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key         text        NOT NULL,
    -- SHA-256 of the request it answered, to tell a retry from another request.
    fingerprint bytea       NOT NULL,
    -- The task as the first response returned it.
    response    jsonb       NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (owner_id, key)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);
