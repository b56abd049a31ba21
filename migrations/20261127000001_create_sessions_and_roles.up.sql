-- Accounts get a role and can be disabled; logins become sessions with rotating refresh
-- tokens; revoked sessions and accounts are listed until their access tokens have expired.

ALTER TABLE users
    ADD COLUMN role        text        NOT NULL DEFAULT 'user'
                           CONSTRAINT users_role_check CHECK (role IN ('user', 'admin')),
    ADD COLUMN disabled_at timestamptz;

-- The last-admin rule locks every enabled administrator; this finds them without a scan.
CREATE INDEX users_enabled_admins_idx ON users (id) WHERE role = 'admin' AND disabled_at IS NULL;

-- One login, kept alive by refreshing. `expires_at` slides forward on each refresh, never
-- past `max_expires_at`.
CREATE TABLE sessions (
    id             uuid        PRIMARY KEY,
    user_id        uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL,
    last_used_at   timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    max_expires_at timestamptz NOT NULL,
    user_agent     text        CONSTRAINT sessions_user_agent_check
                               CHECK (char_length(user_agent) <= 200),
    client_address text        NOT NULL,
    CONSTRAINT sessions_expiry_check CHECK (expires_at <= max_expires_at)
);

-- Serves the session list (newest first, ties by id) for one user, and ending them all.
CREATE INDEX sessions_user_created_id_idx ON sessions (user_id, created_at DESC, id DESC);
-- Serves the purge of expired sessions.
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- Every refresh token a session was given, as a SHA-256 hash (never the token). Only the
-- newest, not yet rotated, is usable; presenting an older one ends the session.
CREATE TABLE refresh_tokens (
    token_hash bytea       PRIMARY KEY
                           CONSTRAINT refresh_tokens_token_hash_check
                           CHECK (octet_length(token_hash) = 32),
    session_id uuid        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at  timestamptz NOT NULL,
    rotated_at timestamptz
);

CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
-- A session has at most one usable refresh token.
CREATE UNIQUE INDEX refresh_tokens_current_idx ON refresh_tokens (session_id)
    WHERE rotated_at IS NULL;

-- Sessions and accounts whose access tokens must be refused before they expire. Every
-- server holds these in memory (loaded at start-up, kept current by NOTIFY); a row is
-- needed only until the access tokens it covers have expired.
CREATE TABLE revocations (
    kind       text        NOT NULL
                           CONSTRAINT revocations_kind_check CHECK (kind IN ('session', 'user')),
    subject    uuid        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (kind, subject)
);

CREATE INDEX revocations_expires_at_idx ON revocations (expires_at);
