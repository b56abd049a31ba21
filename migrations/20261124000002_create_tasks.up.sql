-- Tasks belong to exactly one user and go with them.
CREATE TABLE tasks (
    id           uuid        PRIMARY KEY,
    owner_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title        text        NOT NULL CHECK (char_length(title) BETWEEN 1 AND 500),
    description  text                 CHECK (char_length(description) <= 10000),
    status       text        NOT NULL DEFAULT 'todo'
                             CHECK (status IN ('todo', 'in_progress', 'done')),
    priority     text        NOT NULL DEFAULT 'normal'
                             CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    due_at       timestamptz,
    completed_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    -- A task is completed exactly when it is done.
    CONSTRAINT tasks_completed_iff_done CHECK ((status = 'done') = (completed_at IS NOT NULL))
);

-- Serves the listing order (newest first, ties by id) for one owner, and ownership lookups.
CREATE INDEX tasks_owner_created_id_idx ON tasks (owner_id, created_at DESC, id DESC);
