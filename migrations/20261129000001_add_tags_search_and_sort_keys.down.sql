DROP TABLE idempotency_keys;
DROP INDEX tasks_search_idx, tasks_owner_tags_idx, tasks_owner_title_idx,
    tasks_owner_updated_idx, tasks_owner_priority_idx, tasks_owner_due_idx;
ALTER TABLE tasks DROP COLUMN search, DROP COLUMN due_key, DROP COLUMN priority_rank,
    DROP COLUMN tags;
DROP FUNCTION tasks_search_document(uuid, text, text, text[]);
DROP TABLE tags;
-- Another schema in this database may use btree_gin; it goes only if nothing does.
DROP EXTENSION IF EXISTS btree_gin RESTRICT;
