-- Lists and sharing. A task belongs to exactly one list; a list has one owner and may be
-- shared with other accounts as editors or viewers. Every account has one default list,
-- its Inbox, which it cannot delete or give away.
CREATE TABLE lists (
    id          uuid        PRIMARY KEY,
    owner_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description text                 CHECK (char_length(description) <= 10000),
    is_inbox    boolean     NOT NULL DEFAULT false,
    version     bigint      NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- One Inbox per account; also finds it.
CREATE UNIQUE INDEX lists_one_inbox_idx ON lists (owner_id) WHERE is_inbox;
CREATE INDEX lists_owner_idx ON lists (owner_id, created_at, id);

-- The other members of a list (its owner is `lists.owner_id`).
CREATE TABLE list_members (
    list_id    uuid        NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text        NOT NULL CHECK (role IN ('editor', 'viewer')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (list_id, user_id)
);
CREATE INDEX list_members_user_idx ON list_members (user_id, list_id);

-- Invitations to a list, by email key (an address with no account yet may be invited:
-- the invitation waits for an account with that email).
CREATE TABLE invitations (
    id         uuid        PRIMARY KEY,
    list_id    uuid        NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    email      text        NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    email_key  text        NOT NULL,
    role       text        NOT NULL CHECK (role IN ('editor', 'viewer')),
    invited_by uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    UNIQUE (list_id, email_key)
);
CREATE INDEX invitations_email_idx ON invitations (email_key, created_at DESC, id DESC);
CREATE INDEX invitations_expires_idx ON invitations (expires_at);

-- Every existing account gets its Inbox, made when the account was.
INSERT INTO lists (id, owner_id, name, is_inbox, created_at, updated_at)
SELECT gen_random_uuid(), id, 'Inbox', true, created_at, created_at FROM users;

-- Tasks move from their owner to a list: the owner's Inbox. An assignee is a member of
-- the task's list; one who leaves the list is unassigned by the server, one whose account
-- goes, by the database.
ALTER TABLE tasks
    ADD COLUMN list_id uuid REFERENCES lists (id) ON DELETE CASCADE,
    ADD COLUMN assignee_id uuid REFERENCES users (id) ON DELETE SET NULL;
UPDATE tasks SET list_id = lists.id
FROM lists WHERE lists.owner_id = tasks.owner_id AND lists.is_inbox;
ALTER TABLE tasks ALTER COLUMN list_id SET NOT NULL;

-- The search document's words are now prefixed with the task's list (see the function's
-- comment in 20261129000001): a search reads the entries of the lists it searches only.
-- The owner's indexes go with the owner's column.
ALTER TABLE tasks
    DROP COLUMN search,
    DROP COLUMN owner_id,
    ADD COLUMN search tsvector NOT NULL GENERATED ALWAYS AS (
        tasks_search_document(list_id, title, description, tags)
    ) STORED;

-- One index per sort order, led by the column that groups tasks (`list` here; `owner`
-- before, which the down migration makes again), scanned backwards for the reverse.
CREATE FUNCTION tasks_create_sort_indexes(lead text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    sort text[];
BEGIN
    FOREACH sort SLICE 1 IN ARRAY ARRAY[
        ['created_id', 'created_at DESC, id DESC'], ['due', 'due_key, id'],
        ['priority', 'priority_rank, id'], ['updated', 'updated_at, id'],
        ['title', 'lower(title), id']
    ] LOOP
        EXECUTE format('CREATE INDEX tasks_%s_%s_idx ON tasks (%s_id, %s)',
            lead, sort[1], lead, sort[2]);
    END LOOP;
END $$;
SELECT tasks_create_sort_indexes('list');
-- The GIN indexes take each write at once (no pending list): a pending list, until
-- (auto)vacuum merges it, is read whole by every search, up to 4 MB of it.
CREATE INDEX tasks_list_tags_idx ON tasks USING gin (list_id, tags) WITH (fastupdate = off);
CREATE INDEX tasks_search_idx ON tasks USING gin (search) WITH (fastupdate = off);
CREATE INDEX tasks_assignee_idx ON tasks (assignee_id, list_id) WHERE assignee_id IS NOT NULL;

-- Tag vocabularies are per list, as the tasks that carry the tags are: the owner's
-- vocabulary becomes their Inbox's.
ALTER TABLE tags ADD COLUMN list_id uuid REFERENCES lists (id) ON DELETE CASCADE;
UPDATE tags SET list_id = lists.id
FROM lists WHERE lists.owner_id = tags.owner_id AND lists.is_inbox;
ALTER TABLE tags ALTER COLUMN list_id SET NOT NULL;
ALTER TABLE tags DROP CONSTRAINT tags_pkey;
ALTER TABLE tags DROP COLUMN owner_id;
ALTER TABLE tags ADD PRIMARY KEY (list_id, key);

-- A task an idempotency key remembers is now in its owner's Inbox too.
UPDATE idempotency_keys SET response = response
    || jsonb_build_object('list_id', lists.id, 'assignee_id', NULL)
FROM lists WHERE lists.owner_id = idempotency_keys.owner_id AND lists.is_inbox;
