-- Personal access tokens: credentials for scripts and tools, each allowed only its scopes.
-- Only the token's SHA-256 hash is kept: its owner sees the token once, when it is made.
CREATE TABLE access_tokens (
    id           uuid        PRIMARY KEY,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   bytea       NOT NULL UNIQUE
                             CONSTRAINT access_tokens_token_hash_check
                             CHECK (octet_length(token_hash) = 32),
    name         text        NOT NULL
                             CONSTRAINT access_tokens_name_check
                             CHECK (char_length(name) BETWEEN 1 AND 100),
    scopes       text[]      NOT NULL
                             CONSTRAINT access_tokens_scopes_check
                             CHECK (cardinality(scopes) >= 1 AND scopes <@ ARRAY[
                                 'tasks:read', 'tasks:write', 'lists:read', 'lists:write',
                                 'account:read'
                             ]::text[]),
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    expires_at   timestamptz
);
-- An account's tokens, newest first.
CREATE INDEX access_tokens_user_id_created_at_idx ON access_tokens (user_id, created_at, id);
