-- The change feed (`GET /sync`): a row for every write to a task, a list or a list's
-- membership, stamped with the id of the transaction that wrote it. Triggers write the
-- rows, so no write path (bulk tag renames, cascades of a list's or an account's deletion)
-- can forget one.
--
-- A sync position is a snapshot (`pg_current_snapshot()`), not a number or a time: the
-- changes a reader has seen are exactly those of the transactions visible in its snapshot.
-- A transaction that commits later is not visible in it, whatever its id, so the next read
-- (`pg_visible_in_snapshot`) finds it. Every change not visible in a snapshot has a
-- transaction id at or above the snapshot's `xmin`; `changes_list_idx` reads from there.
CREATE TABLE changes (
    seq     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txid    xid8        NOT NULL DEFAULT pg_current_xact_id(),
    -- The list the change is in (a task moved between lists: a row for each).
    list_id uuid        NOT NULL,
    -- The task changed, or null for the list itself.
    task_id uuid,
    -- For a change of who can see the list: whose access changed.
    user_id uuid,
    at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX changes_list_idx ON changes (list_id, txid, seq);
CREATE INDEX changes_user_idx ON changes (user_id, txid) WHERE user_id IS NOT NULL;
CREATE INDEX changes_at_idx ON changes (at);

-- The transaction id up to which purged changes reached: a position whose snapshot's
-- `xmin` is not above it may have lost changes to the purge (410, start over).
CREATE TABLE change_horizon (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    txid     xid8    NOT NULL
);
INSERT INTO change_horizon (txid) VALUES ('0');

-- A full sync enumerates each list's tasks in id order.
CREATE INDEX tasks_list_id_idx ON tasks (list_id, id);

CREATE FUNCTION tasks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO changes (list_id, task_id) SELECT list_id, id FROM added;
    RETURN NULL;
END $$;

CREATE FUNCTION tasks_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The list a task is in now, and the one it left when it moved.
    INSERT INTO changes (list_id, task_id)
    SELECT list_id, id FROM after
    UNION ALL
    SELECT b.list_id, b.id FROM before b JOIN after a USING (id) WHERE a.list_id <> b.list_id;
    RETURN NULL;
END $$;

CREATE FUNCTION tasks_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO changes (list_id, task_id) SELECT list_id, id FROM removed;
    RETURN NULL;
END $$;

CREATE TRIGGER tasks_inserted AFTER INSERT ON tasks REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION tasks_inserted();
CREATE TRIGGER tasks_updated AFTER UPDATE ON tasks
    REFERENCING OLD TABLE AS before NEW TABLE AS after
    FOR EACH STATEMENT EXECUTE FUNCTION tasks_updated();
CREATE TRIGGER tasks_deleted AFTER DELETE ON tasks REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION tasks_deleted();

-- A list's own changes; its owner's access when it is made, deleted or passed on.
CREATE FUNCTION lists_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO changes (list_id, user_id) VALUES (NEW.id, NEW.owner_id);
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO changes (list_id, user_id) VALUES (OLD.id, OLD.owner_id);
    ELSE
        INSERT INTO changes (list_id) VALUES (NEW.id);
        IF NEW.owner_id <> OLD.owner_id THEN
            INSERT INTO changes (list_id, user_id)
            VALUES (NEW.id, OLD.owner_id), (NEW.id, NEW.owner_id);
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER lists_changed AFTER INSERT OR UPDATE OR DELETE ON lists
    FOR EACH ROW EXECUTE FUNCTION lists_changed();

-- A member's access: joined, changed role, left or removed.
CREATE FUNCTION list_members_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO changes (list_id, user_id) VALUES (OLD.list_id, OLD.user_id);
    ELSE
        INSERT INTO changes (list_id, user_id) VALUES (NEW.list_id, NEW.user_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER list_members_changed AFTER INSERT OR UPDATE OR DELETE ON list_members
    FOR EACH ROW EXECUTE FUNCTION list_members_changed();
