-- The audit log: security events, appended and never changed (the trigger refuses any
-- UPDATE); rows older than the retention setting are deleted by the server's purge job.
-- Actor and target are ids without foreign keys: an event outlives the accounts it names.
CREATE TABLE audit_events (
    id             uuid        PRIMARY KEY,
    at             timestamptz NOT NULL,
    kind           text        NOT NULL
                               CONSTRAINT audit_events_kind_check
                               CHECK (kind IN (
                                   'account_created', 'login_succeeded', 'login_failed',
                                   'password_changed', 'password_reset',
                                   'email_change_requested', 'email_changed', 'email_verified',
                                   'access_token_created', 'access_token_deleted',
                                   'session_ended', 'role_changed', 'account_disabled',
                                   'account_enabled', 'account_deleted'
                               )),
    actor_id       uuid,
    target_id      uuid,
    client_address text        CONSTRAINT audit_events_client_address_check
                               CHECK (char_length(client_address) <= 45),
    request_id     text        CONSTRAINT audit_events_request_id_check
                               CHECK (char_length(request_id) <= 64),
    detail         text        CONSTRAINT audit_events_detail_check
                               CHECK (char_length(detail) <= 200)
);
-- The admin listing, newest first, whole or by actor, target or kind.
CREATE INDEX audit_events_at_idx ON audit_events (at, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, at, id);
CREATE INDEX audit_events_target_idx ON audit_events (target_id, at, id);
CREATE INDEX audit_events_kind_idx ON audit_events (kind, at, id);

CREATE FUNCTION audit_events_are_never_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are never changed'
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_are_never_changed();
