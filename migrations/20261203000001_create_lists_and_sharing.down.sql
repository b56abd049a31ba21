-- Every task goes back to one owner: its list's owner. Shared lists end; each owner's
-- tag vocabulary is the union of their lists' (one spelling per key: the oldest list's).
ALTER TABLE tasks ADD COLUMN owner_id uuid REFERENCES users (id) ON DELETE CASCADE;
UPDATE tasks SET owner_id = lists.owner_id FROM lists WHERE lists.id = tasks.list_id;
ALTER TABLE tasks ALTER COLUMN owner_id SET NOT NULL;

CREATE TABLE owner_tags AS
SELECT DISTINCT ON (lists.owner_id, tags.key) lists.owner_id, tags.key, tags.name
FROM tags JOIN lists ON lists.id = tags.list_id
ORDER BY lists.owner_id, tags.key, lists.created_at, lists.id;
-- Each task's tags in its owner's spelling.
UPDATE tasks SET tags = ARRAY(
    SELECT coalesce(owner_tags.name, carried.name)
    FROM unnest(tasks.tags) WITH ORDINALITY AS carried (name, position)
    LEFT JOIN tags ON tags.list_id = tasks.list_id AND tags.name = carried.name
    LEFT JOIN owner_tags ON owner_tags.owner_id = tasks.owner_id AND owner_tags.key = tags.key
    ORDER BY carried.position
);
DELETE FROM tags;
ALTER TABLE tags DROP CONSTRAINT tags_pkey;
ALTER TABLE tags DROP COLUMN list_id;
ALTER TABLE tags ADD COLUMN owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE tags ADD PRIMARY KEY (owner_id, key);
INSERT INTO tags (owner_id, key, name) SELECT owner_id, key, name FROM owner_tags;
DROP TABLE owner_tags;

-- The columns go with their indexes; the owner's indexes, as 20261129000001 made them.
ALTER TABLE tasks
    DROP COLUMN search,
    DROP COLUMN list_id,
    DROP COLUMN assignee_id,
    ADD COLUMN search tsvector NOT NULL GENERATED ALWAYS AS (
        tasks_search_document(owner_id, title, description, tags)
    ) STORED;
SELECT tasks_create_sort_indexes('owner');
DROP FUNCTION tasks_create_sort_indexes(text);
CREATE INDEX tasks_owner_tags_idx ON tasks USING gin (owner_id, tags);
CREATE INDEX tasks_search_idx ON tasks USING gin (search);

UPDATE idempotency_keys
SET response = (response - 'list_id' - 'assignee_id') || jsonb_build_object('owner_id', lists.owner_id)
FROM lists WHERE lists.id::text = idempotency_keys.response ->> 'list_id';

DROP TABLE invitations;
DROP TABLE list_members;
DROP TABLE lists;
